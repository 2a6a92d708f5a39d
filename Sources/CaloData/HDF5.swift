// Thin RAII wrappers over the libhdf5 C API: just enough to read and write 2-D numeric datasets in
// row blocks. Nothing else in the project calls CHDF5 directly.

import CHDF5
import Foundation

/// Serialises all libhdf5 calls: Debian's serial build is not thread-safe.
let hdf5Lock = NSRecursiveLock()

/// Runs `body` with the HDF5 lock held and HDF5's own error printing switched off.
@inline(__always) func withHDF5<T>(_ body: () throws -> T) rethrows -> T {
  hdf5Lock.lock()
  defer { hdf5Lock.unlock() }
  calo_H5_quiet()
  return try body()
}

/// An open HDF5 identifier closed with the matching close function on deinit.
final class H5Handle {
  let id: hid_t
  private let close: (hid_t) -> herr_t
  init?(_ id: hid_t, close: @escaping (hid_t) -> herr_t) {
    guard id >= 0 else { return nil }
    self.id = id
    self.close = close
  }
  deinit { withHDF5 { _ = close(id) } }
}

/// H5T_VARIABLE, `(size_t)-1` in C: Swift imports size_t as Int, so the bit pattern is -1.
private let h5tVariable = Int(bitPattern: UInt.max)

enum H5 {
  static func openFile(_ path: String, writable: Bool = false) -> H5Handle? {
    withHDF5 {
      H5Handle(H5Fopen(path, writable ? calo_H5F_ACC_RDWR() : calo_H5F_ACC_RDONLY(), calo_H5P_DEFAULT()),
               close: H5Fclose)
    }
  }

