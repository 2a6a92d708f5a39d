// The CaloChallenge classifier test (calochallenge_facts.md §d.5): a fully connected network trained to
// tell generated (label 0) from reference (label 1) showers; its isotonic-calibrated validation AUC and
// JSD measure how distinguishable the two samples are (AUC 0.5 / JSD 0 = indistinguishable).

import CaloGeometry
import CaloMetrics
import CaloNN
import CaloTensor
import Dispatch
import Foundation

/// Settings of the classifier test. Defaults are the challenge's.
public struct ClassifierOptions: Sendable {
  /// Width of each hidden layer (challenge: 2048; tests use a smaller one).
  public var hidden = 2048
  /// Number of hidden Linear+LeakyReLU layers (challenge: 3).
  public var hiddenLayers = 3
  /// Maximum number of epochs (challenge: 50).
  public var maxEpochs = 50
  /// Training batch size (challenge: 1000).
  public var batchSize = 1000
  /// Adam learning rate (challenge: 2e-4, betas (0.9, 0.999), eps 1e-8, no weight decay).
  public var learningRate: Float = 2e-4
  /// Seed of run 0 (row choice, splits, initialisation, batch order); run r uses seed + r.
  public var seed: UInt64 = 1
  /// Independent runs (fresh split and network each); the result reports mean and population std.
  public var repeats = 1
  /// Optional cap on showers per class.
  public var maxShowersPerClass: Int?
  /// Refuse to start when `classifierMemoryEstimate` exceeds this (default 8 GiB).
  public var memoryLimitBytes = 8 << 30
  /// Called with one line per epoch (and per finished run); nil = silent.
  public var progress: (@Sendable (String) -> Void)?

  public init() {}
}

/// Showers per class in each split.
public struct ClassifierSplit: Sendable, Codable, Equatable {
  public var train: Int
  public var test: Int
  public var validation: Int

  public init(train: Int, test: Int, validation: Int) {
    self.train = train
    self.test = test
    self.validation = validation
  }

  /// The official split sizes scaled to `perClass` showers: train/test = 80000/20000 of 121000
  /// (ds1 photons) or of 120800 (ds1 pions), 60000/20000 of 100000 (ds2, ds3); validation = the rest.
  public static func scaled(kind: DatasetKind, perClass n: Int) -> ClassifierSplit {
    let (train, test, total): (Double, Double, Double)
    switch kind {
    case .ds1Photon: (train, test, total) = (80000, 20000, 121000)
    case .ds1Pion: (train, test, total) = (80000, 20000, 120800)
    case .ds2, .ds3: (train, test, total) = (60000, 20000, 100000)
    }
    let tr = Int((Double(n) * train / total).rounded())
    let te = Int((Double(n) * test / total).rounded())
    return ClassifierSplit(train: tr, test: te, validation: n - tr - te)
  }
}

/// Mean and population standard deviation over the runs.
public struct MeanStd: Sendable, Codable, Equatable {
  public var mean: Double
  public var std: Double

  public init(_ values: [Double]) {
    let n = Double(max(values.count, 1))
    let m = values.reduce(0, +) / n
    mean = m
    std = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n).squareRoot()
  }
}

/// One training run of the classifier.
public struct ClassifierRun: Sendable, Codable, Equatable {
  public var seed: UInt64
  /// AUC and JSD of the isotonic-calibrated validation probabilities (the reported numbers).
  public var auc: Double
  public var jsd: Double
  /// AUC of the raw sigmoid outputs on the validation split (printed only, like evaluate.py).
  public var uncalibratedAUC: Double
  /// Validation accuracy of the raw outputs (threshold 0.5).
  public var validationAccuracy: Double
  /// Epoch (1-based) whose weights were kept: the first with the highest test accuracy.
  public var bestEpoch: Int
  /// Test accuracy after every epoch that ran.
  public var testAccuracies: [Double]
  /// Mean training BCE of every epoch.
  public var trainLosses: [Double]
  public var seconds: Double
}

/// The result of one classifier test (one mode, all runs).
public struct ClassifierResult: Sendable, Codable, Equatable {
  public var mode: ClassifierMode
  public var dataset: DatasetKind
  public var inputs: Int
  public var hidden: Int
  public var hiddenLayers: Int
  public var perClass: Int
  public var split: ClassifierSplit
  /// Why some showers were left out (larger class cut), if any.
  public var note: String?
  public var runs: [ClassifierRun]
  /// Over the runs (population std, as the published mean ± std of 10 runs).
  public var auc: MeanStd
  public var jsd: MeanStd
}

/// Problems that stop a classifier test before training.
public enum ClassifierError: Error, CustomStringConvertible, Equatable {
  case tooFewShowers(perClass: Int, split: ClassifierSplit)
  case tooMuchMemory(mode: ClassifierMode, bytes: Int, limit: Int, perClass: Int, suggestion: Int)

