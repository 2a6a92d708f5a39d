// Root string attributes of shower files (e.g. `calovq_source`, which says where the showers come from).
// Minimal addition made for the simulator (branch `sim`); the foundation branch may supersede it.

import CHDF5
import Foundation

extension H5 {
  /// Writes (or replaces) a scalar fixed-length string attribute on the file root.
  static func writeStringAttribute(_ file: H5Handle, name: String, value: String) -> Bool {
    withHDF5 {
      if H5Aexists(file.id, name) > 0 { _ = H5Adelete(file.id, name) }
      let bytes = Array(value.utf8)
      guard let type = H5Handle(H5Tcopy(calo_H5T_C_S1()), close: H5Tclose),
        H5Tset_size(type.id, max(bytes.count, 1)) >= 0,
        let space = H5Handle(H5Screate(H5S_SCALAR), close: H5Sclose),
        let attr = H5Handle(H5Acreate2(file.id, name, type.id, space.id, calo_H5P_DEFAULT(), calo_H5P_DEFAULT()),
                            close: H5Aclose)
      else { return false }
      let padded = bytes.isEmpty ? [UInt8(0)] : bytes
      return padded.withUnsafeBufferPointer { H5Awrite(attr.id, type.id, $0.baseAddress!) >= 0 }
    }
  }

  /// Reads a string attribute of the file root (fixed or variable length), nil if absent.
  static func readStringAttribute(_ file: H5Handle, name: String) -> String? {
    withHDF5 {
      guard H5Aexists(file.id, name) > 0,
        let attr = H5Handle(H5Aopen(file.id, name, calo_H5P_DEFAULT()), close: H5Aclose),
        let type = H5Handle(H5Aget_type(attr.id), close: H5Tclose),
        H5Tget_class(type.id) == H5T_STRING
      else { return nil }
      if H5Tis_variable_str(type.id) > 0 {
        var ptr: UnsafeMutablePointer<CChar>? = nil
        guard let mem = H5Handle(H5Tget_native_type(type.id, H5T_DIR_ASCEND), close: H5Tclose),
          H5Aread(attr.id, mem.id, &ptr) >= 0, let p = ptr
        else { return nil }
        defer { free(p) }
        return String(cString: p)
      }
      let size = H5Tget_size(type.id)
      var buf = [UInt8](repeating: 0, count: size + 1)
      guard H5Aread(attr.id, type.id, &buf) >= 0 else { return nil }
      return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }
  }
}

extension ShowerFileWriter {
  /// Sets a string attribute on the file root (written with the file; call before `finish()`).
  public func setAttribute(name: String, value: String) throws {
    guard let f = file, H5.writeStringAttribute(f, name: name, value: value) else {
      throw CaloDataError.writeFailed(path: path, what: "writing attribute '\(name)'")
    }
  }
}

extension ShowerFileReader {
  /// The string attribute `name` of the file root, or nil if the file has none.
  public func stringAttribute(_ name: String) -> String? { H5.readStringAttribute(file, name: name) }
}