  static func createFile(_ path: String) -> H5Handle? {
    withHDF5 {
      H5Handle(H5Fcreate(path, calo_H5F_ACC_TRUNC(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT()), close: H5Fclose)
    }
  }

  static func isHDF5(_ path: String) -> Bool { withHDF5 { H5Fis_hdf5(path) > 0 } }

  static func exists(_ file: H5Handle, _ name: String) -> Bool {
    withHDF5 { H5Lexists(file.id, name, calo_H5P_DEFAULT()) > 0 }
  }

  static func openDataset(_ file: H5Handle, _ name: String) -> H5Handle? {
    withHDF5 { H5Handle(H5Dopen2(file.id, name, calo_H5P_DEFAULT()), close: H5Dclose) }
  }

  /// The dataset's shape, or nil when the dataspace cannot be read.
  static func shape(_ ds: H5Handle) -> [Int]? {
    withHDF5 {
      guard let space = H5Handle(H5Dget_space(ds.id), close: H5Sclose) else { return nil }
      let rank = Int(H5Sget_simple_extent_ndims(space.id))
      guard rank >= 0 else { return nil }
      var dims = [hsize_t](repeating: 0, count: max(rank, 1))
      guard H5Sget_simple_extent_dims(space.id, &dims, nil) >= 0 else { return nil }
      return dims.prefix(rank).map { Int($0) }
    }
  }

  /// Reads rows [row0, row0+rows) of a 2-D (or 1-D) dataset into `out`, converting to Float or Double.
  static func readRows<T>(_ ds: H5Handle, row0: Int, rows: Int, cols: Int, into out: UnsafeMutablePointer<T>,
                          memType: hid_t) -> Bool {
    withHDF5 {
      guard let space = H5Handle(H5Dget_space(ds.id), close: H5Sclose) else { return false }
      let rank = Int(H5Sget_simple_extent_ndims(space.id))
      var start: [hsize_t] = rank == 1 ? [hsize_t(row0)] : [hsize_t(row0), 0]
      var count: [hsize_t] = rank == 1 ? [hsize_t(rows)] : [hsize_t(rows), hsize_t(cols)]
      guard H5Sselect_hyperslab(space.id, H5S_SELECT_SET, &start, nil, &count, nil) >= 0 else { return false }
      // Same rank and shape as the file selection: lets HDF5 copy whole chunk rows instead of
      // iterating element spans (a 1-D memory space made reads ~2x slower).
      var mdims: [hsize_t] = count
      guard let mem = H5Handle(H5Screate_simple(Int32(rank), &mdims, nil), close: H5Sclose) else { return false }
      return H5Dread(ds.id, memType, mem.id, space.id, calo_H5P_DEFAULT(), out) >= 0
    }
  }

  /// Creates an extendible 2-D float32 dataset (0, cols), chunked by `chunkRows` rows, gzip level 4
  /// with the shuffle filter (what h5py writes with `compression="gzip"`, readable everywhere).
  static func createExtendible(_ file: H5Handle, _ name: String, cols: Int, chunkRows: Int) -> H5Handle? {
    withHDF5 {
      var dims: [hsize_t] = [0, hsize_t(cols)]
      var maxDims: [hsize_t] = [calo_H5S_UNLIMITED(), hsize_t(cols)]
      guard let space = H5Handle(H5Screate_simple(2, &dims, &maxDims), close: H5Sclose),
        let plist = H5Handle(H5Pcreate(calo_H5P_DATASET_CREATE()), close: H5Pclose)
      else { return nil }
      var chunk: [hsize_t] = [hsize_t(chunkRows), hsize_t(cols)]
      guard H5Pset_chunk(plist.id, 2, &chunk) >= 0, H5Pset_shuffle(plist.id) >= 0,
        H5Pset_deflate(plist.id, 4) >= 0
      else { return nil }
      return H5Handle(
        H5Dcreate2(file.id, name, calo_H5T_NATIVE_FLOAT(), space.id, calo_H5P_DEFAULT(), plist.id,
                   calo_H5P_DEFAULT()), close: H5Dclose)
    }
  }

  /// Appends `rows` rows of float32 data to an extendible 2-D dataset that currently has `row0` rows.
  static func appendRows(_ ds: H5Handle, row0: Int, rows: Int, cols: Int, data: UnsafePointer<Float>) -> Bool {
    withHDF5 {
      var newDims: [hsize_t] = [hsize_t(row0 + rows), hsize_t(cols)]
      guard H5Dset_extent(ds.id, &newDims) >= 0,
        let space = H5Handle(H5Dget_space(ds.id), close: H5Sclose)
      else { return false }
      var start: [hsize_t] = [hsize_t(row0), 0]
      var count: [hsize_t] = [hsize_t(rows), hsize_t(cols)]
      guard H5Sselect_hyperslab(space.id, H5S_SELECT_SET, &start, nil, &count, nil) >= 0 else { return false }
      // Same rank and shape as the file selection: lets HDF5 copy whole chunk rows instead of
      // iterating element spans (a 1-D memory space made reads ~2x slower).
      var mdims: [hsize_t] = count
      guard let mem = H5Handle(H5Screate_simple(2, &mdims, nil), close: H5Sclose) else { return false }
      return H5Dwrite(ds.id, calo_H5T_NATIVE_FLOAT(), mem.id, space.id, calo_H5P_DEFAULT(), data) >= 0
    }
  }

  static func flush(_ file: H5Handle) -> Bool { withHDF5 { H5Fflush(file.id, H5F_SCOPE_GLOBAL) >= 0 } }

  /// The stored element type of a dataset: "float32", "float64", "int32", ... or a description of a
  /// type no shower file should have ("string", "compound", ...). `numeric` is true for ints and floats,
  /// which libhdf5 converts to Float/Double on read.
  static func elementType(_ ds: H5Handle) -> (name: String, numeric: Bool)? {
    withHDF5 {
      guard let t = H5Handle(H5Dget_type(ds.id), close: H5Tclose) else { return nil }
      let bits = H5Tget_size(t.id) * 8
      switch H5Tget_class(t.id) {
      case H5T_FLOAT: return ("float\(bits)", true)
      case H5T_INTEGER: return ("int\(bits)", true)
      case H5T_STRING: return ("string", false)
      case H5T_COMPOUND: return ("compound", false)
      case H5T_ENUM: return ("enum", false)
      default: return ("non-numeric", false)
      }
    }
  }

  /// Names of the attributes attached to the object `loc` (the file root for a file handle).
  static func attributeNames(_ loc: H5Handle) -> [String] {
    withHDF5 {
      var names: [String] = []
      var idx: hsize_t = 0
      _ = withUnsafeMutablePointer(to: &names) { box in
        H5Aiterate2(loc.id, H5_INDEX_NAME, H5_ITER_INC, &idx, { _, name, _, data in
          if let name, let data { data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name)) }
          return 0
        }, box)
      }
      return names
    }
  }

  /// The value of a scalar string attribute (fixed or variable length), nil for any other attribute.
  static func readStringAttribute(_ loc: H5Handle, _ name: String) -> String? {
    withHDF5 {
      guard let attr = H5Handle(H5Aopen(loc.id, name, calo_H5P_DEFAULT()), close: H5Aclose),
        let ftype = H5Handle(H5Aget_type(attr.id), close: H5Tclose), H5Tget_class(ftype.id) == H5T_STRING,
        let space = H5Handle(H5Aget_space(attr.id), close: H5Sclose), H5Sget_simple_extent_npoints(space.id) == 1
      else { return nil }
      if H5Tis_variable_str(ftype.id) > 0 {
        guard let mem = H5Handle(H5Tcopy(calo_H5T_C_S1()), close: H5Tclose),
          H5Tset_size(mem.id, h5tVariable) >= 0, H5Tset_cset(mem.id, H5Tget_cset(ftype.id)) >= 0
        else { return nil }
        var ptr: UnsafeMutablePointer<CChar>? = nil
        guard H5Aread(attr.id, mem.id, &ptr) >= 0, let p = ptr else { return nil }
        defer { H5free_memory(p) }
        return String(cString: p)
      }
      let size = H5Tget_size(ftype.id)
      var buf = [UInt8](repeating: 0, count: size + 1)
      guard H5Aread(attr.id, ftype.id, &buf) >= 0 else { return nil }
      let bytes = buf.prefix { $0 != 0 }
      return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
  }

  /// Attaches a scalar variable-length UTF-8 string attribute (what h5py writes for `attrs[k] = "..."`).
  static func writeStringAttribute(_ loc: H5Handle, _ name: String, _ value: String) -> Bool {
    withHDF5 {
      guard let type = H5Handle(H5Tcopy(calo_H5T_C_S1()), close: H5Tclose),
        H5Tset_size(type.id, h5tVariable) >= 0, H5Tset_cset(type.id, H5T_CSET_UTF8) >= 0,
        let space = H5Handle(H5Screate(H5S_SCALAR), close: H5Sclose),
        let attr = H5Handle(H5Acreate2(loc.id, name, type.id, space.id, calo_H5P_DEFAULT(), calo_H5P_DEFAULT()),
                            close: H5Aclose)
      else { return false }
      return value.withCString { cstr in
        var ptr: UnsafePointer<CChar>? = cstr
        return H5Awrite(attr.id, type.id, &ptr) >= 0
      }
    }
  }
}
