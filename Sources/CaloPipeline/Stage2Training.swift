// `calovq train stage2`: trains the conditional GPT on codes of a frozen stage-1 model (calovq_facts.md
// §6.4): Adam (0.9, 0.999), lr 7.68e-4, batch 256, the dataset's angular augmentations, progress lines,
// checkpoints that resume exactly, SIGINT-safe exit, and a final stage2.safetensors.
import CaloData
import CaloGeometry
import CaloModel
import CaloNN
import CaloTensor
import Foundation

/// A flag another thread (a signal handler) sets to ask a long job to stop after the current step.
/// It counts requests so that a second Ctrl-C can mean "exit now".
public final class StopFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var requests = 0
  public init() {}
  /// Asks the job to stop.
  public func stop() { _ = raise() }
  /// Asks the job to stop and returns how many times that has been asked so far.
  public func raise() -> Int { lock.lock(); defer { lock.unlock() }; requests += 1; return requests }
  /// Whether a stop was requested.
  public var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return requests > 0 }
  /// Same as `isStopped`.
  public var isRaised: Bool { isStopped }
}

/// Options of a stage-2 training run.
public struct Stage2TrainOptions: Sendable {
  /// Training file (CaloChallenge HDF5).
  public var dataPath: String
  /// Output folder: checkpoint.safetensors, stage2.safetensors (and a copy of stage 1).
  public var outDir: String
  /// GPT preset ("paper", "sample" or "large").
  public var preset = "paper"
  /// Epochs to run (nil: unbounded unless `steps` is set).
  public var epochs: Int?
  /// Total optimiser steps to reach (nil: unbounded unless `epochs` is set).
  public var steps: Int?
  /// Showers per step (256 in the reference).
  public var batchSize = 256
  /// Adam learning rate (3e-6 × 256 = 7.68e-4 in the reference).
  public var learningRate: Float = 7.68e-4
  /// Seed of initialisation, shuffling, augmentation and dropout.
  public var seed: UInt64 = 1337
  /// Use only the first N training showers (the reference's `load_partial`).
  public var maxShowers: Int?
  /// Print a progress line every this many steps.
  public var logEvery = 10
  /// Write a checkpoint every this many steps (and always at exit).
  public var checkpointEvery = 500
  /// Continue from outDir/checkpoint.safetensors.
  public var resume = false
  /// Lower end of a logarithmic R quantiser (nil: the preset's linear one, as the reference).
  public var rLogMin: Double?
  /// With `rLogMin`: the total R keeps the linear quantiser, the layers use the log one.
  public var rLinearTotal = false
  /// Layer-wise models: bits of the layer ratios' quantiser (nil: the preset's), e.g. 16 for a 64-level
  /// leading digit (`RTokenizer.layerBits`).
  public var rLayerBits: Int?
  /// Dropout probability while training (nil: the preset's 0.1, as the reference). A training setting
  /// only, so a run may resume with another one, e.g. a last low-rate pass without dropout.
  public var dropout: Float?

  public init(dataPath: String, outDir: String) {
    self.dataPath = dataPath
    self.outDir = outDir
  }
}

/// What a finished (or stopped) run reports.
public struct Stage2TrainSummary: Sendable {
  public var steps: Int
  public var epochs: Double
  public var lastLoss: Float
  public var modelPath: String
  public var stopped: Bool
}

