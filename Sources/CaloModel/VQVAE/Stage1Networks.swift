// The stage-1 networks: a cylindrical conv stack built from a `ConvOp` list (encoder, decoder,
// discriminator of ds2/ds3) and the ds1 "hybrid1d" MLP + Conv1d encoder/decoder and MLP
// discriminator (calovq_facts.md §2.1–2.6, §4.1). Decoders expose `trunk` and `head`, split at the
// layer whose weights feed the adaptive GAN weight, so the training step can take gradients of two
// losses with respect to that layer separately.
import CaloNN
import CaloTensor

/// A cylindrical conv stack: the spec ops, each conv followed by SiLU, then a 1×1 CylConv to
/// `outChannels` without activation. x (N, Cin, Z, A) → (N, outChannels, Z', A').
struct ConvStack {
  enum Layer {
    case conv(CylConv2d), convT(CylConvTranspose2d), fftDown(Int), fftInterp(Int), zPad(Int, Int), zCrop(Int, Int)
  }
  let layers: [Layer]
  let final: CylConv2d

  init(_ ps: ParameterSet, _ name: String, inChannels: Int, ops: [ConvOp], outChannels: Int, rng: inout RNG) {
    var c = inChannels
    var ls: [Layer] = []
    for (i, op) in ops.enumerated() {
      let n = "\(name).layers.\(i)"
      switch op {
      case let .conv(out, kz, ka, sz, sa, padZ):
        ls.append(.conv(CylConv2d(ps, n, in: c, out: out, kernel: (kz, ka), stride: (sz, sa), padZ: padZ, rng: &rng)))
        c = out
      case let .convT(out, kz, ka, sz, sa, padZ):
        ls.append(.convT(CylConvTranspose2d(ps, n, in: c, out: out, kernel: (kz, ka), stride: (sz, sa), padZ: padZ, rng: &rng)))
        c = out
      case let .fftDown(k): ls.append(.fftDown(k))
      case let .fftInterp(k): ls.append(.fftInterp(k))
      case let .zPad(a, b): ls.append(.zPad(a, b))
      case let .zCrop(a, b): ls.append(.zCrop(a, b))
      }
    }
    layers = ls
    final = CylConv2d(ps, "\(name).final", in: c, out: outChannels, kernel: (1, 1), rng: &rng)
  }

  /// Index of the last transposed convolution (the decoder's adaptive-weight layer), if any.
  var lastConvTIndex: Int? { layers.lastIndex { if case .convT = $0 { return true } else { return false } } }

  /// The weight of the last CylConvT (conv decoders' "last layer" of §4.4).
  var lastConvTWeight: Tensor? {
    guard let i = lastConvTIndex, case let .convT(l) = layers[i] else { return nil }
    return l.weight
  }

  /// Applies layers[range]; x (N, C, Z, A).
  func apply(_ x: Tensor, _ range: Range<Int>) -> Tensor {
    var h = x
    for l in layers[range] {
      switch l {
      case let .conv(m): h = m(h).silu()
      case let .convT(m): h = m(h).silu()
      case let .fftDown(k): h = h.fftDown(k)
      case let .fftInterp(k): h = h.fftInterp(k)
      case let .zPad(a, b): h = h.padded(axis: 2, before: a, after: b)
      case let .zCrop(a, b): h = h.narrow(axis: 2, start: a, length: h.shape[2] - a - b)
      }
    }
    return h
  }

  /// All layers and the final 1×1 conv.
  func callAsFunction(_ x: Tensor) -> Tensor { final(apply(x, 0..<layers.count)) }
}

/// Appends the condition as constant channels: x (N, C, Z, A), cond (N, k) → (N, C + k, Z, A).
func concatCondition(_ x: Tensor, _ cond: Tensor) -> Tensor {
  let n = x.shape[0], k = cond.shape[1]
  let c = cond.reshaped([n, k, 1, 1]).expanded(to: [n, k, x.shape[2], x.shape[3]])
  return Tensor.concat([x, c], axis: 1)
}

/// ln(1 + b·x)/c (LogScale with a = 0, §1.4), elementwise.
func logScale(_ x: Tensor, b: Float, c: Float) -> Tensor { (x * b).log1p() * (1 / c) }

// MARK: - ds1 hybrid networks (§2.3, §4.1), all ReLU

/// PyTorch Conv1d (zero padding (k−1)/2, stride 1) on channels-last activations, as ONE GEMM over
/// all N·L positions: the k shifted copies are concatenated along channels into (N·L, k·Cin)
/// (feature j·Cin + c; contiguous blocks, so the copies are cheap) and the PyTorch weight
/// (Cout, Cin, k) is permuted to match, then `linear`. Per-sample GEMMs with L = 32 columns run far
/// below BLAS peak; this keeps the reference's weights and math.
/// x (N, L, Cin), weight (Cout, Cin, k), bias (Cout) → (N, L, Cout).
func conv1dChannelsLast(_ x: Tensor, _ conv: Conv1d) -> Tensor {
  let n = x.shape[0], L = x.shape[1], cin = x.shape[2]
  let w = conv.weight, cout = w.shape[0], k = w.shape[2]
  if k == 1 { return x.linear(w.reshaped([cout, cin]), conv.bias) }
  let pad = (k - 1) / 2
  let xp = x.padded(axis: 1, before: pad, after: pad)                                  // (N, L+2p, Cin)
  let taps = (0..<k).map { xp.narrow(axis: 1, start: $0, length: L) }                  // k × (N, L, Cin)
  let col = Tensor.concat(taps, axis: 2).reshaped([n * L, k * cin])                   // (N·L, k·Cin)
  let wk = w.permuted([0, 2, 1]).reshaped([cout, k * cin])                            // (Cout, k·Cin)
  return col.linear(wk, conv.bias).reshaped([n, L, cout])
}

