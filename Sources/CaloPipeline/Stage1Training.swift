// `calovq train stage1`: the stage-1 training loop around CaloModel's Stage1Trainer — data loading
// (ds1 noise), seeded epoch shuffles and augmentations, progress with codebook statistics,
// validation each epoch, checkpoints every N batches and on request to stop, exact resume.
// Everything random derives from (seed, epoch) or (seed, batch), so a checkpoint only needs the
// counters to continue bit-identically.
import CaloData
import CaloGeometry
import CaloModel
import CaloTensor
import Foundation

/// Options of a stage-1 training run.
public struct Stage1TrainOptions: Sendable {
  public var dataset: DatasetKind
  /// nil: the dataset's reference normalisation (ds1 layer-wise, ds2/ds3 global).
  public var norm: NormMode?
  public var preset: String
  public var dataPath: String
  public var valPath: String?
  public var outDir: String
  /// Stop after this many epochs (default 10 when neither epochs nor steps is given).
  public var epochs: Int?
  /// Stop after this many batches in total.
  public var steps: Int?
  public var seed: UInt64 = 1337
  /// Write a checkpoint every this many batches.
  public var checkpointEvery: Int = 200
  /// Use at most this many training / validation showers (nil: all / 2000).
  public var limit: Int?
  public var valLimit: Int = 2000
  /// Override the preset's batch size.
  public var batchSize: Int?
  /// Continue from `outDir/checkpoint.safetensors`.
  public var resume: Bool = false
  /// Write the final model file in float16 (half the size; checkpoints stay float32).
  public var modelFloat16: Bool = false
  /// Overrides of the preset for a new run (ignored on resume: the checkpoint's config wins).
  public var heInit: Bool = false
  public var ecWeight: Float?
  public var widthWeight: Float?
  /// Per-layer energy loss weight (global normalisation only; see `Stage1Config.layerEnergyWeight`).
  public var layerEnergyWeight: Float?
  /// Radial energy loss weight (ds2/ds3 only; see `Stage1Config.radialEnergyWeight`).
  public var radialEnergyWeight: Float?
  public var discWeight: Float?
  /// Train only the decoder (and discriminator) of the `initFrom` model; every shower keeps its
  /// codes (see `Stage1Config.decoderOnly`).
  public var decoderOnly: Bool = false
  /// Override the preset's (or the `initFrom` model's) learning rate.
  public var learningRate: Float?
  /// Start a new run from the weights of this stage-1 model or checkpoint (its architecture and
  /// settings, with the overrides above) instead of a fresh initialisation; optimiser state and
  /// counters start afresh.
  public var initFrom: String?

  public init(dataset: DatasetKind, norm: NormMode? = nil, preset: String, dataPath: String, valPath: String? = nil,
              outDir: String) {
    self.dataset = dataset
    self.norm = norm
    self.preset = preset
    self.dataPath = dataPath
    self.valPath = valPath
    self.outDir = outDir
  }
}

/// Codebook statistics over a set of codes (§3: logged only).
public struct CodebookUsage: Sendable {
  /// Codes used at least once.
  public var used: Int
  /// K − used.
  public var dead: Int
  /// exp(−Σ p log(p + 1e-10)) of the code frequencies.
  public var perplexity: Double

  public init(counts: [Int]) {
    let total = Double(max(counts.reduce(0, +), 1))
    used = counts.filter { $0 > 0 }.count
    dead = counts.count - used
    perplexity = exp(-counts.reduce(0.0) { let p = Double($1) / total; return $0 + p * log(p + 1e-10) })
  }
}

/// What the loop reports.
public enum Stage1Event: Sendable {
  /// After a batch: epoch, batch within epoch, batches per epoch, batches done in total, the step's
  /// losses, codebook usage over this epoch so far, seconds per batch (running mean) and ETA seconds.
  case step(epoch: Int, batch: Int, perEpoch: Int, total: Int, stats: Stage1StepStats, usage: CodebookUsage,
            secondsPerBatch: Double, eta: Double?)
  /// `layerEnergy`: the held-out per-layer energy loss, nil when the model does not train it.
  case validation(epoch: Int, rec: Double, qLoss: Double, layerEnergy: Double?, usage: CodebookUsage, showers: Int)
  case checkpoint(path: String)
  case stopped(batches: Int)
  case finished(modelPath: String, batches: Int, seconds: Double)
}

