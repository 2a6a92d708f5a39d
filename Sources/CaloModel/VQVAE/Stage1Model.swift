// The stage-1 model (vqvae.py): encoder → quant_conv → VQ → post_quant_conv → decoder, plus the
// discriminator, and the public API the GPT stage and the explorer use (encode showers to code
// grids, decode codes to unit pixels, R values, assembly to MeV, model files).
// Training losses and the optimiser step live in Stage1TrainStep.swift.
import CaloGeometry
import CaloNN
import CaloTensor
import Foundation

/// A stage-1 VQ-VAE-GAN for one dataset and normalisation (calovq_facts.md §1–5).
///
/// Layouts: showers at the API are (N·P) in CaloChallenge voxel order; inside, ds1 is (N, P) and
/// ds2/ds3 are (N, Rb, Z, A). Codes are Int32 (N·L), row-major over the latent grid (position =
/// z·A' + a for ds2/ds3). Not thread-safe (tensors are reference types); use one model per thread.
public final class Stage1Model {
  public let config: Stage1Config
  public let preprocessing: Stage1Preprocessing
  /// Encoder, quant_conv, codebook, post_quant_conv, decoder (in that registration order).
  public let generator = ParameterSet()
  /// The discriminator's parameters.
  public let discriminator = ParameterSet()

  enum Nets {
    case hybrid(HybridEncoder, HybridDecoder, HybridDiscriminator)
    case conv(enc: ConvStack, dec: ConvStack, disc: ConvStack)
  }
  let nets: Nets
  let quantW: Tensor, quantB: Tensor
  let postW: Tensor, postB: Tensor
  let vq: VectorQuantizer
  /// Latent grid of the encoder output (hybrid: [L]; conv: [Z', A']).
  public let latentShape: [Int]
  /// EC/width grids (η, φ) in the decoder-output layout: ds1 (1, P); conv (1, Rb, 1, A).
  let ecGrid: (eta: Tensor, phi: Tensor)
  /// ds1: (P, L) 0/1 matrix summing each relevant layer's voxels (the layer-energy loss); conv: nil,
  /// their layers are a tensor axis.
  let layerIndicator: Tensor?

  /// Builds a freshly initialised model; every draw comes from `seed`.
  public init(config: Stage1Config, seed: UInt64 = 1337) {
    self.config = config
    preprocessing = Stage1Preprocessing(dataset: config.dataset, norm: config.norm)
    var rng = RNG(seed: seed)
    let D = config.codeDim, P = config.voxels
    switch config.arch {
    case let .hybrid(a):
      let enc = HybridEncoder(generator, "encoder", voxels: P, arch: a, rng: &rng)
      quantW = generator.make("quant_conv.weight", [D, a.zChannels, 1], .torchDefault(fanIn: a.zChannels), rng: &rng)
      quantB = generator.make("quant_conv.bias", [D], .torchDefault(fanIn: a.zChannels), rng: &rng)
      vq = VectorQuantizer(generator, "quantize", count: config.codebookSize, dim: D, beta: config.beta, rng: &rng)
      postW = generator.make("post_quant_conv.weight", [a.zChannels, D, 1], .torchDefault(fanIn: D), rng: &rng)
      postB = generator.make("post_quant_conv.bias", [a.zChannels], .torchDefault(fanIn: D), rng: &rng)
      let segments = config.norm == .layerwise ? preprocessing.groupSizes : nil
      let dec = HybridDecoder(generator, "decoder", voxels: P, arch: a, segments: segments, rng: &rng)
      var drng = RNG(seed: seed &+ 0x5EED)
      let disc = HybridDiscriminator(discriminator, "disc", voxels: P, arch: a, rng: &drng)
      nets = .hybrid(enc, dec, disc)
      latentShape = [a.positions]
      if config.heInit == true {
        Stage1Model.applyHeInit(hidden: enc.mlp.map { ($0.weight, $0.bias) } + enc.convs.map { ($0.weight, $0.bias) }
          + [(enc.out.weight, enc.out.bias)] + dec.convs.map { ($0.weight, $0.bias) } + dec.mlp.map { ($0.weight, $0.bias) })
      }
    case let .conv(a):
      let rb = preprocessing.nRadial
      let enc = ConvStack(generator, "encoder", inChannels: rb + 1, ops: a.encoder, outChannels: a.zChannels, rng: &rng)
      quantW = generator.make("quant_conv.weight", [D, a.zChannels, 1, 1], .torchDefault(fanIn: a.zChannels), rng: &rng)
      quantB = generator.make("quant_conv.bias", [D], .torchDefault(fanIn: a.zChannels), rng: &rng)
      vq = VectorQuantizer(generator, "quantize", count: config.codebookSize, dim: D, beta: config.beta, rng: &rng)
      postW = generator.make("post_quant_conv.weight", [a.zChannels, D, 1, 1], .torchDefault(fanIn: D), rng: &rng)
      postB = generator.make("post_quant_conv.bias", [a.zChannels], .torchDefault(fanIn: D), rng: &rng)
      let dec = ConvStack(generator, "decoder", inChannels: a.zChannels + 1, ops: a.decoder, outChannels: rb, rng: &rng)
      var drng = RNG(seed: seed &+ 0x5EED)
      let disc = ConvStack(discriminator, "disc", inChannels: rb + 1, ops: a.disc, outChannels: 1, rng: &drng)
      nets = .conv(enc: enc, dec: dec, disc: disc)
      // Latent grid from a shape-only pass on one zero shower.
      let nA = preprocessing.nAlpha, zIn = 45 + a.inputZPad[0] + a.inputZPad[1]
      let probe = withNoGrad { enc(Tensor.zeros([1, rb + 1, zIn, nA])).shape }
      latentShape = [probe[2], probe[3]]
    }
    ecGrid = Stage1Model.makeECGrid(config, preprocessing)
    layerIndicator = config.isHybrid ? Stage1Model.makeLayerIndicator(config) : nil
  }

