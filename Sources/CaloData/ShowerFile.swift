// CaloChallenge shower files: `incident_energies` (N,1) and `showers` (N,voxels) in MeV at the file
// root. Reading streams row blocks (a 100k-shower ds3 file is 16 GB as float32, never load it whole);
// writing goes to a temporary file that is renamed into place only when complete.

import CHDF5
import CaloGeometry
import Foundation

/// A block of consecutive showers from a file.
public struct ShowerBatch: Sendable {
  /// Incident energies in MeV. Shape (N).
  public var energies: [Double]
  /// Voxel energies in MeV, row-major. Shape (N, voxels).
  public var showers: [Float]
  /// Voxels per shower.
  public let voxels: Int
  /// Row of the first shower of this batch in its file.
  public var firstRow: Int

  public init(energies: [Double], showers: [Float], voxels: Int, firstRow: Int = 0) {
    precondition(showers.count == energies.count * voxels,
                 "ShowerBatch: \(showers.count) voxel values for \(energies.count) showers of \(voxels)")
    self.energies = energies
    self.showers = showers
    self.voxels = voxels
    self.firstRow = firstRow
  }

  /// Number of showers in the batch.
  public var count: Int { energies.count }

  /// The voxels of shower `i` (no copy until mutated).
  public func shower(_ i: Int) -> ArraySlice<Float> { showers[(i * voxels)..<((i + 1) * voxels)] }
}

/// Streaming reader of a CaloChallenge HDF5 file.
///
/// Opening validates the layout (both datasets present, ranks, equal row counts, a known voxel count
/// or the one expected) and every incident energy (finite and > 0). Voxel values are checked per batch.
public final class ShowerFileReader: @unchecked Sendable {
  public let path: String
  /// Number of showers N.
  public let count: Int
  /// Voxels per shower.
  public let voxelCount: Int
  /// The CaloChallenge dataset the voxel count (or the caller) says this is; nil for a custom binning.
  public let kind: DatasetKind?
  /// All incident energies in MeV (N values: small even for 100k showers).
  public let energies: [Double]
  /// Element type of `showers` as stored in the file: "float32" (CaloVQ, most files), "float64" (the
  /// official ds1 files) or an integer type; every numeric type is converted to Float on read.
  public let storedType: String
  /// The string attributes at the file root (non-string attributes are skipped).
  public let attributes: [String: String]

  private let file: H5Handle
  private let showersDS: H5Handle

