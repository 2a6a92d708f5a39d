// One stage-1 training step as the reference runs it (calovq_facts.md §4–5): generator update with
// L = L_nll + λ·disc_factor·L_G + q_loss, then a discriminator update on a fresh forward of the
// updated generator. The adaptive weight λ needs ‖∇_w L_nll‖ and ‖∇_w L_G‖ for the decoder's last
// layer w separately; we cut the graph at that layer's input, run the small head twice (once per
// loss) and seed the trunk's backward with h.grad_nll + λ·h.grad_G — one backward of the big part.
import CaloNN
import CaloTensor
import Foundation

/// Loss terms and codebook statistics of one step (or one validation pass).
public struct Stage1StepStats: Sendable {
  /// Reconstruction loss (mean over showers of Σ|Δ| or ΣΔ² in E/E_inc space).
  public var rec: Float = 0
  /// Energy-centre and width losses (unweighted; 0 when their weights are 0).
  public var ec: Float = 0, width: Float = 0
  /// Per-layer log-energy loss (unweighted; 0 when its weight is 0).
  public var layerEnergy: Float = 0
  /// Per-radial-bin log-energy loss (unweighted; 0 when its weight is 0).
  public var radialEnergy: Float = 0
  /// VQ loss (commitment + β·codebook).
  public var qLoss: Float = 0
  /// Generator GAN loss −mean D(fake) (0 before the GAN starts).
  public var gLoss: Float = 0
  /// Adaptive GAN weight λ·disc_factor actually used.
  public var lambda: Float = 0
  /// Discriminator hinge loss (0 before the GAN starts).
  public var dLoss: Float = 0
  /// Codes used by this batch (N·L values).
  public var codes: [Int] = []
  /// Codebook rows replaced by the dead-code restart after this step.
  public var restarted: Int = 0
  /// Encoder latents (N·L rows of D), kept only when dead-code restart is on.
  var latents: [Float] = []
}

/// A batch in the network layouts, with its targets.
struct Stage1Prepared {
  let n: Int
  let cond: Stage1Model.Condition
  /// pixels_R, network layout, unpadded (encoder input).
  let ratios: Tensor
  /// pixels_R in decoder-output layout (ds2 global: Z-padded), the reconstruction target.
  let recTarget: Tensor
  /// R broadcastable against the decoder output.
  let rB: Tensor
  /// True pixels_U in decoder-output layout (discriminator's real input).
  let unitTrue: Tensor
  /// Per-shower floor ε = voxel threshold / E_inc of the layer-energy loss, shaped like its layer sums.
  let layerFloor: Tensor
}

extension Stage1Model {
  /// Preprocesses raw showers (N·P MeV) into network tensors (§1.3).
  func prepare(energies: [Double], showers: [Float]) -> Stage1Prepared {
    let n = energies.count, pre = preprocessing
    let ratiosFlat = pre.ratios(showers: showers, energies: energies)
    let r = pre.rValues(ratios: ratiosFlat)
    let ratios = toNetwork(ratiosFlat, n: n)
    var unit = toNetwork(pre.unitPixels(ratios: ratiosFlat, r: r), n: n)
    var target = ratios
    if decoderOutputPadded {
      target = ratios.padded(axis: 2, before: inputZPad[0], after: inputZPad[1])
      unit = unit.padded(axis: 2, before: inputZPad[0], after: inputZPad[1])
    }
    let rB: Tensor
    switch (config.isHybrid, config.norm) {
    case (true, .layerwise): rB = Tensor([n, config.voxels], data: pre.broadcastR(r, showers: n))
    case (true, .global): rB = Tensor([n, 1], data: r)
    case (false, .global): rB = Tensor([n, 1, 1, 1], data: r)
    case (false, .layerwise): rB = Tensor([n, 1, pre.groupCount, 1], data: r)
    }
    let t = config.dataset.voxelThresholdMeV
    let floor = Tensor(config.isHybrid ? [n, 1] : [n, 1, 1, 1], data: energies.map { Float(t / $0) })
    return Stage1Prepared(n: n, cond: condition(energies), ratios: ratios, recTarget: target, rB: rB, unitTrue: unit,
                          layerFloor: floor)
  }

