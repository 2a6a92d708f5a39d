// `calovq calibrate-sparsity` and `calovq spot-round`: fitting a model's spot-rounding table on
// training showers, and applying a table to any CaloChallenge file (e.g. stage-1 reconstructions).
// The table and the rounding itself live in CaloModel (SpotRounding.swift).
import CaloData
import CaloGeometry
import CaloModel
import Foundation

/// What a calibration measured: the table, and per (energy bin, layer) the mean number of non-empty
/// voxels per shower in the training data and in the dense model output.
public struct SpotRoundingCalibration: Sendable {
  public var table: SpotRoundingTable
  public var targetOccupancy: [[Double]]
  public var denseOccupancy: [[Double]]
  /// Showers used on each side.
  public var showers: Int
  /// The target's `SpotRoundingFit.angularAsymmetry` (largest |z| of an angular bin's mean share).
  public var angularAsymmetry: Double
}

/// Streams `path` (at most `limit` rows) into `body` in batches, checking its dataset.
private func forEachShowerBatch(_ path: String, kind: DatasetKind, limit: Int?, _ body: (ShowerBatch) throws -> Void) throws {
  let reader = try ShowerFileReader(path: path, expected: kind)
  try reader.forEachBatch(size: 1000, limit: limit, body)
}

/// Fits the spot-rounding table of model folder `modelDirectory` on training showers: the first
/// `count` rows of `dataPath` are the target, and the model generates `count` dense showers (spot
/// rounding off) at exactly their incident energies with per-shower seeds derivedSeed(seed, 20, g).
/// - Throws: the model loaders' errors; `ShowerFile` errors for a bad data file or one of another dataset.
/// `options` chooses what is fitted (γ, conserving spots and their sizes, radial weights, κ, angular
/// spreads, tilts, single deposits, rotation; see `SpotRoundingFit` and `SpotRoundingTable`).
public func calibrateSpotRounding(modelDirectory: String, dataPath: String, count: Int, seed: UInt64 = 1,
                                  batchSize: Int = 1000,
                                  options: SpotRoundingFitOptions = SpotRoundingFitOptions()) throws -> SpotRoundingCalibration {
  guard count >= 1 else { throw Stage2Error.badInput("--count must be ≥ 1") }
  let (codec, gpt) = try loadModelDirectory(modelDirectory)
  let generator = try ShowerGenerator(codec: codec, gpt: gpt, options: loadModelSampling(modelDirectory))
  let kind = gpt.config.dataset
  var options = options
  if options.totalEnergyMap { options.totalRatioDither = totalRatioDither(gpt.config.rTokens) }
  var fit = SpotRoundingFit(dataset: kind)
  var used = 0
  try forEachShowerBatch(dataPath, kind: kind, limit: count) { batch in
    fit.addTarget(showers: batch.showers, energies: batch.energies)
    var lo = 0
    while lo < batch.count {
      let hi = min(batch.count, lo + batchSize)
      let e = Array(batch.energies[lo..<hi])
      let seeds = (lo..<hi).map { derivedSeed(seed, 20, UInt64(batch.firstRow + $0)) }
      let dense = try generator.generate(energies: e, seeds: seeds).showers
      fit.addDense(showers: dense, energies: e)
      lo = hi
    }
    used += batch.count
  }
  return SpotRoundingCalibration(table: fit.table(options), targetOccupancy: fit.targetOccupancy,
                                 denseOccupancy: fit.denseOccupancy, showers: used,
                                 angularAsymmetry: fit.angularAsymmetry)
}

/// The dither of the E_tot/E_inc map for a model's R quantiser: the width of one level when the total
/// is one linear value (a global model: its decoded R is the level's lower edge), else 0 (layer-wise
/// totals are sums of many values; logarithmic levels have no one width).
public func totalRatioDither(_ r: RTokenizer) -> Double {
  guard case .global = r.mode, r.logMin(ofValue: 0) == nil else { return 0 }
  return r.rMax / Double(1 << r.bits(ofValue: 0))
}

/// Fits a table from two files: `densePath` (e.g. stage-1 reconstructions) against `targetPath`
/// (the showers they should resemble), at most `limit` rows of each.
public func calibrateSpotRounding(densePath: String, targetPath: String, limit: Int?,
                                  options: SpotRoundingFitOptions = SpotRoundingFitOptions()) throws -> SpotRoundingCalibration {
  let dense = try ShowerFileReader(path: densePath)
  guard let kind = dense.kind else { throw CaloDataError.unknownVoxelCount(path: densePath, voxels: dense.voxelCount) }
  var fit = SpotRoundingFit(dataset: kind)
  try dense.forEachBatch(size: 1000, limit: limit) { fit.addDense(showers: $0.showers, energies: $0.energies) }
  var used = 0
  try forEachShowerBatch(targetPath, kind: kind, limit: limit) {
    fit.addTarget(showers: $0.showers, energies: $0.energies)
    used += $0.count
  }
  return SpotRoundingCalibration(table: fit.table(options), targetOccupancy: fit.targetOccupancy,
                                 denseOccupancy: fit.denseOccupancy, showers: used,
                                 angularAsymmetry: fit.angularAsymmetry)
}

/// Writes `inputPath` spot-rounded with `table` to `outPath` (temporary name, then renamed). Row g uses
/// the stream derivedSeed(seed, 30, g). Returns the number of showers.
public func spotRoundFile(inputPath: String, table: SpotRoundingTable, seed: UInt64, outPath: String) throws -> Int {
  let reader = try ShowerFileReader(path: inputPath, expected: table.dataset)
  var attrs = reader.attributes
  attrs[ShowerSource.attribute] = (reader.source ?? "unknown source") + "; spot-rounded (seed \(seed))"
  let writer = try ShowerFileWriter(path: outPath, voxelCount: reader.voxelCount, attributes: attrs)
  try reader.forEachBatch(size: 1000) { batch in
    var showers = batch.showers
    table.apply(&showers, energies: batch.energies,
                seeds: (0..<batch.count).map { derivedSeed(seed, 30, UInt64(batch.firstRow + $0)) })
    try writer.append(energies: batch.energies, showers: showers)
  }
  try writer.finish()
  return writer.count
}