  /// Opens and validates `path`.
  /// - Parameters:
  ///   - expected: the dataset the caller needs; a file with another voxel count is rejected.
  ///   - customVoxels: accept this voxel count without a dataset kind (for `--binning` geometries).
  public init(path: String, expected: DatasetKind? = nil, customVoxels: Int? = nil) throws {
    self.path = path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw CaloDataError.cannotOpen(path: path, reason: "no such file")
    }
    guard !isDir.boolValue else { throw CaloDataError.cannotOpen(path: path, reason: "it is a directory") }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw CaloDataError.cannotOpen(path: path, reason: "permission denied")
    }
    guard H5.isHDF5(path) else { throw CaloDataError.notHDF5(path: path) }
    // A file with a valid signature that libhdf5 still refuses is almost always cut short (an
    // interrupted download or copy): HDF5 compares the stored end-of-file address with the real size.
    guard let file = H5.openFile(path) else {
      throw CaloDataError.corrupt(path: path, what: "libhdf5 cannot open it")
    }
    self.file = file
    for name in ["incident_energies", "showers"] where !H5.exists(file, name) {
      throw CaloDataError.missingDataset(path: path, name: name)
    }
    guard let eds = H5.openDataset(file, "incident_energies"), let eshape = H5.shape(eds) else {
      throw CaloDataError.readFailed(path: path, what: "opening incident_energies")
    }
    guard let sds = H5.openDataset(file, "showers"), let sshape = H5.shape(sds) else {
      throw CaloDataError.readFailed(path: path, what: "opening showers")
    }
    guard eshape.count == 1 || (eshape.count == 2 && eshape[1] == 1) else {
      throw CaloDataError.badRank(path: path, name: "incident_energies", shape: eshape)
    }
    guard sshape.count == 2 else { throw CaloDataError.badRank(path: path, name: "showers", shape: sshape) }
    for (name, ds) in [("incident_energies", eds), ("showers", sds)] {
      guard let t = H5.elementType(ds) else { throw CaloDataError.readFailed(path: path, what: "type of \(name)") }
      guard t.numeric else { throw CaloDataError.badType(path: path, name: name, type: t.name) }
    }
    storedType = H5.elementType(sds)?.name ?? "?"
    var attrs: [String: String] = [:]
    for name in H5.attributeNames(file) {
      if let v = H5.readStringAttribute(file, name) { attrs[name] = v }
    }
    attributes = attrs
    guard sshape[0] == eshape[0] else {
      throw CaloDataError.rowMismatch(path: path, showers: sshape[0], energies: eshape[0])
    }
    let n = sshape[0], v = sshape[1]
    if let expected, expected.voxelCount != v {
      throw CaloDataError.wrongVoxelCount(path: path, voxels: v, expected: expected.voxelCount,
                                          dataset: expected.rawValue)
    }
    if let customVoxels {
      guard customVoxels == v else {
        throw CaloDataError.wrongVoxelCount(path: path, voxels: v, expected: customVoxels, dataset: "the binning")
      }
      kind = expected ?? DatasetKind(voxelCount: v)
    } else {
      guard let k = expected ?? DatasetKind(voxelCount: v) else {
        throw CaloDataError.unknownVoxelCount(path: path, voxels: v)
      }
      kind = k
    }
    var e = [Double](repeating: 0, count: n)
    if n > 0 {
      let ok = e.withUnsafeMutableBufferPointer {
        H5.readRows(eds, row0: 0, rows: n, cols: 1, into: $0.baseAddress!, memType: calo_H5T_NATIVE_DOUBLE())
      }
      guard ok else { throw CaloDataError.readFailed(path: path, what: "reading incident_energies") }
    }
    if let bad = e.firstIndex(where: { !$0.isFinite || $0 <= 0 }) {
      throw CaloDataError.badEnergy(path: path, row: bad, value: e[bad])
    }
    count = n
    voxelCount = v
    energies = e
    showersDS = sds
  }

  /// The geometry of this file's dataset (nil for a custom voxel count).
  public var geometry: Geometry? { kind?.geometry }

  /// Where the showers come from, as recorded by CaloVQ in the `calovq_source` root attribute
  /// (see `ShowerSource`); nil for files without it, e.g. the official GEANT4 CaloChallenge files.
  public var source: String? { attributes[ShowerSource.attribute] }

  /// Reads showers [start, start+rows) (clamped to the file). Throws on I/O errors and non-finite voxels.
  public func read(from start: Int, count rows: Int) throws -> ShowerBatch {
    precondition(start >= 0 && rows >= 0, "read(from: \(start), count: \(rows))")
    let n = max(0, min(rows, count - start))
    var data = [Float](repeating: 0, count: n * voxelCount)
    if n > 0 {
      let ok = data.withUnsafeMutableBufferPointer {
        H5.readRows(showersDS, row0: start, rows: n, cols: voxelCount, into: $0.baseAddress!,
                    memType: calo_H5T_NATIVE_FLOAT())
      }
      guard ok else {
        throw CaloDataError.readFailed(path: path, what: "reading showers rows \(start)..<\(start + n)")
      }
      // `!(x >= 0)` is true for NaN, negatives and -inf; +inf is caught by isFinite.
      if let bad = data.firstIndex(where: { !($0 >= 0) || $0 == .infinity }) {
        throw CaloDataError.badShowerValue(path: path, row: start + bad / voxelCount, column: bad % voxelCount,
                                           value: data[bad])
      }
    }
    return ShowerBatch(energies: Array(energies[start..<(start + n)]), showers: data, voxels: voxelCount,
                       firstRow: start)
  }

  /// Calls `body` with consecutive batches of at most `size` showers, covering `limit` showers
  /// (all by default). Memory stays at one batch.
  public func forEachBatch(size: Int, limit: Int? = nil, _ body: (ShowerBatch) throws -> Void) throws {
    precondition(size > 0, "batch size must be positive")
    let total = min(limit ?? count, count)
    var start = 0
    while start < total {
      try body(try read(from: start, count: min(size, total - start)))
      start += size
    }
  }
}

/// Writes a CaloChallenge file batch by batch to `<path>.partial-<pid>` and renames it onto `path`
/// in `finish()`. If the writer is dropped without `finish()` (error, crash of the caller's loop),
/// the partial file is removed and `path` is untouched.
public final class ShowerFileWriter {
  public let path: String
  public let voxelCount: Int
  public private(set) var count = 0
  private let tempPath: String
  private var file: H5Handle?
  private var showersDS: H5Handle?
  private var energiesDS: H5Handle?
  private var finished = false

