// Test-only libhdf5 access: writes HDF5 files with arbitrary dataset names, shapes and element types
// (float32, float64, int64, fixed strings), which ShowerFileWriter deliberately cannot produce, and
// inspects dataset creation properties (chunking, filters). Lets tests build float64 files like the
// official ds1 ones and every malformed layout without Python.

import CHDF5
import Foundation

/// Writes and inspects raw HDF5 files for tests.
public enum RawHDF5 {
  /// Element type of a dataset written by `write`.
  public enum ElementType: Sendable {
    case float32, float64, int64
    /// Fixed-length byte strings of this many bytes (values are `String(value)` truncated).
    case string(Int)
  }

  /// One dataset: name at the file root, shape, row-major values (count = product of shape).
  public struct Dataset {
    public var name: String
    public var shape: [Int]
    public var values: [Double]
    public var type: ElementType
    /// Chunk shape (chunked layout) or nil (contiguous). Filters below need a chunked layout.
    public var chunk: [Int]? = nil
    /// Apply HDF5's shuffle filter (before deflate, as h5py does).
    public var shuffle = false
    /// gzip level, or nil for no deflate filter.
    public var deflate: Int? = nil
    /// Apply the Fletcher-32 checksum filter (a filter CaloData's parallel reader does not handle).
    public var fletcher32 = false
    public init(_ name: String, shape: [Int], values: [Double], type: ElementType) {
      precondition(values.count == shape.reduce(1, *), "RawHDF5.Dataset \(name): \(values.count) values for \(shape)")
      self.name = name
      self.shape = shape
      self.values = values
      self.type = type
    }
  }

