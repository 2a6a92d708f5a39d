// Errors for everything that reads or writes shower files. Each message says what is wrong and
// what the user can do about it; the CLI prints `description` and exits non-zero.

/// A problem with a shower file or its contents.
public enum CaloDataError: Error, CustomStringConvertible, Equatable {
  case cannotOpen(path: String, reason: String)
  case notHDF5(path: String)
  /// The file has an HDF5 signature but libhdf5 cannot open or read it (truncated download, bad copy).
  case corrupt(path: String, what: String)
  /// A dataset holds strings, compounds or another type that is not a number.
  case badType(path: String, name: String, type: String)
  case missingDataset(path: String, name: String)
  case badRank(path: String, name: String, shape: [Int])
  case rowMismatch(path: String, showers: Int, energies: Int)
  case unknownVoxelCount(path: String, voxels: Int)
  case wrongVoxelCount(path: String, voxels: Int, expected: Int, dataset: String)
  case badEnergy(path: String, row: Int, value: Double)
  case badShowerValue(path: String, row: Int, column: Int, value: Float)
  case readFailed(path: String, what: String)
  case writeFailed(path: String, what: String)
  case empty(path: String)

  public var description: String {
    switch self {
    case let .cannotOpen(path, reason):
      return "cannot open '\(path)': \(reason). Check the path and its permissions."
    case let .notHDF5(path):
      return "'\(path)' is not an HDF5 file (or it is truncated). Give a CaloChallenge .h5/.hdf5 file, "
        + "e.g. one written by `calovq simulate`."
    case let .corrupt(path, what):
      return "'\(path)' looks like HDF5 but is truncated or corrupt (\(what)). Download or copy it again."
    case let .badType(path, name, type):
      return "'\(path)': dataset '\(name)' holds \(type) values; expected float32 or float64 numbers (MeV)."
    case let .missingDataset(path, name):
      return "'\(path)' has no dataset '\(name)'. A CaloChallenge file needs 'incident_energies' (N,1) "
        + "and 'showers' (N,voxels) at the file root."
    case let .badRank(path, name, shape):
      return "'\(path)': dataset '\(name)' has shape \(shape); expected "
        + (name == "incident_energies" ? "(N,1) or (N)" : "(N,voxels)") + "."
    case let .rowMismatch(path, s, e):
      return "'\(path)': 'showers' has \(s) rows but 'incident_energies' has \(e); they must pair row by row."
    case let .unknownVoxelCount(path, v):
      return "'\(path)': showers have \(v) voxels, which is none of the CaloChallenge datasets "
        + "(368 ds1-photon, 533 ds1-pion, 6480 ds2, 40500 ds3). Pass --binning FILE for a custom geometry."
    case let .wrongVoxelCount(path, v, expected, ds):
      return "'\(path)': showers have \(v) voxels but \(ds) needs \(expected). Check --dataset or the file."
    case let .badEnergy(path, row, value):
      return "'\(path)': incident energy in row \(row) is \(value); energies must be finite and > 0 MeV. "
        + "Fix or drop that row."
    case let .badShowerValue(path, row, col, value):
      return "'\(path)': voxel \(col) of shower \(row) is \(value); voxel energies must be finite and ≥ 0 MeV. "
        + "Fix or drop that row (clip tiny negatives to 0)."
    case let .readFailed(path, what):
      return "reading '\(path)' failed (\(what)). The file may be truncated or corrupt; regenerate or re-download it."
    case let .writeFailed(path, what):
      return "writing '\(path)' failed (\(what)). Check free disk space and permissions; nothing was left behind."
    case let .empty(path):
      return "'\(path)' holds no showers (N = 0)."
    }
  }
}