/// Problems a user can fix.
public enum Stage1JobError: Error, CustomStringConvertible {
  case checkpointExists(String)
  case noCheckpoint(String)
  case mismatch(String)
  case tooFewShowers(have: Int, batch: Int)
  case layerEnergyNeedsGlobal
  case radialEnergyNeedsConv
  case decoderOnlyNeedsInit

  public var description: String {
    switch self {
    case let .checkpointExists(p):
      return "'\(p)' already holds a checkpoint; pass --resume to continue it or choose another --out folder."
    case let .noCheckpoint(p): return "--resume given but '\(p)' does not exist; drop --resume to start a new run."
    case let .mismatch(s): return "the checkpoint does not match the options: \(s). Use the original options or another --out."
    case let .tooFewShowers(have, batch):
      return "the training file has \(have) showers, fewer than one batch of \(batch); give more data or a smaller --batch-size."
    case .layerEnergyNeedsGlobal:
      return "--layer-energy-weight applies to global normalisation: a layer-wise model's R already fixes each layer's energy. Drop it or use --norm global."
    case .radialEnergyNeedsConv:
      return "--radial-energy-weight applies to ds2 and ds3, whose layers share one radial binning; ds1's layers bin radius differently. Drop it for ds1."
    case .decoderOnlyNeedsInit:
      return "--decoder-only refits the decoder of an existing model and keeps its codes; give that model with --init-from (a fresh encoder would fix random codes)."
    }
  }
}

/// A stage-1 training run: construct (loads data, builds or resumes the model), then `run`.
/// The training showers are held in memory (10k ds3 showers ≈ 1.6 GB; use `limit` to cap).
public final class Stage1TrainingJob {
  public let options: Stage1TrainOptions
  public let trainer: Stage1Trainer
  public var model: Stage1Model { trainer.model }
  let energies: [Double]
  let showers: [Float]
  let val: (energies: [Double], showers: [Float])?
  var epoch = 0, batchInEpoch = 0
  var elapsedBefore = 0.0

  public var checkpointPath: String { (options.outDir as NSString).appendingPathComponent("checkpoint.safetensors") }
  public var modelPath: String { (options.outDir as NSString).appendingPathComponent("stage1.safetensors") }