  /// PyTorch's default weights are U(±1/√fan_in); ×√6 turns them into He-uniform U(±√(6/fan_in)),
  /// which keeps the activation scale through ReLU layers. Biases start at zero.
  static func applyHeInit(hidden: [(weight: Tensor, bias: Tensor?)]) {
    let scale = Float(6).squareRoot()
    for (w, b) in hidden {
      for i in 0..<w.count { w.data[i] *= scale }
      if let b { for i in 0..<b.count { b.data[i] = 0 } }
    }
  }

  /// The generator tensors that decide a shower's codes: encoder, quant_conv and codebook (the
  /// tensors a decoder-only run keeps fixed; `Stage1Config.decoderOnly`).
  public var codeFixingTensors: [Tensor] {
    zip(generator.names, generator.tensors).filter { name, _ in
      name.hasPrefix("encoder.") || name.hasPrefix("quant_conv.") || name.hasPrefix("quantize.")
    }.map(\.1)
  }

  /// Number of latent positions L (ds1 32, ds2 68, ds3 182, ds3 layer-wise 624 in the paper presets).
  public var latentCount: Int { latentShape.reduce(1, *) }
  /// R values per shower (1 global, else the number of normalisation groups).
  public var rCount: Int { preprocessing.groupCount }

  // MARK: - Layouts

  /// Is this ds2 with the reference's preprocessing Z padding kept in the decoder output (global)?
  var decoderOutputPadded: Bool {
    if case let .conv(a) = config.arch { return a.inputZPad != [0, 0] && a.outputZCrop == [0, 0] }
    return false
  }
  /// Z padding of the encoder input (ds2 and ds3-norm (4,8)).
  var inputZPad: [Int] { if case let .conv(a) = config.arch { return a.inputZPad } else { return [0, 0] } }

  /// Flat CaloChallenge rows (N·P) → network layout: ds1 (N, P); ds2/ds3 (N, Rb, Z, A).
  func toNetwork(_ flat: [Float], n: Int) -> Tensor {
    if config.isHybrid { return Tensor([n, config.voxels], data: flat) }
    let p = preprocessing, z = config.voxels / (p.nAlpha * p.nRadial)
    return Tensor([n, z, p.nAlpha, p.nRadial], data: flat).permuted([0, 3, 1, 2])
  }