  /// Creates `<path>.partial-<pid>` with empty, extendible `showers` (0, voxelCount) and
  /// `incident_energies` (0, 1) float32 datasets, chunked (~4 MB chunks) and gzip-compressed.
  /// - Parameter attributes: string attributes for the file root, e.g.
  ///   `[ShowerSource.attribute: ShowerSource.simulator]`.
  /// - Throws: `CaloDataError.writeFailed` when the folder is missing or the file cannot be created.
  public init(path: String, voxelCount: Int, attributes: [String: String] = [:]) throws {
    precondition(voxelCount > 0, "voxelCount must be positive")
    self.path = path
    self.voxelCount = voxelCount
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty {
      var isDir: ObjCBool = false
      if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
        throw CaloDataError.writeFailed(path: path, what: "folder '\(dir)' does not exist")
      }
    }
    tempPath = path + ".partial-\(getpid())"
    guard let f = H5.createFile(tempPath) else {
      throw CaloDataError.writeFailed(path: path, what: "cannot create '\(tempPath)'")
    }
    // ~4 MB chunks: 1000 rows for ds1, 161 for ds2, 25 for ds3.
    let chunkRows = max(1, min(1000, (4 << 20) / (voxelCount * 4)))
    guard let s = H5.createExtendible(f, "showers", cols: voxelCount, chunkRows: chunkRows),
      let e = H5.createExtendible(f, "incident_energies", cols: 1, chunkRows: 1000)
    else {
      try? FileManager.default.removeItem(atPath: tempPath)
      throw CaloDataError.writeFailed(path: path, what: "cannot create datasets")
    }
    file = f
    showersDS = s
    energiesDS = e
    for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { try setAttribute(k, v) }
  }

  /// Attaches a string attribute to the file root (before `finish()`; each name once).
  public func setAttribute(_ name: String, _ value: String) throws {
    precondition(!finished, "setAttribute after finish")
    guard let file, H5.writeStringAttribute(file, name, value) else {
      throw CaloDataError.writeFailed(path: path, what: "attribute '\(name)' (already set?)")
    }
  }

  /// Appends a batch. Shapes: energies (N), showers (N·voxels).
  public func append(energies: [Double], showers: [Float]) throws {
    precondition(!finished, "append after finish")
    precondition(showers.count == energies.count * voxelCount,
                 "append: \(showers.count) values for \(energies.count) showers of \(voxelCount) voxels")
    let n = energies.count
    guard n > 0 else { return }
    let ef = energies.map { Float($0) }
    let ok1 = showers.withUnsafeBufferPointer {
      H5.appendRows(showersDS!, row0: count, rows: n, cols: voxelCount, data: $0.baseAddress!)
    }
    let ok2 = ef.withUnsafeBufferPointer {
      H5.appendRows(energiesDS!, row0: count, rows: n, cols: 1, data: $0.baseAddress!)
    }
    guard ok1 && ok2 else { throw CaloDataError.writeFailed(path: path, what: "appending rows \(count)...") }
    count += n
  }

  /// Appends a batch read from another file.
  public func append(_ batch: ShowerBatch) throws { try append(energies: batch.energies, showers: batch.showers) }

  /// Closes the file and renames it onto `path` atomically.
  public func finish() throws {
    precondition(!finished, "finish called twice")
    finished = true
    let flushed = file.map(H5.flush) ?? false
    showersDS = nil
    energiesDS = nil
    file = nil  // closes the file
    guard flushed, rename(tempPath, path) == 0 else {
      try? FileManager.default.removeItem(atPath: tempPath)
      throw CaloDataError.writeFailed(path: path, what: "closing and renaming '\(tempPath)'")
    }
  }

  deinit {
    if !finished {
      showersDS = nil
      energiesDS = nil
      file = nil
      try? FileManager.default.removeItem(atPath: tempPath)
    }
  }
}

/// Writes a whole file in one call (small files: tests, samples).
/// Shapes: energies (N), showers (N·voxels), MeV.
public func writeShowerFile(path: String, energies: [Double], showers: [Float], voxels: Int,
                            attributes: [String: String] = [:]) throws {
  let w = try ShowerFileWriter(path: path, voxelCount: voxels, attributes: attributes)
  try w.append(energies: energies, showers: showers)
  try w.finish()
}

/// The convention for recording where showers come from, so that `calovq info` and the explorer never
/// present parameterised or generated showers as GEANT4: a root string attribute `calovq_source`.
public enum ShowerSource {
  /// Name of the root string attribute.
  public static let attribute = "calovq_source"
  /// Value written by the parameterised shower simulator (`calovq simulate`).
  public static let simulator = "parameterised simulator (GFlash-style), not GEANT4"
  /// Value written by `calovq generate`: "Calo-VQ model " followed by e.g. the checkpoint name.
  public static func model(_ detail: String) -> String { "Calo-VQ model " + detail }
  /// Whether a `calovq_source` value says the showers are from the parameterised simulator.
  public static func isSimulator(_ value: String) -> Bool { value.lowercased().contains("parameterised") }
}
