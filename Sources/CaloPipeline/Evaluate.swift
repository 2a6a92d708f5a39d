// `calovq evaluate`: the CaloChallenge evaluation of a generated file against a reference file,
// streamed batch by batch (memory: one batch per file plus the §d.3 feature vectors for FPD/KPD).

import CaloData
import CaloGeometry
import CaloMetrics
import Dispatch
import Foundation

/// Problems with the pair of files given to `evaluate`.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
  case datasetMismatch(generated: String, generatedKind: String, reference: String, referenceKind: String)
  case empty(path: String)

  public var description: String {
    switch self {
    case let .datasetMismatch(g, gk, r, rk):
      return "the generated file '\(g)' is \(gk) but the reference '\(r)' is \(rk); "
        + "evaluate a generated sample against a reference of the same dataset."
    case let .empty(path):
      return "'\(path)' holds no showers (N = 0); nothing to evaluate. Generate or pick a non-empty file."
    }
  }
}

/// Settings of an evaluation.
public struct EvaluationOptions: Sendable {
  /// Dataset to insist on (both files must match it); detected from the voxel count if nil.
  public var dataset: DatasetKind?
  /// Showers per read batch; nil picks ~25 MB batches (4000 ds1, 1000 ds2, 160 ds3).
  public var batchSize: Int?
  /// Compute FPD and KPD (needs the feature vectors in memory: 145 MB per 100k ds2/ds3 showers).
  public var distances = true
  public var fpd = FPDOptions()
  public var kpd = KPDOptions()
  /// Classifier tests to run (none by default; they train a network and take minutes).
  public var classifierModes: [ClassifierMode] = []
  public var classifier = ClassifierOptions()
  public init() {}
}

/// Everything `calovq evaluate` reports.
public struct EvaluationResult: Sendable {
  public var kind: DatasetKind
  public var generatedPath: String
  public var referencePath: String
  public var generatedCount: Int
  public var referenceCount: Int
  /// Every histogram pair (official first, then EC r / width r / sparsity).
  public var comparisons: [HistogramComparison]
  public var separations: [SeparationEntry]
  /// Fréchet / kernel physics distances (nil if not computed or a sample has < 2 showers).
  public var fpd: ValueWithError?
  public var kpd: ValueWithError?
  /// Wall time per phase in seconds, in execution order.
  public var timings: [(phase: String, seconds: Double)]
  /// Process CPU seconds (user + system, all threads) per entry of `timings`; NaN for a phase that ran
  /// alongside others (its CPU time is counted in theirs).
  public var cpuSeconds: [Double] = []
  /// Classifier tests, in the order of `EvaluationOptions.classifierModes` (empty if none ran).
  public var classifiers: [ClassifierResult] = []
}