  /// L_nll = rec + ec_weight·ec + width_weight·width + layer_energy_weight·le + radial_energy_weight·re,
  /// from predicted U (decoder-output layout).
  func nllLoss(_ u: Tensor, _ p: Stage1Prepared, stats: inout Stage1StepStats) -> Tensor {
    let diff = u * p.rB - p.recTarget
    var loss = (config.pixelPower == 1 ? diff.abs() : diff.square()).sum() * (1 / Float(p.n))
    stats.rec = loss.item
    let layerWeight = config.layerEnergyLossWeight, radialWeight = config.radialEnergyLossWeight
    if config.ecWeight > 0 || config.widthWeight > 0 || layerWeight > 0 || radialWeight > 0 {
      var pred = u * p.rB
      if decoderOutputPadded { pred = pred.narrow(axis: 2, start: inputZPad[0], length: pred.shape[2] - inputZPad[0] - inputZPad[1]) }
      if config.ecWeight > 0 || config.widthWeight > 0 {
        let (ec, width) = ecWidthLoss(pred, truth: p.ratios)
        stats.ec = ec.item
        stats.width = width.item
        loss = loss + ec * config.ecWeight + width * config.widthWeight
      }
      if layerWeight > 0 {
        let le = layerEnergyLoss(pred, truth: p.ratios, floor: p.layerFloor)
        stats.layerEnergy = le.item
        loss = loss + le * layerWeight
      }
      if radialWeight > 0 {
        let re = radialEnergyLoss(pred, truth: p.ratios, floor: p.layerFloor)
        stats.radialEnergy = re.item
        loss = loss + re * radialWeight
      }
    }
    return loss
  }

  /// Radial energy loss: mean over showers and radial bins of (ln(Σ_{z,a} pred + ε) − ln(Σ_{z,a} truth + ε))².
  /// pred/truth: E/E_inc in the unpadded conv layout (N, Rb, Z, A), whose channels are the radial
  /// bins; floor ε (N, 1, 1, 1). ds1's hybrid layout has no common radial axis (its layers bin
  /// radius differently), so the option is refused there (`Stage1JobError.radialEnergyNeedsConv`).
  func radialEnergyLoss(_ pred: Tensor, truth: Tensor, floor: Tensor) -> Tensor {
    precondition(!config.isHybrid, "radialEnergyLoss: the ds1 layout has no radial axis")
    return Self.logSumLoss(pred, truth: truth, floor: floor) { $0.sum(axis: 3, keepDim: true).sum(axis: 2, keepDim: true) }
  }

  /// mean((ln(sums(pred) + ε) − ln(sums(truth) + ε))²), the truth side without gradient: the shared
  /// form of the layer- and radial-energy losses, which differ only in what they sum over.
  static func logSumLoss(_ pred: Tensor, truth: Tensor, floor: Tensor, sums: (Tensor) -> Tensor) -> Tensor {
    let t = withNoGrad { (sums(truth) + floor).log() }
    return ((sums(pred) + floor).log() - t).square().mean()
  }

  /// Per-layer energy loss: mean over showers and layers of (ln(Σ_l pred + ε) − ln(Σ_l truth + ε))².
  /// pred/truth: E/E_inc in the unpadded network layout, ds1 (N, P) or conv (N, Rb, Z, A); floor ε
  /// (N, 1) or (N, 1, 1, 1). ds1 sums the relevant layers' voxel ranges (`layerIndicator`); the
  /// conv layouts sum over radius and angle, leaving one value per Z layer.
  func layerEnergyLoss(_ pred: Tensor, truth: Tensor, floor: Tensor) -> Tensor {
    if let indicator = layerIndicator {
      return Self.logSumLoss(pred, truth: truth, floor: floor) { $0.matmul(indicator) }
    }
    return Self.logSumLoss(pred, truth: truth, floor: floor) { $0.sum(axis: 3, keepDim: true).sum(axis: 1, keepDim: true) }
  }

  /// ds1: (P, L) matrix with 1 where voxel p lies in relevant layer l (built once, with the model).
  static func makeLayerIndicator(_ config: Stage1Config) -> Tensor {
    let geo = config.dataset.geometry, layers = geo.relevantLayerIndices, p = config.voxels
    var m = [Float](repeating: 0, count: p * layers.count)
    for (j, l) in layers.enumerated() {
      for v in geo.offsets[l]..<geo.offsets[l + 1] { m[v * layers.count + j] = 1 }
    }
    return Tensor([p, layers.count], data: m)
  }