/// Deterministic seed for (base seed, stream, index): SplitMix64 finaliser of a mix of the three.
public func derivedSeed(_ seed: UInt64, _ stream: UInt64, _ index: UInt64) -> UInt64 {
  var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (stream &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* (index &+ 1)
  z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
  z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
  return z ^ (z >> 31)
}

/// Angular augmentations of stage 2 (calovq_facts.md §1.5, §6.4) on CaloChallenge-order showers
/// (flat index z·(A·Rb) + a·Rb + r): ds2 rolls every shower of a batch by one random n ∈ [0, A);
/// ds3 layer-wise also flips each shower's angle with p = 0.5; ds1 and ds3 global use none.
public enum Stage2Augmentation {
  /// (roll, flip) used for a dataset and R mode.
  public static func kinds(_ ds: DatasetKind, layerwise: Bool) -> (roll: Bool, flip: Bool) {
    switch ds {
    case .ds2: return (true, false)
    case .ds3: return layerwise ? (true, true) : (false, false)
    default: return (false, false)
    }
  }

  /// Applies the augmentation in place. Shapes: showers (N, 45·A·Rb).
  public static func apply(_ showers: inout [Float], count n: Int, dataset ds: DatasetKind, layerwise: Bool,
                           rng: inout RNG) {
    let (roll, flip) = kinds(ds, layerwise: layerwise)
    guard roll || flip else { return }
    let layer = ds.geometry.layers[0]
    let A = layer.nAlpha, Rb = layer.rEdges.count - 1, Z = 45, V = Z * A * Rb
    precondition(showers.count == n * V, "augment: \(showers.count) values for \(n) showers of \(V)")
    let shift = roll ? rng.int(below: A) : 0
    var src = [Float](repeating: 0, count: V)
    for s in 0..<n {
      let doFlip = flip && rng.uniform() < 0.5
      if shift == 0 && !doFlip { continue }
      for i in 0..<V { src[i] = showers[s * V + i] }
      for z in 0..<Z {
        for a in 0..<A {
          var na = (a + shift) % A
          if doFlip { na = A - 1 - na }
          for r in 0..<Rb { showers[s * V + z * A * Rb + na * Rb + r] = src[z * A * Rb + a * Rb + r] }
        }
      }
    }
  }
}

/// Adam whose moments can be saved and restored (exact resume). Same update as CaloNN's Adam.
final class Stage2Adam {
  let params: [Tensor]
  var lr: Float
  let b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8
  var step = 0
  var m: [[Float]], v: [[Float]]
  init(_ ps: ParameterSet, lr: Float) {
    params = ps.tensors
    self.lr = lr
    m = params.map { [Float](repeating: 0, count: $0.count) }
    v = m
  }
  func update() {
    step += 1
    let bc1 = 1 - Float(pow(Double(b1), Double(step))), bc2 = 1 - Float(pow(Double(b2), Double(step)))
    for (k, p) in params.enumerated() {
      guard let g = p.grad else { continue }
      for i in 0..<p.count {
        m[k][i] = b1 * m[k][i] + (1 - b1) * g[i]
        v[k][i] = b2 * v[k][i] + (1 - b2) * g[i] * g[i]
        p.data[i] -= lr * (m[k][i] / bc1) / ((v[k][i] / bc2).squareRoot() + eps)
      }
    }
  }
}

/// Trains the stage-2 GPT on a frozen stage-1 codec.
public final class Stage2Trainer {
  public let codec: any ShowerCodec
  public let options: Stage2TrainOptions
  public let gpt: GPT
  public let dataset: DatasetKind
  let reader: ShowerFileReader
  let showerCount: Int
  let optimizer: Stage2Adam
  let log: (String) -> Void
  /// Smallest value of each tokenised R seen so far (becomes `GPTConfig.rLowerLimits`).
  var rSeenMin: [Float]
  /// Largest value of each tokenised R seen so far (becomes `GPTConfig.rLimits`).
  var rSeenMax: [Float]
  /// Target sequences by batch block, kept when the dataset has no augmentation (ds1, ds3 global): the
  /// frozen stage-1 encoder then maps a block to the same codes every epoch, and encoding costs more than
  /// the GPT step. Augmented datasets are encoded afresh each time. ~10 MB for 60k ds1 showers.
  var targetCache: [Int: [Int32]] = [:]

  public var checkpointPath: String { options.outDir + "/checkpoint.safetensors" }
  public var modelPath: String { options.outDir + "/stage2.safetensors" }

  /// Opens the data, builds (or resumes) the GPT whose sizes come from the preset, the data's dataset
  /// and the codec's latent grid and R count.
  public init(codec: any ShowerCodec, options: Stage2TrainOptions, log: @escaping (String) -> Void) throws {
    self.codec = codec
    self.options = options
    self.log = log
    reader = try ShowerFileReader(path: options.dataPath)
    guard let ds = reader.kind else {
      throw Stage2Error.badInput("'\(options.dataPath)' has \(reader.voxelCount) voxels, not a CaloChallenge dataset")
    }
    dataset = ds
    showerCount = min(reader.count, options.maxShowers ?? Int.max)
    guard showerCount >= options.batchSize else {
      throw Stage2Error.badInput("'\(options.dataPath)' has \(showerCount) showers, fewer than one batch of \(options.batchSize); use --batch-size")
    }
    // The R mode follows the stage-1 model: one ratio per shower means global.
    let probe = try reader.read(from: 0, count: 1)
    let nR = try codec.rValues(energies: probe.energies, showers: probe.showers).count
    let L = codec.latentShape.reduce(1, *)
    var cfg = try GPTPresets.config(dataset: ds, layerwise: nR > 1, preset: options.preset, latentLength: L)
    cfg.rTokens = cfg.rTokens.withLogMin(options.rLogMin, linearTotal: options.rLinearTotal)
    guard cfg.rTokens.ratiosPerShower == nR else {
      throw Stage2Error.mismatch("the stage-1 model gives \(nR) R values per shower, the \(ds.rawValue) GPT expects \(cfg.rTokens.ratiosPerShower)")
    }
    if let b = options.rLayerBits {
      guard nR > 1 else {
        throw Stage2Error.badInput("--r-layer-bits needs a layer-wise stage-1 model; '\(ds.rawValue)' global has one R value per shower")
      }
      let range = RTokenizer.layerBitsRange(tokensPerValue: cfg.rTokens.tokensPerValue)
      guard range.contains(b) else {
        throw Stage2Error.badInput("--r-layer-bits \(b) does not fit the preset's \(cfg.rTokens.tokensPerValue) tokens per R value; use \(range.lowerBound)…\(range.upperBound)")
      }
      cfg.rTokens = cfg.rTokens.withLayerBits(b)
    }
    if let d = options.dropout {
      guard d >= 0 && d < 1 else { throw Stage2Error.badInput("--dropout must be in [0, 1), got \(d)") }
      cfg.dropout = d
    }
    gpt = GPT(config: cfg, seed: derivedSeed(options.seed, 1, 0))
    optimizer = Stage2Adam(gpt.parameters, lr: options.learningRate)
    rSeenMax = [Float](repeating: 0, count: cfg.rTokens.valueCount)
    rSeenMin = [Float](repeating: .infinity, count: cfg.rTokens.valueCount)
    try FileManager.default.createDirectory(atPath: options.outDir, withIntermediateDirectories: true)
    if options.resume { try loadCheckpoint() }
  }

  /// Steps per epoch (whole batches only, as the reference's drop_last).
  public var stepsPerEpoch: Int { showerCount / options.batchSize }

  /// The target sequences of one batch: stage-1 codes and R tokens, (N, T).
  func targets(energies: [Double], showers: [Float]) throws -> [Int32] {
    let cfg = gpt.config, n = energies.count, L = cfg.latentLength, A = cfg.rTokens.tokenCount
    let codes = try codec.encode(energies: energies, showers: showers)
    let ratios = try codec.rValues(energies: energies, showers: showers)
    guard codes.count == n * L else { throw Stage2Error.mismatch("stage 1 returned \(codes.count) codes for \(n) showers × \(L)") }
    let aux = cfg.rTokens.encode(ratios: ratios)
    var out = [Int32](repeating: 0, count: n * cfg.blockSize)
    for s in 0..<n {
      for j in 0..<A { out[s * cfg.blockSize + j] = aux[s * A + j] }
      for j in 0..<L { out[s * cfg.blockSize + A + j] = codes[s * L + j] }
      // Track the tokenised values' range for the optional sampling constraint.
      for v in 0..<cfg.rTokens.valueCount {
        let tpv = cfg.rTokens.tokensPerValue
        let val = cfg.rTokens.decodeValue(aux[(s * A + v * tpv)..<(s * A + (v + 1) * tpv)], ofValue: v)
        rSeenMax[v] = max(rSeenMax[v], val)
        rSeenMin[v] = min(rSeenMin[v], val)
      }
    }
    return out
  }

  /// Runs until `epochs`/`steps` or a stop request; writes the checkpoint and the final model.
  public func run(stop: StopFlag = StopFlag()) throws -> Stage2TrainSummary {
    let spe = stepsPerEpoch, B = options.batchSize
    var target = Int.max
    if let e = options.epochs { target = min(target, e * spe) }
    if let s = options.steps { target = min(target, s) }
    let start = Date()
    let firstStep = optimizer.step
    var lastLoss: Float = .nan, lossSum = 0.0, lossCount = 0
    var stopped = false
    log("stage 2: \(dataset.rawValue) \(gpt.config.preset) GPT (\(gpt.parameterCount) parameters, T = \(gpt.config.blockSize)), "
        + "R quantiser \(gpt.config.rTokens.quantiserDescription), "
        + "\(showerCount) showers, batch \(B), \(spe) steps/epoch"
        + (options.dropout.map { ", dropout \($0)" } ?? "") + (firstStep > 0 ? ", resuming at step \(firstStep)" : ""))
    while optimizer.step < target {
      if stop.isStopped { stopped = true; break }
      let step = optimizer.step, epoch = step / spe, k = step % spe
      // Batch order of this epoch: a seeded permutation of whole-batch blocks.
      var prng = RNG(seed: derivedSeed(options.seed, 2, UInt64(epoch)))
      var order = Array(0..<spe)
      for i in stride(from: spe - 1, to: 0, by: -1) { order.swapAt(i, prng.int(below: i + 1)) }
      var batch = try reader.read(from: order[k] * B, count: B)
      var rng = RNG(seed: derivedSeed(options.seed, 3, UInt64(step)))
      let layerwise = gpt.config.rTokens.valueCount > 1
      let aug = Stage2Augmentation.kinds(dataset, layerwise: layerwise)
      Stage2Augmentation.apply(&batch.showers, count: batch.count, dataset: dataset, layerwise: layerwise, rng: &rng)
      let tg: [Int32]
      if !aug.roll && !aug.flip, let cached = targetCache[order[k]] {
        tg = cached
      } else {
        tg = try targets(energies: batch.energies, showers: batch.showers)
        if !aug.roll && !aug.flip { targetCache[order[k]] = tg }
      }
      gpt.parameters.zeroGrad()
      let loss = gpt.loss(targets: tg, energies: batch.energies, training: true, rng: &rng)
      loss.backward()
      optimizer.update()
      lastLoss = loss.item
      lossSum += Double(lastLoss)
      lossCount += 1
      let done = optimizer.step
      if done % options.logEvery == 0 || done == target {
        let el = Date().timeIntervalSince(start)
        let rate = Double(done - firstStep) / max(el, 1e-9)
        let eta = target == Int.max ? "∞" : formatDuration(Double(target - done) / max(rate, 1e-9))
        log(String(format: "step %d  epoch %.2f  loss %.4f (mean %.4f)  %.0f showers/s  ETA %@",
                   done, Double(done) / Double(spe), lastLoss, lossSum / Double(lossCount),
                   rate * Double(B), eta))
        lossSum = 0; lossCount = 0
      }
      if done % options.checkpointEvery == 0 { try saveCheckpoint() }
    }
    try saveCheckpoint()
    var final = gpt.config
    final.rLimits = rSeenMax
    final.rLowerLimits = rSeenMin.allSatisfy(\.isFinite) ? rSeenMin : nil
    let out = GPT(config: final, seed: 0)
    try out.assign(Dictionary(uniqueKeysWithValues: gpt.parameters.tensors.map { ($0.name!, ($0.shape, $0.data)) }))
    try out.save(to: modelPath, extraMetadata: ["step": "\(optimizer.step)", "data": options.dataPath])
    log("wrote \(modelPath) after \(optimizer.step) steps" + (stopped ? " (stopped)" : ""))
    return Stage2TrainSummary(steps: optimizer.step, epochs: Double(optimizer.step) / Double(spe),
                              lastLoss: lastLoss, modelPath: modelPath, stopped: stopped)
  }

  /// Parameters, Adam moments and the step, enough to continue bit-identically (all other randomness
  /// is derived from the seed and the step).
  func saveCheckpoint() throws {
    var ts: [(name: String, shape: [Int], data: [Float])] = gpt.parameters.tensors.map { ($0.name!, $0.shape, $0.data) }
    for (k, p) in gpt.parameters.tensors.enumerated() {
      ts.append(("adam.m." + p.name!, p.shape, optimizer.m[k]))
      ts.append(("adam.v." + p.name!, p.shape, optimizer.v[k]))
    }
    try SafeTensorsF32.write(ts, metadata: [
      "format": "calovq-stage2-checkpoint", "version": "1", "config": gpt.config.jsonString(),
      "step": "\(optimizer.step)", "seed": "\(options.seed)", "batch": "\(options.batchSize)",
      "rSeenMax": rSeenMax.map { "\($0)" }.joined(separator: ","),
      "rSeenMin": rSeenMin.map { "\($0)" }.joined(separator: ","),
    ], to: checkpointPath)
  }

  func loadCheckpoint() throws {
    guard FileManager.default.fileExists(atPath: checkpointPath) else {
      throw Stage2Error.missingFile("--resume: no checkpoint at '\(checkpointPath)'; start without --resume")
    }
    let (ts, meta) = try SafeTensorsF32.read(checkpointPath)
    guard meta["format"] == "calovq-stage2-checkpoint", let stepText = meta["step"], let step = Int(stepText) else {
      throw GPTModelFileError.wrongFormat(path: checkpointPath, found: meta["format"] ?? "unknown")
    }
    // Dropout is a training setting, not part of the model: a run may resume with another.
    var saved = try? meta["config"].map(GPTConfig.fromJSON)
    saved?.dropout = gpt.config.dropout
    guard saved?.jsonString() == gpt.config.jsonString(), meta["seed"] == "\(options.seed)",
      meta["batch"] == "\(options.batchSize)" else {
      throw Stage2Error.mismatch("the checkpoint in '\(options.outDir)' was made with another preset, seed, batch size or R quantiser; "
        + "use the same options or a new --out folder")
    }
    try gpt.assign(ts, path: checkpointPath)
    for (k, p) in gpt.parameters.tensors.enumerated() {
      guard let m = ts["adam.m." + p.name!], let v = ts["adam.v." + p.name!] else {
        throw GPTModelFileError.missingTensor(path: checkpointPath, name: "adam.m/v." + p.name!)
      }
      optimizer.m[k] = m.data
      optimizer.v[k] = v.data
    }
    optimizer.step = step
    func values(_ key: String) -> [Float] {
      meta[key].map { $0.split(separator: ",").compactMap { Float(String($0)) } } ?? []
    }
    let highs = values("rSeenMax"), lows = values("rSeenMin")
    if highs.count == rSeenMax.count { rSeenMax = highs }
    // A checkpoint from before session 16 has no minimum: 0 (no lower bound) rather than the minimum
    // of the showers after the resume, which could cut values the earlier steps saw.
    rSeenMin = lows.count == rSeenMin.count ? lows : [Float](repeating: 0, count: rSeenMin.count)
  }
}

/// "1h02m", "3m05s", "12s".
func formatDuration(_ s: Double) -> String {
  guard s.isFinite else { return "?" }
  let t = Int(s.rounded())
  if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
  if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
  return "\(t)s"
}
