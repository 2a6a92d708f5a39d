// `calovq bench train`: throughput of the full stage-1 training step (generator + discriminator
// updates) on toy showers, with the GAN switched on (its steady-state cost), or without it (GAN weight 0).
import CaloGeometry
import CaloModel
import Foundation

/// Result of a training-step benchmark.
public struct Stage1BenchResult: Sendable {
  public var dataset: DatasetKind
  public var norm: NormMode
  public var preset: String
  public var batchSize: Int
  public var steps: Int
  public var generatorParameters: Int
  /// Did the timed steps run the GAN passes (`Stage1Config.trainsGAN`; a GAN weight of 0 skips them)?
  public var trainsGAN: Bool
  public var secondsPerStep: Double
  /// Training showers per second (batch / seconds per step).
  public var showersPerSecond: Double { Double(batchSize) / secondsPerStep }
}

/// Times `steps` training steps (after `warmup` untimed ones) of `preset` on toy showers.
public func benchStage1Train(dataset: DatasetKind, norm: NormMode? = nil, preset: String, batchSize: Int? = nil,
                             steps: Int = 3, warmup: Int = 1, seed: UInt64 = 1337, discWeight: Float? = nil) throws -> Stage1BenchResult {
  var config = try Stage1Presets.config(dataset: dataset, norm: norm, preset: preset)
  if let b = batchSize { config.batchSize = b }
  if let w = discWeight { config.discWeight = w }
  let trainer = Stage1Trainer(model: Stage1Model(config: config, seed: seed), seed: seed)
  trainer.setBatchesDone(config.discStart)   // global_step 2b > disc_start: GAN terms on, if it has a weight
  let (e, s) = Stage1ToyShowers.make(dataset, count: config.batchSize, seed: seed)
  for _ in 0..<warmup { _ = trainer.step(energies: e, showers: s) }
  let t0 = Date()
  for _ in 0..<steps { _ = trainer.step(energies: e, showers: s) }
  let dt = Date().timeIntervalSince(t0) / Double(max(steps, 1))
  return Stage1BenchResult(dataset: dataset, norm: config.norm, preset: preset, batchSize: config.batchSize, steps: steps,
                           generatorParameters: trainer.model.generator.scalarCount, trainsGAN: config.trainsGAN, secondsPerStep: dt)
}
