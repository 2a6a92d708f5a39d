import ArgumentParser
import CaloPipeline
import Dispatch
import Foundation

/// `calovq train stage2`. At merge time this belongs in the `train` group of TrainCommand.swift;
/// `TrainStage2Group` below only exists so this branch can run it on its own.
struct TrainStage2Command: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stage2",
    abstract: "Train the stage-2 GPT on codes of a frozen stage-1 model.",
    discussion: """
      Writes OUT/checkpoint.safetensors every --checkpoint-every steps and at exit (Ctrl-C finishes \
      the current step, then saves), OUT/stage2.safetensors, and copies the stage-1 model to \
      OUT/stage1.safetensors so OUT is a complete model folder for `calovq generate`. Afterwards \
      `calovq fit-r-support OUT --data FILE --empty-rates 6` records the R digits training used per \
      energy and fits the empty-layer rates (what the bundled ds2 and ds3 layer-wise models use).
      """)

  @Option(help: "Stage-1 model file (stage1.safetensors).") var stage1: String
  @Option(help: "Training file (CaloChallenge HDF5).") var data: String
  @Option(help: "Output folder.") var out: String
  @Option(help: "GPT preset: paper, sample or large.") var preset = "paper"
  @Option(help: "Epochs to train.") var epochs: Int?
  @Option(help: "Total optimiser steps to reach.") var steps: Int?
  @Option(help: "Showers per step.") var batchSize = 256
  @Option(help: "Adam learning rate.") var lr: Float = 7.68e-4
  @Option(help: "Random seed.") var seed: UInt64 = 1337
  @Option(help: "Use only the first N showers of the file.") var maxShowers: Int?
  @Option(help: "Progress line every N steps.") var logEvery = 10
  @Option(help: "Checkpoint every N steps.") var checkpointEvery = 500
  @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
  @Option(help: ArgumentHelp(
    "R quantiser: linear (the reference), log (levels even in log R from --r-log-min to rMax) or log-layers (log for the layer ratios, linear for the total).",
    discussion: "log keeps small layer energies, e.g. a pion's MIP in the first layers at TeV energies; log-layers also keeps the total's leading digit fine (0.3 % steps instead of 1.9 %)."))
  var rQuantiser = "linear"
  @Option(help: "Lower end of the log R quantiser; smaller ratios become 0.") var rLogMin = 1e-8
  @Option(help: ArgumentHelp(
    "Layer-wise models: bits of the layer ratios' quantiser (default: the preset's, 20 in two tokens).",
    discussion: "Fewer bits coarsen only the leading digit: 16 gives it 64 levels (36 % wide in R with --r-quantiser log-layers), which a small GPT learns in a handful of classes; the second digit places a value inside its level."))
  var rLayerBits: Int?
  @Option(help: ArgumentHelp(
    "Dropout probability while training (default: the preset's 0.1).",
    discussion: "A training setting only: --resume accepts another value, e.g. 0 for a last pass at a low --lr."))
  var dropout: Float?

  func run() throws {
    try reportingErrors {
      if epochs == nil && steps == nil { throw ValidationError("give --epochs or --steps (training is otherwise unbounded)") }
      guard batchSize >= 1, logEvery >= 1, checkpointEvery >= 1 else { throw ValidationError("--batch-size, --log-every and --checkpoint-every must be ≥ 1") }
      guard ["linear", "log", "log-layers"].contains(rQuantiser) else {
        throw ValidationError("unknown --r-quantiser '\(rQuantiser)'; use linear, log or log-layers")
      }
      guard rLogMin > 0 && rLogMin < 1e-2 else { throw ValidationError("--r-log-min must be in (0, 0.01), got \(rLogMin)") }
      var o = Stage2TrainOptions(dataPath: data, outDir: out)
      o.rLogMin = rQuantiser == "linear" ? nil : rLogMin
      o.rLinearTotal = rQuantiser == "log-layers"
      o.rLayerBits = rLayerBits
      o.dropout = dropout
      o.preset = preset; o.epochs = epochs; o.steps = steps; o.batchSize = batchSize; o.learningRate = lr
      o.seed = seed; o.maxShowers = maxShowers; o.logEvery = logEvery; o.checkpointEvery = checkpointEvery
      o.resume = resume
      let codec = try Stage1Loaders.load(stage1)
      let trainer = try Stage2Trainer(codec: codec, options: o) { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
      let stop = StopFlag()
      signal(SIGINT, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
      src.setEventHandler { stop.stop(); FileHandle.standardError.write(Data("stopping after this step...\n".utf8)) }
      src.resume()
      let summary = try trainer.run(stop: stop)
      src.cancel()
      let dst = out + "/stage1.safetensors"
      let same = URL(fileURLWithPath: stage1).standardizedFileURL == URL(fileURLWithPath: dst).standardizedFileURL
      if !same {
        try? FileManager.default.removeItem(atPath: dst)
        try FileManager.default.copyItem(atPath: stage1, toPath: dst)
      }
      print("model folder \(out): stage1.safetensors + stage2.safetensors (\(summary.steps) steps, "
        + (summary.lastLoss.isNaN ? "no step run now: already at the planned steps)" : "last loss \(summary.lastLoss))"))
      if summary.stopped {
        // The folder holds a usable partial model, but the run is not finished: scripts must not
        // mistake it for a finished one, so the exit status says so (130, as for an interrupt).
        print("stopped before the planned steps; continue with the same command plus --resume")
        throw ExitCode(130)
      }
    }
  }
}