  /// Network layout → flat CaloChallenge rows (inverse of `toNetwork`).
  func fromNetwork(_ t: Tensor) -> [Float] {
    if config.isHybrid { return t.data }
    return t.permuted([0, 2, 3, 1]).data
  }

  // MARK: - Conditions

  /// The network condition of a batch: ds1 class indices, or the scalar log-energy (N, 1).
  struct Condition {
    var cls: [Int]
    var scalar: Tensor?
  }

  func condition(_ energies: [Double]) -> Condition {
    if config.isHybrid { return Condition(cls: energies.map(Stage1Preprocessing.ds1Class), scalar: nil) }
    return Condition(cls: [], scalar: Tensor([energies.count, 1], data: energies.map(Stage1Preprocessing.logEnergyCondition)))
  }

  // MARK: - Forward pieces (recorded when gradients are on)

  /// pixels_R in network layout (unpadded) → encoder output (ds1 (N, L, zC); conv (N, zC, Z', A')).
  func encodeLatent(_ ratios: Tensor, _ cond: Condition) -> Tensor {
    switch nets {
    case let .hybrid(enc, _, _):
      return enc(logScale(ratios, b: config.logB, c: config.logC), cls: cond.cls)
    case let .conv(enc, _, _):
      var x = ratios
      if inputZPad != [0, 0] { x = x.padded(axis: 2, before: inputZPad[0], after: inputZPad[1]) }
      x = concatCondition(logScale(x, b: config.logB, c: config.logC), cond.scalar!)
      return enc(x)
    }
  }

  /// 1×1 conv (quant_conv / post_quant_conv). ds1 latents are channels-last (N, L, Cin) and the
  /// Conv1d weight (Cout, Cin, 1) is applied as one `linear`; conv latents are (N, Cin, Z, A).
  func pointwise(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
    if config.isHybrid { return x.linear(w.reshaped([w.shape[0], w.shape[1]]), b) }
    return x.cylConv2d(w, b, padZ: false)
  }

  /// Latents → rows (N·L, D): ds1 (N, L, D) is already channels-last; conv (N, D, Z, A) is permuted.
  func latentRows(_ z: Tensor) -> Tensor {
    let n = z.shape[0]
    if config.isHybrid { return z.reshaped([n * latentCount, z.shape[2]]) }
    return z.permuted([0, 2, 3, 1]).reshaped([n * latentCount, z.shape[1]])
  }

  /// Rows (N·L, D) → the latent layout (ds1 (N, L, D); conv (N, D, Z, A)).
  func latentGrid(_ rows: Tensor, n: Int) -> Tensor {
    let d = rows.shape[1]
    if config.isHybrid { return rows.reshaped([n, latentCount, d]) }
    return rows.reshaped([n] + latentShape + [d]).permuted([0, 3, 1, 2])
  }

  /// Decoder part before the adaptive-weight layer: quantised grid (N, D, grid…) → h.
  func decoderTrunk(_ zq: Tensor, _ cond: Condition) -> Tensor {
    let q = pointwise(zq, postW, postB)
    switch nets {
    case let .hybrid(_, dec, _): return dec.trunk(q, cls: cond.cls)
    case let .conv(_, dec, _):
      return dec.apply(concatCondition(q, cond.scalar!), 0..<dec.lastConvTIndex!)
    }
  }

  /// Decoder from the adaptive-weight layer on: h → pixels_U in decoder-output layout.
  func decoderHead(_ h: Tensor) -> Tensor {
    switch nets {
    case let .hybrid(_, dec, _): return dec.head(h)
    case let .conv(_, dec, _):
      guard case let .conv(a) = config.arch else { fatalError("unreachable") }
      var x = dec.final(dec.apply(h, dec.lastConvTIndex!..<dec.layers.count))   // (N, Rb, Z, A)
      if a.outputZCrop != [0, 0] { x = x.narrow(axis: 2, start: a.outputZCrop[0], length: x.shape[2] - a.outputZCrop[0] - a.outputZCrop[1]) }
      return normaliseHead(x)
    }
  }