  /// Writes `datasets` (contiguous, uncompressed) and fixed-length string root attributes to `path`.
  /// Traps on any libhdf5 failure: this is test setup, not user input.
  public static func write(path: String, datasets: [Dataset], fixedStringAttributes: [String: String] = [:]) {
    let file = H5Fcreate(path, calo_H5F_ACC_TRUNC(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT())
    precondition(file >= 0, "RawHDF5: cannot create \(path)")
    defer { H5Fclose(file) }
    for d in datasets {
      var dims = d.shape.map { hsize_t($0) }
      let space = H5Screate_simple(Int32(dims.count), &dims, nil)
      defer { H5Sclose(space) }
      let dcpl = H5Pcreate(calo_H5P_DATASET_CREATE())
      defer { H5Pclose(dcpl) }
      if let c = d.chunk {
        var cd = c.map { hsize_t($0) }
        precondition(H5Pset_chunk(dcpl, Int32(cd.count), &cd) >= 0, "RawHDF5: bad chunk \(c)")
        if d.shuffle { precondition(H5Pset_shuffle(dcpl) >= 0) }
        if let level = d.deflate { precondition(H5Pset_deflate(dcpl, UInt32(level)) >= 0) }
        if d.fletcher32 { precondition(H5Pset_fletcher32(dcpl) >= 0) }
      }
      var ok: herr_t = -1
      switch d.type {
      case .float32:
        let ds = H5Dcreate2(file, d.name, calo_H5T_NATIVE_FLOAT(), space, calo_H5P_DEFAULT(), dcpl,
                            calo_H5P_DEFAULT())
        let v = d.values.map { Float($0) }
        ok = v.withUnsafeBufferPointer {
          H5Dwrite(ds, calo_H5T_NATIVE_FLOAT(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(),
                   $0.baseAddress)
        }
        H5Dclose(ds)
      case .float64:
        let ds = H5Dcreate2(file, d.name, calo_H5T_NATIVE_DOUBLE(), space, calo_H5P_DEFAULT(), dcpl,
                            calo_H5P_DEFAULT())
        ok = d.values.withUnsafeBufferPointer {
          H5Dwrite(ds, calo_H5T_NATIVE_DOUBLE(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(),
                   $0.baseAddress)
        }
        H5Dclose(ds)
      case .int64:
        let t = H5Tcopy(calo_H5T_NATIVE_INT64())
        let ds = H5Dcreate2(file, d.name, t, space, calo_H5P_DEFAULT(), dcpl, calo_H5P_DEFAULT())
        let v = d.values.map { Int64($0) }
        ok = v.withUnsafeBufferPointer {
          H5Dwrite(ds, t, calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), $0.baseAddress)
        }
        H5Dclose(ds)
        H5Tclose(t)
      case let .string(n):
        let t = H5Tcopy(calo_H5T_C_S1())
        H5Tset_size(t, n)
        let ds = H5Dcreate2(file, d.name, t, space, calo_H5P_DEFAULT(), dcpl, calo_H5P_DEFAULT())
        var bytes = [UInt8]()
        for x in d.values { bytes += Array(String(x).utf8.prefix(n)) + [UInt8](repeating: 0, count: n - min(n, String(x).utf8.count)) }
        ok = bytes.withUnsafeBufferPointer {
          H5Dwrite(ds, t, calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), calo_H5P_DEFAULT(), $0.baseAddress)
        }
        H5Dclose(ds)
        H5Tclose(t)
      }
      precondition(ok >= 0, "RawHDF5: writing \(d.name) failed")
    }
    for (k, v) in fixedStringAttributes {
      let t = H5Tcopy(calo_H5T_C_S1())
      let bytes = Array(v.utf8)
      H5Tset_size(t, max(bytes.count, 1))
      let space = H5Screate(H5S_SCALAR)
      let a = H5Acreate2(file, k, t, space, calo_H5P_DEFAULT(), calo_H5P_DEFAULT())
      let ok = bytes.withUnsafeBufferPointer { H5Awrite(a, t, $0.baseAddress) }
      precondition(ok >= 0, "RawHDF5: attribute \(k) failed")
      H5Aclose(a)
      H5Sclose(space)
      H5Tclose(t)
    }
  }

  /// Storage layout of a dataset: whether it is chunked, the chunk shape, and the ids of its filters
  /// in pipeline order (1 = deflate/gzip, 2 = shuffle; see H5Zpublic.h).
  public static func layout(path: String, dataset: String) -> (chunked: Bool, chunk: [Int], filters: [Int]) {
    let file = H5Fopen(path, calo_H5F_ACC_RDONLY(), calo_H5P_DEFAULT())
    precondition(file >= 0, "RawHDF5: cannot open \(path)")
    defer { H5Fclose(file) }
    let ds = H5Dopen2(file, dataset, calo_H5P_DEFAULT())
    precondition(ds >= 0, "RawHDF5: no dataset \(dataset)")
    defer { H5Dclose(ds) }
    let plist = H5Dget_create_plist(ds)
    defer { H5Pclose(plist) }
    let chunked = H5Pget_layout(plist) == H5D_CHUNKED
    var chunk: [Int] = []
    if chunked {
      var dims = [hsize_t](repeating: 0, count: 8)
      let rank = H5Pget_chunk(plist, 8, &dims)
      chunk = dims.prefix(Int(max(rank, 0))).map { Int($0) }
    }
    var filters: [Int] = []
    for i in 0..<max(H5Pget_nfilters(plist), 0) {
      var flags: UInt32 = 0
      var nelmts = 0
      var name = [CChar](repeating: 0, count: 64)
      var config: UInt32 = 0
      filters.append(Int(H5Pget_filter2(plist, UInt32(i), &flags, &nelmts, nil, 64, &name, &config)))
    }
    return (chunked, chunk, filters)
  }
}

/// A fresh temporary folder removed when the value is deinitialised (keep it alive in the test body).
public final class TempDir {
  public let path: String
  public init() {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-test-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  /// `path/name`.
  public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
  /// The names of the files currently in the folder, sorted.
  public func contents() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Deterministic test showers: `n` rows of `voxels` non-negative values and ds1-style energies
/// (2^(8 + i mod 15) MeV), from a seeded linear congruential generator.
public func makeShowers(n: Int, voxels: Int, seed: UInt64 = 1337) -> (energies: [Double], showers: [Float]) {
  var state = seed &* 6364136223846793005 &+ 1442695040888963407
  func next() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(state >> 40) / Float(1 << 24)
  }
  let e = (0..<n).map { Double(1 << (8 + $0 % 15)) }
  // About half the voxels empty, the rest up to 100 MeV: like a sparse calorimeter shower.
  let s = (0..<(n * voxels)).map { _ -> Float in
    let u = next()
    return u < 0.5 ? 0 : (u - 0.5) * 200
  }
  return (e, s)
}
