import ArgumentParser
import CaloGeometry
import CaloModel
import CaloPipeline
import Foundation

/// `calovq train ...`: stage 1 (VQ-VAE + discriminator) and stage 2 (GPT).
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train", abstract: "Train the Calo-VQ stages.",
    subcommands: [TrainStage1Command.self, TrainStage2Command.self])
}

/// Parses --norm.
func parseNorm(_ s: String?) throws -> NormMode? {
  guard let s else { return nil }
  guard let n = NormMode(rawValue: s) else { throw ValidationError("unknown --norm '\(s)'; use global or layerwise") }
  return n
}

func formatDuration(_ s: Double) -> String {
  let t = Int(s.rounded())
  return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", (t % 3600) / 60))m" : "\(t / 60)m\(String(format: "%02d", t % 60))s"
}

struct TrainStage1Command: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stage1",
    abstract: "Train the stage-1 VQ-VAE with discriminator (Ctrl-C: finish the batch, checkpoint, exit).",
    discussion: """
      Writes OUT/checkpoint.safetensors every --checkpoint-every batches and at exit, and \
      OUT/stage1.safetensors (the model with its config) at the end. --resume continues exactly.
      """)

  @Option(help: "Dataset: ds1-photon, ds1-pion, ds2, ds3.") var dataset: String
  @Option(help: "Normalisation: global or layerwise (default: the reference's, ds1 layerwise, ds2/ds3 global).")
  var norm: String?
  @Option(help: "Preset: paper, sample or tiny.") var preset: String = "sample"
  @Option(help: "Training showers (CaloChallenge HDF5).") var data: String
  @Option(help: "Validation showers (HDF5), evaluated after every epoch.") var val: String?
  @Option(help: "Output folder.") var out: String
  @Option(help: "Epochs to train (default 10 unless --steps is given).") var epochs: Int?
  @Option(help: "Total batches to train.") var steps: Int?
  @Option(help: "Seed of initialisation, shuffling and augmentations.") var seed: UInt64 = 1337
  @Option(help: "Checkpoint every N batches.") var checkpointEvery: Int = 200
  @Option(help: "Use only the first N training showers.") var limit: Int?
  @Option(help: "Validation showers to use.") var valLimit: Int = 2000
  @Option(help: "Override the preset's batch size.") var batchSize: Int?
  @Option(help: "Print a progress line every N batches.") var logEvery: Int = 10
  @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
  @Flag(help: "Write the final model file in float16 (half the size).") var float16 = false
  @Flag(help: "ds1: He-uniform init with zero biases in the hidden ReLU layers instead of PyTorch's defaults.")
  var heInit = false
  @Option(help: "Override the preset's energy-centre loss weight (ds1-photon paper: 0.1).") var ecWeight: Float?
  @Option(help: "Override the preset's width loss weight (ds1-photon paper: 0.1).") var widthWeight: Float?
  @Option(help: "Global normalisation: weight of a per-layer log-energy loss (our addition, off by default; the bundled ds1-photon-global used 0.3).")
  var layerEnergyWeight: Float?
  @Option(help: "ds2/ds3: weight of a log-energy loss on each radial bin's whole-shower energy (our addition, off by default); keeps the outer radial channels alive next to --layer-energy-weight.")
  var radialEnergyWeight: Float?
  @Option(help: "Override the preset's GAN weight (ds1 paper: 0.1; multiplies the adaptive weight).") var discWeight: Float?
  @Option(help: "Start from the weights of this stage-1 model or checkpoint (new optimiser and counters; the overrides apply).")
  var initFrom: String?
  @Flag(help: "Train only the decoder of the --init-from model: encoder and codebook stay fixed, so every shower keeps its codes and a stage-2 GPT trained on them stays valid.")
  var decoderOnly = false
  @Option(help: "Override the preset's learning rate (e.g. lower for a fine-tune).") var lr: Float?

  func validate() throws {
    if let e = epochs, e <= 0 { throw ValidationError("--epochs must be positive") }
    if let s = steps, s <= 0 { throw ValidationError("--steps must be positive") }
    if checkpointEvery <= 0 || logEvery <= 0 { throw ValidationError("--checkpoint-every and --log-every must be positive") }
    if let b = batchSize, b <= 0 { throw ValidationError("--batch-size must be positive") }
    for (name, w) in [("--ec-weight", ecWeight), ("--width-weight", widthWeight), ("--disc-weight", discWeight),
                      ("--layer-energy-weight", layerEnergyWeight), ("--radial-energy-weight", radialEnergyWeight)] {
      if let w, !(w >= 0 && w.isFinite) { throw ValidationError("\(name) must be a finite number ≥ 0 (0 turns the loss off)") }
    }
    if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a finite number > 0") }
    if resume && (heInit || ecWeight != nil || widthWeight != nil || discWeight != nil || layerEnergyWeight != nil || radialEnergyWeight != nil
                  || initFrom != nil || decoderOnly || lr != nil) {
      throw ValidationError("--he-init, --ec-weight, --width-weight, --disc-weight, --layer-energy-weight, --radial-energy-weight, --init-from, --decoder-only and --lr apply to a new run; a resumed run keeps its checkpoint's settings (drop them with --resume)")
    }
    if heInit && initFrom != nil { throw ValidationError("--he-init initialises fresh weights; --init-from loads them: give one of the two") }
  }

  func run() throws {
    let kind = try parseDataset(dataset)
    let normMode = try parseNorm(norm)
    try reportingErrors {
      var o = Stage1TrainOptions(dataset: kind, norm: normMode, preset: preset, dataPath: data, valPath: val, outDir: out)
      o.epochs = epochs; o.steps = steps; o.seed = seed; o.checkpointEvery = checkpointEvery
      o.limit = limit; o.valLimit = valLimit; o.batchSize = batchSize; o.resume = resume
      o.modelFloat16 = float16
      o.heInit = heInit; o.ecWeight = ecWeight; o.widthWeight = widthWeight; o.discWeight = discWeight; o.initFrom = initFrom
      o.layerEnergyWeight = layerEnergyWeight
      o.radialEnergyWeight = radialEnergyWeight
      o.decoderOnly = decoderOnly; o.learningRate = lr
      let job = try Stage1TrainingJob(options: o)
      let c = job.model.config
      print("stage 1: \(c.dataset.rawValue) \(c.norm.rawValue) preset \(c.preset): generator \(job.model.generator.scalarCount) "
        + "/ discriminator \(job.model.discriminator.scalarCount) parameters, latent \(job.model.latentShape), K \(c.codebookSize), "
        + "D \(c.codeDim)\(c.trainsDecoderOnly ? ", decoder only (codes fixed)" : ""); \(job.batchesPerEpoch) batches of \(c.batchSize) per epoch, \(job.plannedBatches) planned"
        + (resume ? ", resuming at batch \(job.trainer.batchesDone)" : ""))
      let stop = StopFlag()
      signal(SIGINT, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
      src.setEventHandler {
        if stop.raise() > 1 { FileHandle.standardError.write(Data("interrupted twice: exiting without a checkpoint\n".utf8)); Foundation.exit(130) }
        FileHandle.standardError.write(Data("stopping after this batch (Ctrl-C again to abort)...\n".utf8))
      }
      src.resume()
      var wasStopped = false
      try job.run(shouldStop: { stop.isRaised }) { ev in
        switch ev {
        case let .step(epoch, batch, perEpoch, total, st, usage, spb, eta):
          guard total % logEvery == 0 || batch == 1 else { return }
          print(String(format: "epoch %d [%d/%d] batch %d | rec %.5g q %.4g g %.4g λ %.3g d %.4g%@ | codes %d/%d ppl %.1f dead %d | %.2f s/batch ETA %@",
                       epoch + 1, batch, perEpoch, total, st.rec, st.qLoss, st.gLoss, st.lambda, st.dLoss,
                       (c.ecWeight > 0 ? String(format: " ec %.3g w %.3g", st.ec, st.width) : "")
                         + (c.layerEnergyLossWeight > 0 ? String(format: " le %.3g", st.layerEnergy) : "")
                         + (c.radialEnergyLossWeight > 0 ? String(format: " re %.3g", st.radialEnergy) : ""),
                       usage.used, c.codebookSize, usage.perplexity, usage.dead, spb, formatDuration(eta ?? 0)))
        case let .validation(epoch, rec, q, le, usage, n):
          print(String(format: "validation epoch %d (%d showers): rec %.5g q %.4g%@ | codes %d/%d ppl %.1f dead %d",
                       epoch + 1, n, rec, q, le.map { String(format: " le %.4g", $0) } ?? "",
                       usage.used, c.codebookSize, usage.perplexity, usage.dead))
        case let .checkpoint(path): print("checkpoint: \(path)")
        case let .stopped(b):
          wasStopped = true
          print("stopped after batch \(b); continue with the same command plus --resume")
        case let .finished(path, b, secs): print("done: \(b) batches in \(formatDuration(secs)); model: \(path)")
        }
        fflush(nil)  // flush all streams (stdout is not concurrency-safe to name in Swift 6)
      }
      src.cancel()
      // A stopped run still wrote its (partial) model file; the exit status tells scripts it is unfinished.
      if wasStopped { throw ExitCode(130) }
    }
  }
}