  public init(options: Stage1TrainOptions) throws {
    self.options = options
    let ckpt = (options.outDir as NSString).appendingPathComponent("checkpoint.safetensors")
    let exists = FileManager.default.fileExists(atPath: ckpt)
    if options.decoderOnly && options.initFrom == nil { throw Stage1JobError.decoderOnlyNeedsInit }
    if exists && !options.resume { throw Stage1JobError.checkpointExists(ckpt) }
    if !exists && options.resume { throw Stage1JobError.noCheckpoint(ckpt) }
    if options.resume {
      let (t, state) = try Stage1Trainer.loadCheckpoint(from: ckpt)
      guard t.model.config.dataset == options.dataset else {
        throw Stage1JobError.mismatch("checkpoint is \(t.model.config.dataset.rawValue), --dataset is \(options.dataset.rawValue)")
      }
      trainer = t
      let s = (try? JSONSerialization.jsonObject(with: Data(state.utf8))) as? [String: Any] ?? [:]
      epoch = s["epoch"] as? Int ?? 0
      batchInEpoch = s["batchInEpoch"] as? Int ?? 0
      elapsedBefore = s["elapsed"] as? Double ?? 0
      if let seed = s["seed"] as? Int, UInt64(seed) != options.seed {
        throw Stage1JobError.mismatch("checkpoint seed \(seed), --seed \(options.seed)")
      }
    } else {
      func override(_ config: inout Stage1Config) {
        if let b = options.batchSize { config.batchSize = b }
        if let w = options.ecWeight { config.ecWeight = w }
        if let w = options.widthWeight { config.widthWeight = w }
        if let w = options.layerEnergyWeight { config.layerEnergyWeight = w }
        if let w = options.radialEnergyWeight { config.radialEnergyWeight = w }
        if let w = options.discWeight { config.discWeight = w }
        if let lr = options.learningRate { config.learningRate = lr }
        // Describes this run only: a full run from a refitted decoder trains (and changes) the codes again.
        config.decoderOnly = options.decoderOnly ? true : nil
      }
      if let start = options.initFrom {
        let m = try Stage1Model.load(from: start, adjusting: override)
        guard m.config.dataset == options.dataset else {
          throw Stage1JobError.mismatch("'\(start)' is a \(m.config.dataset.rawValue) model, --dataset is \(options.dataset.rawValue)")
        }
        if let n = options.norm, n != m.config.norm {
          throw Stage1JobError.mismatch("'\(start)' uses \(m.config.norm) normalisation, --norm asks for \(n)")
        }
        trainer = Stage1Trainer(model: m, seed: options.seed)
      } else {
        var config = try Stage1Presets.config(dataset: options.dataset, norm: options.norm, preset: options.preset)
        override(&config)
        if options.heInit { config.heInit = true }
        trainer = Stage1Trainer(model: Stage1Model(config: config, seed: options.seed), seed: options.seed)
      }
    }
    let config = trainer.model.config
    if config.layerEnergyLossWeight > 0 && config.norm == .layerwise { throw Stage1JobError.layerEnergyNeedsGlobal }
    if config.radialEnergyLossWeight > 0 && config.isHybrid { throw Stage1JobError.radialEnergyNeedsConv }
    let reader = try ShowerFileReader(path: options.dataPath, expected: options.dataset)
    let n = min(options.limit ?? reader.count, reader.count)
    guard n >= config.batchSize else { throw Stage1JobError.tooFewShowers(have: n, batch: config.batchSize) }
    let batch = try reader.read(from: 0, count: n)
    energies = batch.energies
    var s = batch.showers
    if config.noiseKeV > 0 {   // once at load time, training set only (§1.1); same seed ⇒ same noise
      var rng = RNG(seed: options.seed ^ 0x4E4F_4953_4500)
      Stage1Preprocessing.addNoise(&s, keV: config.noiseKeV, rng: &rng)
    }
    showers = s
    if let vp = options.valPath {
      let vr = try ShowerFileReader(path: vp, expected: options.dataset)
      let vb = try vr.read(from: 0, count: min(options.valLimit, vr.count))
      val = (vb.energies, vb.showers)
    } else {
      val = nil
    }
    // Created last, once every option and input has been checked: a refused run leaves no empty folder.
    try FileManager.default.createDirectory(atPath: options.outDir, withIntermediateDirectories: true)
  }

  /// Batches per epoch (drop_last).
  public var batchesPerEpoch: Int { energies.count / model.config.batchSize }

  /// Total batches this run trains to (counted from the start of training, not from a resume).
  public var plannedBatches: Int {
    if let s = options.steps { return options.epochs.map { min(s, $0 * batchesPerEpoch) } ?? s }
    return (options.epochs ?? 10) * batchesPerEpoch
  }