  /// EC and width losses of §4.3 on E/E_inc (E_inc cancels in these ratios). ds1: one group per
  /// shower; ds2/ds3: one group per Z layer. pred/truth in the unpadded network layout.
  func ecWidthLoss(_ pred: Tensor, truth: Tensor) -> (ec: Tensor, width: Tensor) {
    let hybrid = config.isHybrid
    func groupSum(_ t: Tensor) -> Tensor {
      hybrid ? t.sum(axis: 1, keepDim: true) : t.sum(axis: 3, keepDim: true).sum(axis: 1, keepDim: true)
    }
    let eta = ecGrid.eta, phi = ecGrid.phi
    func moments(_ x: Tensor, floor: Float) -> [Tensor] {
      let s = groupSum(x) + 1e-16
      let ce = groupSum(x * eta) / s, cp = groupSum(x * phi) / s
      let fl = Tensor([1], data: [floor])
      let we = Tensor.maximum(groupSum(x * (eta * eta)) / s - ce.square(), fl).sqrt()
      let wp = Tensor.maximum(groupSum(x * (phi * phi)) / s - cp.square(), fl).sqrt()
      return [ce, cp, we, wp]
    }
    let t = withNoGrad { moments(truth, floor: 0) }
    let m = moments(pred, floor: 1e-16)
    let ec = ((m[0] - t[0]).square().mean() + (m[1] - t[1]).square().mean()) * 0.5
    let width = ((m[2] - t[2]).square().mean() + (m[3] - t[3]).square().mean()) * 0.5
    return (ec, width)
  }

  /// Generator gradients of one batch, left in the generator's `grad`s (after `zeroGrad`).
  /// `discOn` is disc_factor = 1 (global_step > disc_start).
  func generatorGradients(_ p: Stage1Prepared, discOn: Bool) -> Stage1StepStats {
    var stats = Stage1StepStats()
    generator.zeroGrad()
    // Stage A: encoder → VQ → decoder trunk, recorded once.
    let z = pointwise(encodeLatent(p.ratios, p.cond), quantW, quantB)
    let rows = latentRows(z)
    let q = vq(rows)
    stats.qLoss = q.loss.item
    stats.codes = q.indices
    if config.restartsDeadCodes { stats.latents = rows.data }
    let trunk = decoderTrunk(latentGrid(q.quantized, n: p.n), p.cond)
    // Stage B1: the head on a leaf copy of the trunk output, for L_nll.
    let h1 = Tensor(trunk.shape, data: trunk.data, requiresGrad: true)
    nllLoss(decoderHead(h1), p, stats: &stats).backward()
    var seed = h1.grad ?? [Float](repeating: 0, count: trunk.count)
    if discOn {
      let heads = headParameters, w = lastLayerWeight
      let gNLL = heads.map { $0.grad }
      let nNLL = l2norm(w.grad)
      for t in heads { t.zeroGrad() }
      // Stage B2: the head again, for L_G; the discriminator is frozen (no weight gradients).
      for t in discriminator.tensors { t.requiresGrad = false }
      let h2 = Tensor(trunk.shape, data: trunk.data, requiresGrad: true)
      let gLoss = -discriminate(decoderHead(h2), p.cond).mean()
      gLoss.backward()
      for t in discriminator.tensors { t.requiresGrad = true }
      stats.gLoss = gLoss.item
      let lambda = Swift.min(Swift.max(nNLL / (l2norm(w.grad) + 1e-4), 0), 1e4) * config.discWeight
      stats.lambda = lambda
      for (t, g1) in zip(heads, gNLL) {
        var g = t.grad ?? [Float](repeating: 0, count: t.count)
        for i in g.indices { g[i] = (g1?[i] ?? 0) + lambda * g[i] }
        t.grad = g
      }
      if let g2 = h2.grad { for i in seed.indices { seed[i] += lambda * g2[i] } }
    }
    // Stage A backward: trunk seeded with dL/dh, plus the VQ loss (codebook weight 1).
    ((trunk * Tensor(trunk.shape, data: seed)).sum() + q.loss).backward()
    return stats
  }

  /// Discriminator hinge loss gradients on real U and a fresh (no-grad) reconstruction.
  func discriminatorGradients(_ p: Stage1Prepared) -> Float {
    discriminator.zeroGrad()
    let fake = withNoGrad { reconstructUnit(p) }
    let real = discriminate(p.unitTrue, p.cond), fk = discriminate(fake, p.cond)
    let loss = ((1 - real).relu().mean() + (1 + fk).relu().mean()) * 0.5
    loss.backward()
    return loss.item
  }

  /// Full forward with codebook lookup (validation path): U in decoder-output layout.
  func reconstructUnit(_ p: Stage1Prepared) -> Tensor {
    let z = pointwise(encodeLatent(p.ratios, p.cond), quantW, quantB)
    let idx = nearestCodes(latentRows(z), codebook: vq.codebook)
    let zq = latentGrid(Tensor.embedding(vq.codebook, indices: idx, indexShape: [idx.count]), n: p.n)
    return decoderHead(decoderTrunk(zq, p.cond))
  }