/// `calovq bench train`: stage-1 training-step throughput.
struct BenchTrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train", abstract: "Stage-1 training step throughput (generator + discriminator, GAN on) on toy showers.",
    discussion: "--disc-weight 0 times a run without the GAN (`calovq train stage1 --disc-weight 0`), which skips both GAN passes.")
  @Option(help: "Dataset.") var dataset: String = "ds1-photon"
  @Option(help: "Normalisation (global/layerwise).") var norm: String?
  @Option(help: "Preset.") var preset: String = "paper"
  @Option(help: "Batch size (default: the preset's).") var batchSize: Int?
  @Option(help: "Timed steps.") var steps: Int = 3
  @Option(help: "GAN weight (default: the preset's; 0 = no GAN).") var discWeight: Float?

  func run() throws {
    let kind = try parseDataset(dataset)
    let n = try parseNorm(norm)
    try reportingErrors {
      if let w = discWeight, !(w >= 0 && w.isFinite) { throw CLIError.badArgument("--disc-weight must be ≥ 0") }
      let r = try benchStage1Train(dataset: kind, norm: n, preset: preset, batchSize: batchSize, steps: steps, discWeight: discWeight)
      print(String(format: "stage-1 train step %@ %@ preset %@ (generator %d params), batch %d, %@: %.3f s/step, %.0f showers/s",
                   r.dataset.rawValue, r.norm.rawValue, r.preset, r.generatorParameters, r.batchSize,
                   r.trainsGAN ? "GAN on" : "no GAN", r.secondsPerStep, r.showersPerSecond))
    }
  }
}