  /// The shuffled shower order of `epoch`.
  func permutation(_ epoch: Int) -> [Int] {
    var rng = RNG(seed: options.seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
    var p = Array(0..<energies.count)
    for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, rng.int(below: i + 1)) }
    return p
  }

  func stateJSON(elapsed: Double) -> String {
    "{\"epoch\":\(epoch),\"batchInEpoch\":\(batchInEpoch),\"seed\":\(options.seed),\"elapsed\":\(elapsed)}"
  }

  /// Writes the checkpoint (and reports it).
  func writeCheckpoint(elapsed: Double, _ report: (Stage1Event) -> Void) throws {
    try trainer.saveCheckpoint(to: checkpointPath, state: stateJSON(elapsed: elapsed))
    report(.checkpoint(path: checkpointPath))
  }

  /// Trains until the planned batches are done or `shouldStop()` returns true (checked after every
  /// batch: the batch finishes, a checkpoint and the model file are written, then it returns).
  public func run(shouldStop: () -> Bool = { false }, report: (Stage1Event) -> Void) throws {
    let config = model.config
    let bs = config.batchSize, p = config.voxels
    let pre = model.preprocessing
    let start = Date()
    var usageCounts = [Int](repeating: 0, count: config.codebookSize)
    var timed = 0
    var order = permutation(epoch)
    func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(start) }
    while trainer.batchesDone < plannedBatches {
      if batchInEpoch >= batchesPerEpoch {
        if let v = val { report(validate(v, epoch: epoch)) }
        epoch += 1; batchInEpoch = 0
        order = permutation(epoch)
        usageCounts = [Int](repeating: 0, count: config.codebookSize)
      }
      let idx = order[(batchInEpoch * bs)..<((batchInEpoch + 1) * bs)]
      var e = [Double](), s = [Float]()
      e.reserveCapacity(bs); s.reserveCapacity(bs * p)
      for i in idx { e.append(energies[i]); s += showers[(i * p)..<((i + 1) * p)] }
      var rng = RNG(seed: options.seed ^ (UInt64(trainer.batchesDone + 1) &* 0xD1B5_4A32_D192_ED03))
      pre.augment(&s, roll: config.rollAugment, flip: config.flipAugment, rng: &rng)
      let stats = trainer.step(energies: e, showers: s)
      timed += 1
      let dt = Date().timeIntervalSince(start) / Double(timed)
      for c in stats.codes { usageCounts[c] += 1 }
      batchInEpoch += 1
      let remaining = plannedBatches - trainer.batchesDone
      report(.step(epoch: epoch, batch: batchInEpoch, perEpoch: batchesPerEpoch, total: trainer.batchesDone, stats: stats,
                   usage: CodebookUsage(counts: usageCounts), secondsPerBatch: dt, eta: Double(remaining) * dt))
      if shouldStop() {
        try writeCheckpoint(elapsed: elapsed(), report)
        try model.save(to: modelPath, float16: options.modelFloat16)
        report(.stopped(batches: trainer.batchesDone))
        return
      }
      if trainer.batchesDone % options.checkpointEvery == 0 { try writeCheckpoint(elapsed: elapsed(), report) }
    }
    if batchInEpoch >= batchesPerEpoch, let v = val { report(validate(v, epoch: epoch)) }
    try writeCheckpoint(elapsed: elapsed(), report)
    try model.save(to: modelPath, float16: options.modelFloat16)
    report(.finished(modelPath: modelPath, batches: trainer.batchesDone, seconds: elapsed()))
  }

  /// Validation losses over the validation showers (codebook path, no augmentation, no noise).
  func validate(_ v: (energies: [Double], showers: [Float]), epoch: Int) -> Stage1Event {
    let bs = model.config.batchSize, p = model.config.voxels
    var rec = 0.0, q = 0.0, le = 0.0, n = 0
    var counts = [Int](repeating: 0, count: model.config.codebookSize)
    var i = 0
    while i < v.energies.count {
      let j = min(v.energies.count, i + bs)
      let st = model.validate(energies: Array(v.energies[i..<j]), showers: Array(v.showers[(i * p)..<(j * p)]))
      rec += Double(st.rec) * Double(j - i); q += Double(st.qLoss) * Double(j - i); n += j - i
      le += Double(st.layerEnergy) * Double(j - i)
      for c in st.codes { counts[c] += 1 }
      i = j
    }
    let trainsLayerEnergy = model.config.layerEnergyLossWeight > 0
    return .validation(epoch: epoch, rec: rec / Double(max(n, 1)), qLoss: q / Double(max(n, 1)),
                       layerEnergy: trainsLayerEnergy ? le / Double(max(n, 1)) : nil, usage: CodebookUsage(counts: counts), showers: n)
  }
}