  public var description: String {
    switch self {
    case let .tooFewShowers(n, s):
      return "the classifier needs showers in every split, but \(n) per class give train \(s.train) / test \(s.test) / "
        + "validation \(s.validation); use files with more showers (thousands for a meaningful AUC)."
    case let .tooMuchMemory(mode, bytes, limit, n, suggestion):
      return String(format: "%@ with %d showers per class needs about %.1f GB (limit %.1f GB); ", mode.rawValue, n,
                    Double(bytes) / 1e9, Double(limit) / 1e9)
        + (suggestion >= 10 ? "pass --classifier-showers \(suggestion) (or fewer) to subsample both classes."
                            : "the network alone is too large; use a smaller --classifier-width.")
    }
  }
}

/// The challenge's DNN: inputs → [Linear(·, H), LeakyReLU(0.01)] × layers → Linear(H, 1) (one logit).
/// PyTorch default initialisation U(±1/√fan_in) for weights and biases. Float32 (the challenge uses
/// float64; the AUC of a 2-sample test does not need the extra digits, and Float32 GEMMs are 2× faster).
final class ClassifierNet {
  let parameters = ParameterSet()
  let layers: [Linear]

  init(inputs: Int, hidden: Int, hiddenLayers: Int, rng: inout RNG) {
    var ls: [Linear] = []
    var width = inputs
    for i in 0..<hiddenLayers {
      ls.append(Linear(parameters, "layers.\(i)", in: width, out: hidden, rng: &rng))
      width = hidden
    }
    ls.append(Linear(parameters, "layers.\(hiddenLayers)", in: width, out: 1, rng: &rng))
    layers = ls
  }

  /// x (B, inputs) → logits (B, 1).
  func callAsFunction(_ x: Tensor) -> Tensor {
    var h = x
    for (i, l) in layers.enumerated() {
      h = l(h)
      if i < layers.count - 1 { h = h.leakyRelu(0.01) }
    }
    return h
  }
}

/// Runs the classifier test on two equally large input matrices.
///
/// - Parameters:
///   - generated, reference: (N, d) Float32 rows of the two classes (labels 0 and 1), same N and d.
///   - kind: dataset (for the split fractions).
///   - mode: which inputs these are (for the report only).
///   - note: carried into the result (e.g. which class was cut).
/// Per run: both classes are shuffled and split into train/test/validation (`ClassifierSplit.scaled`),
/// the network is trained with BCE-with-logits and Adam on shuffled batches for up to `maxEpochs` epochs,
/// the weights of the epoch with the best test accuracy are kept (stop early at test accuracy 1), an
/// isotonic regression fitted on the test split's (probability, label) pairs calibrates the validation
/// probabilities, and AUC and JSD = (ln 2 − BCE)/ln 2 are computed on them.
public func runClassifierTest(generated: FeatureMatrix, reference: FeatureMatrix, kind: DatasetKind,
                              mode: ClassifierMode, options: ClassifierOptions = ClassifierOptions(),
                              note: String? = nil) throws -> ClassifierResult
{
  precondition(generated.cols == reference.cols, "classifier: \(generated.cols) vs \(reference.cols) inputs")
  precondition(generated.rows == reference.rows, "classifier: classes of \(generated.rows) and \(reference.rows) rows")
  precondition(options.hidden > 0 && options.hiddenLayers >= 1 && options.batchSize > 0 && options.maxEpochs > 0
               && options.repeats > 0, "classifier: invalid options")
  let n = generated.rows
  let split = ClassifierSplit.scaled(kind: kind, perClass: n)
  guard split.train > 0 && split.test > 0 && split.validation > 0 else {
    throw ClassifierError.tooFewShowers(perClass: n, split: split)
  }
  var runs: [ClassifierRun] = []
  for r in 0..<options.repeats {
    let seed = options.seed &+ UInt64(r)
    let run = trainOnce(generated, reference, split: split, seed: seed, options: options,
                        label: "\(mode.rawValue) run \(r + 1)/\(options.repeats)")
    options.progress?(String(format: "%@ run %d/%d: AUC %.4f, JSD %.4f (best epoch %d of %d, %.0f s)",
                             mode.rawValue, r + 1, options.repeats, run.auc, run.jsd, run.bestEpoch,
                             run.testAccuracies.count, run.seconds))
    runs.append(run)
  }
  return ClassifierResult(mode: mode, dataset: kind, inputs: generated.cols, hidden: options.hidden,
                          hiddenLayers: options.hiddenLayers, perClass: n, split: split, note: note, runs: runs,
                          auc: MeanStd(runs.map(\.auc)), jsd: MeanStd(runs.map(\.jsd)))
}

