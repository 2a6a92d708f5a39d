// The reference showers the explorer compares against: a CaloChallenge file opened once, from which
// the showers nearest to the chosen incident energy are read on demand (a ds3 file can be many GB,
// so nothing is loaded whole).

import CaloData
import CaloGeometry
import Foundation

/// An opened CaloChallenge reference file. Use from one thread at a time (the explorer's worker).
public final class ReferenceSample {
  public let path: String
  public let kind: DatasetKind
  public let geometry: Geometry
  /// Incident energies of all rows in MeV. Shape (N).
  public var energies: [Double] { reader.energies }
  private let reader: ShowerFileReader
  private let logEnergies: [Double]
  private var cachedRows: (energy: Double, limit: Int, rows: [Int])?

  /// Opens `path` and checks that it holds `expected` showers (any CaloChallenge dataset if nil).
  /// - Throws: `CaloDataError` with a user-facing message.
  public init(path: String, expected: DatasetKind? = nil) throws {
    let r = try ShowerFileReader(path: path, expected: expected)
    guard r.count > 0 else { throw CaloDataError.empty(path: path) }
    guard let k = r.kind else { throw CaloDataError.unknownVoxelCount(path: path, voxels: r.voxelCount) }
    reader = r
    logEnergies = r.energies.map { log($0) }
    self.path = path
    kind = k
    geometry = k.geometry
  }

  /// Rows whose energy is nearest to `energyMeV` in log distance (ties: lower row first), at most `limit`.
  /// For ds1, whose showers come in 15 discrete energies, only rows of the nearest energy qualify.
  public func nearestRows(to energyMeV: Double, limit: Int) -> [Int] {
    if let c = cachedRows, c.energy == energyMeV, c.limit == limit { return c.rows }
    let le = log(energyMeV)
    let d = logEnergies.map { abs($0 - le) }
    let order = d.indices.sorted { d[$0] != d[$1] ? d[$0] < d[$1] : $0 < $1 }
    var rows = Array(order.prefix(limit))
    if kind.isDS1, let e0 = rows.first.map({ logEnergies[$0] }) {
      rows = rows.filter { abs(logEnergies[$0] - e0) < 1e-3 }
    }
    cachedRows = (energyMeV, limit, rows)
    return rows
  }

  /// Voxels of row `row` in MeV. Shape (voxels).
  public func shower(row: Int) throws -> [Float] { try reader.read(from: row, count: 1).showers }
}

/// A `ShowerSource` that replays rows of the reference file nearest to the requested energy, in a
/// fixed order starting from the far end of the nearest-row list, so that the "reference" shower
/// shown beside it (taken from the near end) is a different row. Used when no model exists.
public final class ReferenceFileSource: ShowerSource {
  public let sample: ReferenceSample
  public var name: String {
    "file \((sample.path as NSString).lastPathComponent) (no \(missingModel.map { "\($0) " } ?? "")model)"
  }
  /// The model folder name that is missing (e.g. "ds2-layerwise"), shown in `name`.
  public var missingModel: String?
  public var isModel: Bool { false }
  private var cursor: [Double: Int] = [:]
  private let poolSize: Int

  /// - Parameter poolSize: how many nearest rows to cycle through per energy.
  public init(sample: ReferenceSample, poolSize: Int = 200) {
    self.sample = sample
    self.poolSize = poolSize
  }

  public func nextShower(energyMeV: Double) throws -> SourceShower {
    let start = DispatchTime.now().uptimeNanoseconds
    let rows = sample.nearestRows(to: energyMeV, limit: poolSize)
    let k = cursor[energyMeV, default: 0]
    cursor[energyMeV] = k + 1
    let row = rows[rows.count - 1 - (k % rows.count)]
    let v = try sample.shower(row: row)
    let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    return SourceShower(energyMeV: sample.energies[row], voxels: v, timeMs: ms, origin: "file row \(row)")
  }
}
