// Inputs of the CaloChallenge classifier test (calochallenge_facts.md §d.5): which showers enter (both
// classes must be equally large) and their feature rows, collected batch by batch while the files are
// streamed, straight into Float32 matrices.

import CaloData
import CaloGeometry
import CaloMetrics
import Foundation

/// The two classifier tests of the challenge that `calovq evaluate --classifier` runs.
public enum ClassifierMode: String, CaseIterable, Sendable, Codable {
  /// [log10 E_inc, E_k / E_inc for every voxel after the threshold]: 1 + voxels inputs.
  case low = "cls-low"
  /// The §d.3 high-level vector (30, 46, 362 inputs).
  case high = "cls-high"

  /// Number of network inputs for `kind` (369, 534, 6481, 40501 low; 30, 46, 362 high).
  public func inputWidth(_ kind: DatasetKind) -> Int {
    switch self {
    case .low: return 1 + kind.voxelCount
    case .high: return FeatureLayout(geometry: kind.geometry).width
    }
  }
}

/// Which rows of the generated and the reference file enter the classifier.
///
/// The challenge requires equally many showers in both classes. The larger file is cut to the smaller
/// one's size by a seeded random choice of rows (not the first rows: the ds1 files are ordered by
/// incident energy); `limit` caps both classes the same way.
public struct ClassifierSelection: Sendable {
  /// Showers used per class.
  public let perClass: Int
  /// Per file row: used or not; nil = every row of that file.
  public let generatedKeep: [Bool]?
  public let referenceKeep: [Bool]?
  /// Human-readable note when rows were dropped (nil otherwise).
  public let note: String?

  /// - Parameters:
  ///   - generated, reference: showers in the two files.
  ///   - limit: optional cap on showers per class.
  ///   - seed: seed of the random row choice.
  public init(generated: Int, reference: Int, limit: Int? = nil, seed: UInt64) {
    let n = min(generated, reference, limit ?? Int.max)
    perClass = n
    var rng = SeededRandom(seed: seed ^ 0x5E1E_C7ED)
    func choose(_ total: Int) -> [Bool]? {
      guard n < total else { return nil }
      // Partial Fisher–Yates: the first n entries of a random permutation of 0..<total.
      var idx = Array(0..<total)
      for i in 0..<n { idx.swapAt(i, Int.random(in: i..<total, using: &rng)) }
      var keep = [Bool](repeating: false, count: total)
      for i in idx[0..<n] { keep[i] = true }
      return keep
    }
    generatedKeep = choose(generated)
    referenceKeep = choose(reference)
    var parts: [String] = []
    if generated > n { parts.append("a random \(n) of the \(generated) generated showers") }
    if reference > n { parts.append("a random \(n) of the \(reference) reference showers") }
    note = parts.isEmpty ? nil
      : "classifier uses " + parts.joined(separator: " and ") + " (both classes must be equally large)"
  }
}

/// Collects the classifier input rows of one class while its file is streamed.
///
/// Rows are stored as Float32 in file order (only the selected rows), so the memory is
/// rows × inputs × 4 bytes per mode (ds3 low level: 162 kB per shower).
public struct ClassifierInputCollector: Sendable {
  public let kind: DatasetKind
  public let modes: [ClassifierMode]
  let keep: [Bool]?
  let extractor: FeatureExtractor
  let layout: FeatureLayout
  /// Low-level rows, shape (rows, 1 + voxels); empty unless `.low` is among `modes`.
  public private(set) var low: FeatureMatrix
  /// High-level rows, shape (rows, §d.3 width); empty unless `.high` is among `modes`.
  public private(set) var high: FeatureMatrix
  /// File rows seen so far.
  public private(set) var seen = 0

  /// - Parameters:
  ///   - keep: per file row whether it is used (nil = all); see `ClassifierSelection`.
  ///   - expectedRows: rows that will be kept (reserves the memory once).
  public init(kind: DatasetKind, modes: [ClassifierMode], keep: [Bool]?, expectedRows: Int = 0) {
    self.kind = kind
    self.modes = modes
    self.keep = keep
    extractor = FeatureExtractor(kind: kind)
    layout = FeatureLayout(geometry: kind.geometry)
    low = FeatureMatrix(cols: ClassifierMode.low.inputWidth(kind))
    high = FeatureMatrix(cols: layout.width)
    if modes.contains(.low) { low.values.reserveCapacity(expectedRows * low.cols) }
    if modes.contains(.high) { high.values.reserveCapacity(expectedRows * high.cols) }
  }