/// Evaluates `generated` against `reference` (CaloChallenge HDF5 files).
///
/// Passes: reference features (+ fixed-binning histograms, maxima, feature vectors), generated sample
/// (features, histograms and vectors at once), then the reference voxel histogram (its top edge is the
/// reference's maximum voxel, known only after the first pass) alongside FPD and KPD, then separation
/// powers. Reading runs one batch ahead on a background thread.
public func evaluate(generated: String, reference: String, options: EvaluationOptions = EvaluationOptions())
  throws -> EvaluationResult
{
  let ref = try ShowerFileReader(path: reference, expected: options.dataset)
  let gen = try ShowerFileReader(path: generated, expected: options.dataset)
  guard let kind = ref.kind, let gkind = gen.kind else {
    throw CaloDataError.unknownVoxelCount(path: reference, voxels: ref.voxelCount)
  }
  guard kind == gkind else {
    throw EvaluationError.datasetMismatch(generated: generated, generatedKind: "\(gkind.rawValue) (\(gkind.voxelCount) voxels)",
                                          reference: reference, referenceKind: "\(kind.rawValue) (\(kind.voxelCount) voxels)")
  }
  guard ref.count > 0 else { throw EvaluationError.empty(path: reference) }
  guard gen.count > 0 else { throw EvaluationError.empty(path: generated) }
  // Batches cover whole chunks of the file (no chunk is inflated twice) and several of them per core.
  let refSource = ref.fastBatchSource(), genSource = gen.fastBatchSource()
  func batchSize(_ chunkRows: Int) -> Int {
    if let b = options.batchSize { return b }
    let rows = max(1, (25 << 20) / (4 * kind.voxelCount))
    guard chunkRows > 1 else { return rows }
    let chunks = max(2 * ProcessInfo.processInfo.activeProcessorCount, (rows + chunkRows - 1) / chunkRows)
    return chunks * chunkRows
  }
  let refBatch = batchSize(refSource.chunkRows), genBatch = batchSize(genSource.chunkRows)
  let cols = FeatureLayout(geometry: kind.geometry).width
  var timings: [(String, Double)] = []
  // Process CPU seconds per phase too (user + system, all threads): on a shared 2-core machine wall
  // time alone says little about the work done.
  var cpu: [Double] = []
  func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
    let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
    let r = try body()
    timings.append((name, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
    cpu.append(processCPUSeconds() - c0)
    return r
  }

  // Classifier inputs are collected during the normal passes; sizes and memory are checked first.
  let modes = options.classifierModes
  var refInputs: ClassifierInputCollector?, genInputs: ClassifierInputCollector?
  var classifierNote: String?
  if !modes.isEmpty {
    let selection = ClassifierSelection(generated: gen.count, reference: ref.count,
                                        limit: options.classifier.maxShowersPerClass, seed: options.classifier.seed)
    try checkClassifierFeasible(kind: kind, modes: modes, perClass: selection.perClass, options: options.classifier)
    refInputs = ClassifierInputCollector(kind: kind, modes: modes, keep: selection.referenceKeep,
                                         expectedRows: selection.perClass)
    genInputs = ClassifierInputCollector(kind: kind, modes: modes, keep: selection.generatedKeep,
                                         expectedRows: selection.perClass)
    classifierNote = selection.note
  }

  var builder = ReferenceBuilder(kind: kind)
  var refVectors = FeatureMatrix(cols: cols)
  try timed("reference features") {
    try prefetchingBatches(refSource.read, count: ref.count, size: refBatch) { b in
      let t = builder.addFeatures(energies: b.energies, showers: b.showers)
      if options.distances { refVectors.append(t) }
      refInputs?.add(energies: b.energies, showers: b.showers, features: t)
    }
  }
  builder.endFeaturePass()
  // The generated sample only needs the reference binnings (fixed now), not the reference voxel counts.
  var genHists = SampleHistograms(reference: builder.finish())
  var genVectors = FeatureMatrix(cols: cols)
  try timed("generated sample") {
    try prefetchingBatches(genSource.read, count: gen.count, size: genBatch) { b in
      let t = genHists.add(energies: b.energies, showers: b.showers)
      if options.distances { genVectors.append(t) }
      genInputs?.add(energies: b.energies, showers: b.showers, features: t)
    }
  }
  // The rest of the reference voxel histogram (showers before the batch that set the reference's
  // maximum voxel; see ReferenceBuilder) runs on its own thread while FPD and KPD keep the cores busy.
  final class VoxelPass: @unchecked Sendable {
    var builder: ReferenceBuilder
    var error: Error?
    var seconds = 0.0
    init(_ b: ReferenceBuilder) { builder = b }
  }
  let pass = VoxelPass(builder)
  let group = DispatchGroup()
  let t0 = DispatchTime.now().uptimeNanoseconds
  DispatchQueue.global().async(group: group) {
    do {
      let needed = pass.builder.voxelRowsNeeded
      if needed > 0 {
        try prefetchingBatches(refSource.read, count: needed, size: refBatch) { b in
          pass.builder.addVoxels(showers: b.showers)
        }
      }
    } catch {
      pass.error = error
    }
    pass.seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
  }
  var fpdValue: ValueWithError?, kpdValue: ValueWithError?
  if options.distances && refVectors.rows >= 2 && genVectors.rows >= 2 {
    fpdValue = timed("FPD") { fpd(reference: refVectors, generated: genVectors, options: options.fpd) }
    kpdValue = timed("KPD") { kpd(reference: refVectors, generated: genVectors, options: options.kpd) }
  }
  group.wait()
  // HDF5 (serial build) must never be entered from two threads: keep the generated file open, so its
  // handles are not closed on this thread while the voxel pass may still be reading the reference.
  withExtendedLifetime(gen) {}
  if let e = pass.error { throw e }
  let share = String(format: "%.0f%%", 100 * Double(builder.voxelRowsNeeded) / Double(ref.count))
  cpu.append(.nan)  // ran alongside FPD/KPD: its CPU time is inside theirs
  timings.append((options.distances ? "reference voxel rest, \(share) (alongside FPD/KPD)" : "reference voxel rest, \(share)",
                  pass.seconds))
  let refHists = pass.builder.finish()
  let comparisons = timed("separation powers") { compare(reference: refHists, generated: genHists) }
  var classifiers: [ClassifierResult] = []
  if let g = genInputs, let r = refInputs {
    for mode in modes {
      let result = try timed("classifier \(mode.rawValue) (\(options.classifier.repeats) run(s))") {
        try runClassifierTest(generated: g.matrix(mode), reference: r.matrix(mode), kind: kind, mode: mode,
                              options: options.classifier, note: classifierNote)
      }
      classifiers.append(result)
    }
  }
  return EvaluationResult(kind: kind, generatedPath: generated, referencePath: reference, generatedCount: gen.count,
                          referenceCount: ref.count, comparisons: comparisons, separations: separations(comparisons),
                          fpd: fpdValue, kpd: kpdValue, timings: timings, cpuSeconds: cpu, classifiers: classifiers)
}


/// Reads rows [0, count) in batches of `size` through `read` (start, count), one batch ahead on a
/// background queue while `body` works on the current one. HDF5 is only ever entered under CaloData's
/// lock, whatever thread `read` runs on.
func prefetchingBatches(_ read: @escaping @Sendable (Int, Int) throws -> ShowerBatch, count: Int, size: Int,
                        _ body: (ShowerBatch) throws -> Void) throws {
  final class Slot: @unchecked Sendable {
    var result: Result<ShowerBatch, Error>?
  }
  let queue = DispatchQueue(label: "calovq.evaluate.read")
  func launch(_ start: Int) -> (Slot, DispatchGroup) {
    let slot = Slot(), group = DispatchGroup()
    let n = min(size, count - start)
    queue.async(group: group) { slot.result = Result { try read(start, n) } }
    return (slot, group)
  }
  var start = 0
  guard count > 0 else { return }
  var next = launch(0)
  while start < count {
    next.1.wait()
    let current = try next.0.result!.get()
    start += size
    if start < count { next = launch(start) }
    try body(current)
  }
}