  /// Output heads of §2.1: ds2 global softmax over the whole (padded) volume; relu→expm1→normalise
  /// over the whole shower (ds3) or each Z layer (layer-wise). x (N, Rb, Z, A).
  func normaliseHead(_ x: Tensor) -> Tensor {
    let n = x.shape[0]
    if config.dataset == .ds2 && config.norm == .global {
      return x.reshaped([n, -1]).softmax().reshaped(x.shape)
    }
    let v = x.relu().expm1()
    let s: Tensor
    if config.norm == .global {
      s = v.reshaped([n, -1]).sum(axis: 1, keepDim: true).reshaped([n, 1, 1, 1])
    } else {
      s = v.sum(axis: 3, keepDim: true).sum(axis: 1, keepDim: true)                 // (N, 1, Z, 1)
    }
    return v / Tensor.maximum(s, Tensor([1], data: [1e-9]))
  }

  /// Discriminator logits of pixels_U in decoder-output layout: ds1 (N, 1); conv (N, 1, Z'', A'').
  func discriminate(_ u: Tensor, _ cond: Condition) -> Tensor {
    switch nets {
    case let .hybrid(_, _, disc):
      return disc(logScale(u, b: config.logB, c: config.logC), cls: cond.cls)
    case let .conv(_, _, disc):
      var x = u
      if config.dataset == .ds2 && !decoderOutputPadded { x = x.padded(axis: 2, before: inputZPad[0], after: inputZPad[1]) }
      return disc(concatCondition(logScale(x, b: config.logB, c: config.logC), cond.scalar!))
    }
  }

  /// Weight of the decoder's adaptive-weight layer (ds1 last Linear; conv decoders the last CylConvT).
  var lastLayerWeight: Tensor {
    switch nets {
    case let .hybrid(_, dec, _): return dec.last.weight
    case let .conv(_, dec, _): return dec.lastConvTWeight!
    }
  }

  /// Generator parameters used after the trunk (their gradients are assembled from two losses).
  var headParameters: [Tensor] {
    switch nets {
    case let .hybrid(_, dec, _): return [dec.last.weight, dec.last.bias!]
    case let .conv(_, dec, _):
      var ps: [Tensor] = []
      for l in dec.layers[dec.lastConvTIndex!...] { if case let .convT(m) = l { ps += [m.weight, m.bias] } else if case let .conv(m) = l { ps += [m.weight, m.bias] } }
      return ps + [dec.final.weight, dec.final.bias]
    }
  }

  // MARK: - Public inference API (no autodiff recording)

  /// Showers → code grids. energies (N) MeV, showers (N·P) MeV → codes (N·L) Int32, row-major grid.
  public func encode(energies: [Double], showers: [Float], batchSize: Int = 256) -> [Int32] {
    guard showers.count == energies.count * config.voxels else {
      fatalError("encode: \(showers.count) voxel values for \(energies.count) showers × \(config.voxels)")
    }
    var out: [Int32] = []
    out.reserveCapacity(energies.count * latentCount)
    forChunks(energies.count, batchSize) { r in
      let e = Array(energies[r]), s = Array(showers[(r.lowerBound * config.voxels)..<(r.upperBound * config.voxels)])
      withNoGrad {
        let ratios = toNetwork(preprocessing.ratios(showers: s, energies: e), n: e.count)
        let z = pointwise(encodeLatent(ratios, condition(e)), quantW, quantB)
        out += nearestCodes(latentRows(z), codebook: vq.codebook).map { Int32($0) }
      }
    }
    return out
  }

  /// Code grids → pixels_U (N·P) in CaloChallenge order, each normalisation group summing to 1
  /// (ds2 global: Z padding cropped and renormalised, §7.3). codes (N·L), energies (N) MeV.
  public func decode(codes: [Int32], energies: [Double], batchSize: Int = 256) -> [Float] {
    // Explicit traps: this module is compiled with -Ounchecked, which removes preconditions, and a
    // bad code would otherwise read outside the codebook.
    guard codes.count == energies.count * latentCount else {
      fatalError("decode: \(codes.count) codes for \(energies.count) showers × L=\(latentCount)")
    }
    guard codes.allSatisfy({ $0 >= 0 && Int($0) < config.codebookSize }) else {
      fatalError("decode: codes must be in 0..<\(config.codebookSize)")
    }
    var out: [Float] = []
    out.reserveCapacity(energies.count * config.voxels)
    forChunks(energies.count, batchSize) { r in
      let e = Array(energies[r])
      let c = codes[(r.lowerBound * latentCount)..<(r.upperBound * latentCount)].map { Int($0) }
      withNoGrad {
        let zq = latentGrid(Tensor.embedding(vq.codebook, indices: c, indexShape: [c.count]), n: e.count)
        out += unitPixelsFromDecoder(decoderHead(decoderTrunk(zq, condition(e))))
      }
    }
    return out
  }