/// ds1 encoder: [log(E/E_inc), Emb(cls)] → MLP → (N, latentChannels, L) → Conv1d stack → (N, zChannels, L).
struct HybridEncoder {
  let emb: Embedding
  let mlp: [Linear]
  let convs: [Conv1d]
  let out: Conv1d
  let arch: HybridArch

  init(_ ps: ParameterSet, _ name: String, voxels: Int, arch: HybridArch, rng: inout RNG) {
    self.arch = arch
    emb = Embedding(ps, "\(name).emb", count: 15, dim: arch.condDim, rng: &rng)
    var widths = [voxels + arch.condDim] + arch.mlp + [arch.latentChannels * arch.positions]
    var ls: [Linear] = []
    for i in 0..<(widths.count - 1) { ls.append(Linear(ps, "\(name).mlp.\(i)", in: widths[i], out: widths[i + 1], rng: &rng)) }
    mlp = ls
    widths = [arch.latentChannels, arch.convChannels, arch.convChannels, arch.convChannels]
    convs = (0..<3).map { Conv1d(ps, "\(name).convs.\($0)", in: widths[$0], out: widths[$0 + 1], kernel: 3, padding: 1, rng: &rng) }
    out = Conv1d(ps, "\(name).out", in: arch.convChannels, out: arch.zChannels, kernel: 1, rng: &rng)
  }

  /// x (N, P) log-scaled input, cls (N) → (N, L, zChannels) (channels-last).
  func callAsFunction(_ x: Tensor, cls: [Int]) -> Tensor {
    let n = x.shape[0]
    var h = Tensor.concat([x, emb(cls)], axis: 1)            // (N, P+3)
    for l in mlp { h = l(h).relu() }                          // (N, Cl·L)
    // Channel-major as the reference's view (f → channel f/L, position f%L), then channels-last.
    h = h.reshaped([n, arch.latentChannels, arch.positions]).permuted([0, 2, 1])   // (N, L, Cl)
    for c in convs { h = conv1dChannelsLast(h, c).relu() }
    return conv1dChannelsLast(h, out).relu()                  // (N, L, zChannels)
  }
}

/// ds1 decoder (DecoderMH): [q, Emb(cls) per position] → Conv1d stack → MLP → per-layer (or global) softmax.
struct HybridDecoder {
  let emb: Embedding
  let convs: [Conv1d]
  let mlp: [Linear]
  /// Linear(mlp.last → P): the adaptive-weight "last layer".
  let last: Linear
  let arch: HybridArch
  let segments: [Int]?

  init(_ ps: ParameterSet, _ name: String, voxels: Int, arch: HybridArch, segments: [Int]?, rng: inout RNG) {
    self.arch = arch
    self.segments = segments
    emb = Embedding(ps, "\(name).emb", count: 15, dim: arch.condDim, rng: &rng)
    let cw = [arch.zChannels + arch.condDim, arch.convChannels, arch.convChannels, arch.convChannels, arch.latentChannels]
    convs = (0..<4).map { Conv1d(ps, "\(name).convs.\($0)", in: cw[$0], out: cw[$0 + 1], kernel: 3, padding: 1, rng: &rng) }
    let widths = [arch.latentChannels * arch.positions] + arch.mlp.reversed()
    mlp = (0..<(widths.count - 1)).map { Linear(ps, "\(name).mlp.\($0)", in: widths[$0], out: widths[$0 + 1], rng: &rng) }
    last = Linear(ps, "\(name).last", in: widths.last!, out: voxels, rng: &rng)
  }

  /// q (N, L, zChannels) channels-last, cls (N) → h (N, mlp width): everything before the last layer.
  func trunk(_ q: Tensor, cls: [Int]) -> Tensor {
    let n = q.shape[0], L = q.shape[1]
    let e = emb(cls).reshaped([n, 1, arch.condDim]).expanded(to: [n, L, arch.condDim])
    var h = Tensor.concat([q, e], axis: 2)                    // (N, L, zC+3): condition after the data channels
    for c in convs { h = conv1dChannelsLast(h, c).relu() }    // (N, L, Cl)
    h = h.permuted([0, 2, 1]).reshaped([n, arch.latentChannels * L])   // channel-major flatten
    for l in mlp { h = l(h).relu() }
    return h
  }

  /// h (N, width) → U (N, P), softmax within each segment (layer-wise) or over all voxels (global).
  func head(_ h: Tensor) -> Tensor { last(h).softmax(segments: segments) }
}

/// ds1 discriminator: [log U, Emb(cls)] → MLP (ReLU) → one logit. (N, P) → (N, 1).
struct HybridDiscriminator {
  let emb: Embedding
  let mlp: [Linear]
  init(_ ps: ParameterSet, _ name: String, voxels: Int, arch: HybridArch, rng: inout RNG) {
    emb = Embedding(ps, "\(name).emb", count: 15, dim: arch.condDim, rng: &rng)
    let w = [voxels + arch.condDim] + arch.disc + [1]
    mlp = (0..<(w.count - 1)).map { Linear(ps, "\(name).mlp.\($0)", in: w[$0], out: w[$0 + 1], rng: &rng) }
  }
  func callAsFunction(_ x: Tensor, cls: [Int]) -> Tensor {
    var h = Tensor.concat([x, emb(cls)], axis: 1)
    for (i, l) in mlp.enumerated() { h = l(h); if i < mlp.count - 1 { h = h.relu() } }
    return h
  }
}