  /// The rows of `mode`.
  public func matrix(_ mode: ClassifierMode) -> FeatureMatrix { mode == .low ? low : high }

  /// Adds the next batch of the file (batches must arrive in file order).
  ///
  /// - Parameters:
  ///   - energies: (N) incident energies in MeV.
  ///   - showers: (N·voxels) raw voxel energies in MeV (the threshold is applied here).
  ///   - features: the batch's `FeatureTable` if already computed (saves recomputing it for `.high`).
  public mutating func add(energies: [Double], showers: [Float], features: FeatureTable? = nil) {
    let n = energies.count, v = kind.voxelCount
    precondition(showers.count == n * v, "ClassifierInputCollector: \(showers.count) voxels for \(n) showers of \(v)")
    let rows = (0..<n).filter { keep?[seen + $0] ?? true }
    seen += n
    guard !rows.isEmpty else { return }
    if modes.contains(.low) {
      let t = kind.voxelThresholdMeV
      showers.withUnsafeBufferPointer { s in
        for i in rows {
          let e = energies[i]
          low.values.append(Float(log10(e)))
          for k in (i * v)..<((i + 1) * v) { low.values.append(Float(thresholded(s[k], t) / e)) }
        }
      }
    }
    if modes.contains(.high) {
      let table = features ?? extractor.features(energies: energies, showers: showers)
      precondition(table.count == n, "ClassifierInputCollector: feature table has \(table.count) rows for \(n) showers")
      var picked = FeatureTable(layout: layout)
      let w = layout.width
      picked.values.reserveCapacity(rows.count * w)
      for i in rows { picked.values += table.values[(i * w)..<((i + 1) * w)] }
      high.append(picked)
    }
  }
}

/// Bytes the classifier needs for `perClass` showers per class in `mode`: both input matrices plus the
/// network (weights, gradients, two Adam moments, the best checkpoint) and one batch of activations.
public func classifierMemoryEstimate(kind: DatasetKind, mode: ClassifierMode, perClass: Int,
                                     options: ClassifierOptions) -> Int {
  let d = mode.inputWidth(kind), h = options.hidden
  let params = d * h + h + max(0, options.hiddenLayers - 1) * (h * h + h) + h + 1
  let data = 2 * perClass * d * 4
  let activations = options.batchSize * (d + 4 * options.hiddenLayers * h) * 4
  return data + 5 * params * 4 + activations
}

/// Throws before any file is read when the classifier tests in `modes` cannot run: a split would be
/// empty, or the inputs and network would need more than `options.memoryLimitBytes`.
public func checkClassifierFeasible(kind: DatasetKind, modes: [ClassifierMode], perClass n: Int,
                                    options: ClassifierOptions) throws {
  let split = ClassifierSplit.scaled(kind: kind, perClass: n)
  guard split.train > 0 && split.test > 0 && split.validation > 0 else {
    throw ClassifierError.tooFewShowers(perClass: n, split: split)
  }
  // The input matrices of all modes coexist; the networks are trained one after the other.
  func need(_ rows: Int) -> Int {
    let data = modes.reduce(0) { $0 + 2 * rows * $1.inputWidth(kind) * 4 }
    let nets = modes.map { classifierMemoryEstimate(kind: kind, mode: $0, perClass: 0, options: options) }.max() ?? 0
    return data + nets
  }
  let bytes = need(n)
  guard bytes <= options.memoryLimitBytes else {
    let perRow = max(1, need(1) - need(0))
    let fit = max(0, (options.memoryLimitBytes - need(0)) / perRow)
    let mode = modes.max { $0.inputWidth(kind) < $1.inputWidth(kind) }!
    throw ClassifierError.tooMuchMemory(mode: mode, bytes: bytes, limit: options.memoryLimitBytes, perClass: n,
                                        suggestion: fit >= 1000 ? fit / 1000 * 1000 : fit)
  }
}