  /// Decoder-output U (network layout) → flat CaloChallenge U; ds2 global crops and renormalises.
  func unitPixelsFromDecoder(_ u: Tensor) -> [Float] {
    guard decoderOutputPadded else { return fromNetwork(u) }
    let p = inputZPad
    var flat = fromNetwork(u.narrow(axis: 2, start: p[0], length: u.shape[2] - p[0] - p[1]))
    let v = config.voxels
    for s in 0..<(flat.count / v) {
      var tot = 0.0
      for i in (s * v)..<((s + 1) * v) { tot += Double(flat[i]) }
      let k = tot > 0 ? Float(1 / tot) : 0
      for i in (s * v)..<((s + 1) * v) { flat[i] *= k }
    }
    return flat
  }

  /// R per shower and group: (N·G), G = `rCount` (total E_dep/E_inc, or per relevant layer).
  public func rValues(energies: [Double], showers: [Float]) -> [Float] {
    preprocessing.rValues(ratios: preprocessing.ratios(showers: showers, energies: energies))
  }

  /// Showers in MeV from unit pixels (N·P), R (N·G) and energies (N): U × R × E_inc.
  public func assemble(pixelsU: [Float], r: [Float], energies: [Double]) -> [Float] {
    preprocessing.assemble(pixelsU: pixelsU, r: r, energies: energies)
  }

  /// encode → decode → assemble with the true R: the stage-1 reconstruction of showers (MeV).
  public func reconstruct(energies: [Double], showers: [Float]) -> [Float] {
    let u = decode(codes: encode(energies: energies, showers: showers), energies: energies)
    return assemble(pixelsU: u, r: rValues(energies: energies, showers: showers), energies: energies)
  }

  func forChunks(_ n: Int, _ size: Int, _ body: (Range<Int>) -> Void) {
    var s = 0
    while s < n { body(s..<Swift.min(n, s + size)); s += size }
  }

  // MARK: - EC / width grids (§4.3)

  static func makeECGrid(_ c: Stage1Config, _ p: Stage1Preprocessing) -> (eta: Tensor, phi: Tensor) {
    if c.dataset.isDS1 {
      // Correct per-voxel grid, angles 2π·k/10 starting at 0 (reference quirk), α = 0 if unsegmented.
      var eta: [Float] = [], phi: [Float] = []
      let geo = c.dataset.geometry
      for l in geo.layers where l.isRelevant {
        let rc = l.rCentres
        for a in 0..<l.nAlpha {
          let al = l.nAlpha == 1 ? 0 : 2 * Double.pi * Double(a) / Double(l.nAlpha)
          for r in rc { eta.append(Float(r * cos(al))); phi.append(Float(r * sin(al))) }
        }
      }
      return (Tensor([1, c.voxels], data: eta), Tensor([1, c.voxels], data: phi))
    }
    // ds2/ds3: the reference's swapped meshgrid, kept because it is what was trained:
    // η[r,a] = α_a·cos(ρ_r), φ[r,a] = α_a·sin(ρ_r), α_a = 2π·a/A, ρ_r = r·1.5·4.65 (÷2 for ds3).
    let rb = p.nRadial, A = p.nAlpha
    let pitch = c.dataset == .ds2 ? 1.5 * 4.65 : 1.5 * 4.65 / 2
    var eta = [Float](repeating: 0, count: rb * A), phi = eta
    for r in 0..<rb {
      for a in 0..<A {
        let al = 2 * Double.pi * Double(a) / Double(A), rho = Double(r) * pitch
        eta[r * A + a] = Float(al * cos(rho)); phi[r * A + a] = Float(al * sin(rho))
      }
    }
    return (Tensor([1, rb, 1, A], data: eta), Tensor([1, rb, 1, A], data: phi))
  }
}
