// Fast inference weights of the stage-2 GPT: the trained tensors copied into one flat arena laid out
// for one-position-at-a-time decoding with a key/value cache (GPTSampler). Q, K and V are stacked into
// one (3C, C) matrix so each block does one GEMM for them. Read-only after init: shareable across threads.

/// Immutable, thread-safe inference copy of a `GPT`'s weights.
public final class GPTEngine: @unchecked Sendable {
  /// Sizes and conditioning.
  public let config: GPTConfig

  /// Pointers into `arena` for one block.
  struct Layer {
    let ln1w, ln1b: UnsafePointer<Float>
    let wqkv, bqkv: UnsafePointer<Float>      // (3C, C), (3C): rows [query; key; value]
    let wproj, bproj: UnsafePointer<Float>    // (C, C), (C)
    let ln2w, ln2b: UnsafePointer<Float>
    let wfc, bfc: UnsafePointer<Float>        // (4C, C), (4C)
    let wfc2, bfc2: UnsafePointer<Float>      // (C, 4C), (C)
  }

  private let arena: UnsafeMutablePointer<Float>
  let wte: UnsafePointer<Float>          // (V, tokenDim)
  let wpe: UnsafePointer<Float>          // (T, C)
  let layers: [Layer]
  let lnfw, lnfb: UnsafePointer<Float>   // (C)
  let head: UnsafePointer<Float>         // (V, C)
  let condTable: [Float]                 // (classes, condDim) for ds1, empty otherwise

  /// Copies the current weights of `model`.
  public init(model: GPT) {
    _ = GPTKernels.blasSingleThreaded
    config = model.config
    var pieces: [[Float]] = [model.tokEmb.data, model.posEmb.data]
    for b in model.blocks {
      pieces += [b.ln1.weight.data, b.ln1.bias.data,
                 b.query.weight.data + b.key.weight.data + b.value.weight.data,
                 b.query.bias!.data + b.key.bias!.data + b.value.bias!.data,
                 b.proj.weight.data, b.proj.bias!.data, b.ln2.weight.data, b.ln2.bias.data,
                 b.fc.weight.data, b.fc.bias!.data, b.fcProj.weight.data, b.fcProj.bias!.data]
    }
    pieces += [model.lnF.weight.data, model.lnF.bias.data, model.head.data]
    let total = pieces.reduce(0) { $0 + $1.count }
    let a = UnsafeMutablePointer<Float>.allocate(capacity: total)
    arena = a
    var ptrs: [UnsafePointer<Float>] = []
    var off = 0
    for p in pieces {
      p.withUnsafeBufferPointer { (a + off).initialize(from: $0.baseAddress!, count: p.count) }
      ptrs.append(UnsafePointer(a + off))
      off += p.count
    }
    wte = ptrs[0]
    wpe = ptrs[1]
    var ls: [Layer] = []
    for l in 0..<model.blocks.count {
      let q = ptrs[2 + 12 * l ..< 2 + 12 * (l + 1)].map { $0 }
      ls.append(Layer(ln1w: q[0], ln1b: q[1], wqkv: q[2], bqkv: q[3], wproj: q[4], bproj: q[5], ln2w: q[6],
                      ln2b: q[7], wfc: q[8], bfc: q[9], wfc2: q[10], bfc2: q[11]))
    }
    layers = ls
    let e = 2 + 12 * model.blocks.count
    lnfw = ptrs[e]
    lnfb = ptrs[e + 1]
    head = ptrs[e + 2]
    condTable = model.condEmb?.data ?? []
  }

  deinit { arena.deallocate() }

  /// Condition features of one shower (condDim values).
  func conditionFeatures(_ energy: Double) -> [Float] {
    switch config.condition {
    case let .energyClass(_, dim):
      let c = config.energyClass(energy)
      return Array(condTable[(c * dim)..<((c + 1) * dim)])
    case .logEnergy:
      return [GPTConfig.logEnergyCondition(energy)]
    }
  }

  /// Bytes of key/value cache one sequence needs (2 · layers · T · C floats).
  public var cacheBytesPerSequence: Int { 2 * config.nLayer * config.blockSize * config.nEmbd * 4 }

  /// Multiply–adds ×2 per generated sequence with the cache (GEMMs + attention), for benchmarks.
  public var flopsPerSequence: Double {
    let C = Double(config.nEmbd), T = Double(config.blockSize), V = Double(config.vocabSize)
    let perToken = Double(config.nLayer) * 2 * 12 * C * C + 2 * C * V
    let attention = Double(config.nLayer) * 2 * C * T * (T + 1)
    return perToken * T + attention
  }
}