  /// Validation losses of a batch (codebook-lookup path, λ = 0, no recording).
  public func validate(energies: [Double], showers: [Float]) -> Stage1StepStats {
    withNoGrad {
      let p = prepare(energies: energies, showers: showers)
      var stats = Stage1StepStats()
      let z = pointwise(encodeLatent(p.ratios, p.cond), quantW, quantB)
      let q = vq(latentRows(z))
      stats.qLoss = q.loss.item
      stats.codes = q.indices
      _ = nllLoss(decoderHead(decoderTrunk(latentGrid(q.quantized, n: p.n), p.cond)), p, stats: &stats)
      return stats
    }
  }
}

func l2norm(_ g: [Float]?) -> Float {
  guard let g else { return 0 }
  var s = 0.0
  for v in g { s += Double(v) * Double(v) }
  return Float(s.squareRoot())
}

/// The two optimisers and the step counter of stage-1 training.
public final class Stage1Trainer {
  public let model: Stage1Model
  public let optG: Adam, optD: Adam
  /// Batches trained so far (Lightning's global_step is twice this: two optimiser steps per batch).
  public private(set) var batchesDone = 0
  /// Seed of the dead-code restart draws (the draw of batch b uses RNG(seed ^ b-derived)).
  public let seed: UInt64
  /// Batch index at which each code was last used (dead-code restart bookkeeping).
  public internal(set) var lastUsed: [Int]

  public init(model: Stage1Model, seed: UInt64 = 0) {
    self.model = model
    self.seed = seed
    lastUsed = [Int](repeating: 0, count: model.config.codebookSize)
    let c = model.config
    optG = Adam(model.generator, lr: c.learningRate, betas: (c.betas[0], c.betas[1]))
    optD = Adam(model.discriminator, lr: c.learningRate, betas: (c.betas[0], c.betas[1]))
    if c.trainsDecoderOnly {
      // Frozen tensors get no gradient, and Adam skips a tensor without one.
      for t in model.codeFixingTensors { t.requiresGrad = false }
    }
  }

  /// One training batch (already augmented): generator step at global_step 2b, discriminator step
  /// at 2b+1; the GAN terms are on when that global_step > disc_start (§4.4, quirk 6). With a GAN
  /// weight of 0 (`--disc-weight 0`) they stay off: λ = 0 would add nothing to the generator's
  /// gradients (the same gradients, `Stage1TrainingTests`), and the discriminator it would train
  /// steers nothing, so both passes are skipped (`Stage1Config.trainsGAN`; the time saved: `calovq bench
  /// train --disc-weight 0`, CaloModel README).
  public func step(energies: [Double], showers: [Float]) -> Stage1StepStats {
    let p = model.prepare(energies: energies, showers: showers)
    let gStep = 2 * batchesDone, dStep = gStep + 1
    let gan = model.config.trainsGAN
    var stats = model.generatorGradients(p, discOn: gan && gStep > model.config.discStart)
    optG.update()
    if gan && dStep > model.config.discStart {
      stats.dLoss = model.discriminatorGradients(p)
    } else {
      model.discriminator.zeroGrad()  // disc_factor 0: a zero-gradient step (only Adam's counter moves)
    }
    optD.update()
    batchesDone += 1
    if model.config.restartsDeadCodes { stats.restarted = restartDeadCodes(stats) }
    stats.latents = []
    return stats
  }

  /// Replaces codes unused for `deadCodeRestart` batches by random latents of this batch.
  func restartDeadCodes(_ stats: Stage1StepStats) -> Int {
    for k in stats.codes { lastUsed[k] = batchesDone }
    let window = model.config.deadCodeRestart, d = model.config.codeDim
    let dead = lastUsed.indices.filter { batchesDone - lastUsed[$0] >= window }
    let rows = stats.latents.count / d
    guard !dead.isEmpty, rows > 0 else { return 0 }
    var rng = RNG(seed: seed ^ (UInt64(batchesDone) &* 0x9E37_79B9_7F4A_7C15))
    let cb = model.vq.codebook
    for k in dead {
      let r = rng.int(below: rows)
      for j in 0..<d { cb.data[k * d + j] = stats.latents[r * d + j] }
      lastUsed[k] = batchesDone
    }
    return dead.count
  }

  /// Sets the step counter (when resuming from a checkpoint).
  public func setBatchesDone(_ n: Int) { batchesDone = n }
}