/// One run: split, train, pick the best epoch, calibrate, score.
func trainOnce(_ gen: FeatureMatrix, _ ref: FeatureMatrix, split: ClassifierSplit, seed: UInt64,
               options: ClassifierOptions, label: String) -> ClassifierRun
{
  let t0 = DispatchTime.now().uptimeNanoseconds
  let n = gen.rows, d = gen.cols
  var rng = RNG(seed: seed)
  // Sample ids: generated row i is i, reference row i is n + i (label = id >= n).
  func permutation() -> [Int] {
    var p = Array(0..<n)
    for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, rng.int(below: i + 1)) }
    return p
  }
  let pg = permutation(), pr = permutation()
  func part(_ r: Range<Int>) -> [Int] { Array(pg[r]) + pr[r].map { n + $0 } }
  var train = part(0..<split.train)
  let test = part(split.train..<(split.train + split.test))
  let validation = part((split.train + split.test)..<n)

  let net = ClassifierNet(inputs: d, hidden: options.hidden, hiddenLayers: options.hiddenLayers, rng: &rng)
  let adam = Adam(net.parameters, lr: options.learningRate)

  /// Rows `ids` gathered into one (B, d) input tensor.
  func batch(_ ids: ArraySlice<Int>) -> Tensor {
    var x = [Float](repeating: 0, count: ids.count * d)
    gen.values.withUnsafeBufferPointer { g in
      ref.values.withUnsafeBufferPointer { f in
        x.withUnsafeMutableBufferPointer { xp in
          for (j, id) in ids.enumerated() {
            let src = id < n ? g.baseAddress! + id * d : f.baseAddress! + (id - n) * d
            (xp.baseAddress! + j * d).update(from: src, count: d)
          }
        }
      }
    }
    return Tensor([ids.count, d], data: x)
  }
  /// Logits of `ids`, without recording a tape, in chunks of one training batch.
  func logits(_ ids: [Int]) -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(ids.count)
    withNoGrad {
      for s in stride(from: 0, to: ids.count, by: options.batchSize) {
        out += net(batch(ids[s..<min(s + options.batchSize, ids.count)])).data
      }
    }
    return out
  }
  func accuracy(_ z: [Float], _ ids: [Int]) -> Double {
    // sigmoid(z) rounded at 0.5 (0.5 rounds to 0) is 1 exactly when z > 0.
    var right = 0
    for (v, id) in zip(z, ids) where (v > 0) == (id >= n) { right += 1 }
    return Double(right) / Double(ids.count)
  }

  var best = -1.0, bestEpoch = 0
  var bestWeights: [[Float]] = net.parameters.tensors.map(\.data)
  var testAccuracies: [Double] = [], losses: [Double] = []
  for epoch in 1...options.maxEpochs {
    for i in stride(from: train.count - 1, to: 0, by: -1) { train.swapAt(i, rng.int(below: i + 1)) }
    var lossSum = 0.0
    for s in stride(from: 0, to: train.count, by: options.batchSize) {
      let ids = train[s..<min(s + options.batchSize, train.count)]
      let z = net(batch(ids))
      // BCE with logits, mean over the batch: dL/dz = (sigmoid(z) − y) / B, seeded straight into backward.
      let m = Float(ids.count)
      var seedGrad = [Float](repeating: 0, count: ids.count)
      for (j, id) in ids.enumerated() {
        let v = Double(z.data[j]), y = id >= n ? 1.0 : 0.0
        lossSum += max(v, 0) - v * y + log1p(exp(-abs(v)))
        seedGrad[j] = Float(1 / (1 + exp(-v)) - y) / m
      }
      adam.zeroGrad()
      z.backward(seed: seedGrad)
      adam.update()
    }
    losses.append(lossSum / Double(train.count))
    let acc = accuracy(logits(test), test)
    testAccuracies.append(acc)
    let improved = acc > best
    if improved {
      best = acc
      bestEpoch = epoch
      bestWeights = net.parameters.tensors.map(\.data)  // copy-on-write: the next update copies
    }
    options.progress?(String(format: "%@ epoch %d/%d: train BCE %.4f, test accuracy %.4f%@", label, epoch,
                             options.maxEpochs, losses.last!, acc, improved ? " (best)" : ""))
    if acc == 1 { break }
  }
  for (t, w) in zip(net.parameters.tensors, bestWeights) { t.data = w }

  // A NaN logit (NaN in an input file) scores as an undecided 0.5 instead of stopping the evaluation.
  func probabilities(_ z: [Float]) -> [Double] { z.map { $0.isNaN ? 0.5 : 1 / (1 + exp(-Double($0))) } }
  let testP = probabilities(logits(test))
  let zVal = logits(validation)
  let valP = probabilities(zVal)
  let valLabels = validation.map { $0 >= n }
  let iso = IsotonicRegression(x: testP, y: test.map { $0 >= n ? 1 : 0 })
  let calibrated = iso(valP)
  let bce = binaryCrossEntropy(probabilities: calibrated, labels: valLabels)
  return ClassifierRun(
    seed: seed, auc: rocAUC(scores: calibrated, labels: valLabels)!, jsd: classifierJSD(bce: bce),
    uncalibratedAUC: rocAUC(scores: valP, labels: valLabels)!, validationAccuracy: accuracy(zVal, validation),
    bestEpoch: bestEpoch, testAccuracies: testAccuracies, trainLosses: losses,
    seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
}
