// The stage-2 conditional GPT as a differentiable model (training, and the full-recomputation
// reference for the KV-cache sampler). minGPT layout and names (calovq_facts.md §6.1–6.2).
// Fast inference lives in GPTEngine.swift; this file favours clarity over speed.
import CaloGeometry
import CaloNN
import CaloTensor

/// Conditional GPT over R tokens and shower codes.
///
/// Input of position 0 is `[0…0 (tokenDim), cond]`, of position i ≥ 1 `[tok_emb(target[i−1]), cond]`;
/// the learned position embedding is added and the output at position i predicts target i.
/// Parameter names follow the reference (`tok_emb.weight`, `pos_emb`, `blocks.0.attn.query.weight`,
/// `blocks.0.mlp.0.weight`, `ln_f.weight`, `head.weight`, `cond_emb.weight`, `cond_proj.weight`).
public final class GPT {
  /// Sizes and conditioning.
  public let config: GPTConfig
  /// All trainable tensors in model-file order.
  public let parameters: ParameterSet

  /// One pre-LayerNorm transformer block.
  struct Block {
    let ln1: LayerNorm, query: Linear, key: Linear, value: Linear, proj: Linear
    let ln2: LayerNorm, fc: Linear, fcProj: Linear
  }

  let tokEmb: Tensor      // (V, tokenDim)
  let posEmb: Tensor      // (1, T, C)
  let blocks: [Block]
  let lnF: LayerNorm
  let head: Tensor        // (V, C), no bias
  let condEmb: Tensor?    // (classes, condDim) for ds1
  let condProj: Tensor?   // (condDim, condDim), created but unused (as in the reference)

  /// Creates a model with the reference initialisation: Linear/Embedding weights N(0, 0.02), biases 0,
  /// LayerNorm 1/0, position embedding 0; the ds1 condition table N(0, 1) and the unused projection
  /// U(±1/√dim) (PyTorch defaults). Same `seed` ⇒ same weights.
  public init(config: GPTConfig, seed: UInt64 = 1337) {
    self.config = config
    var rng = RNG(seed: seed)
    let ps = ParameterSet()
    let C = config.nEmbd, V = config.vocabSize, T = config.blockSize
    let w002 = Initializer.normal(std: 0.02)
    tokEmb = ps.make("tok_emb.weight", [V, config.tokenDim], w002, rng: &rng)
    posEmb = ps.make("pos_emb", [1, T, C], .zeros, rng: &rng)
    var bs: [Block] = []
    for l in 0..<config.nLayer {
      let p = "blocks.\(l)."
      func lin(_ n: String, _ i: Int, _ o: Int) -> Linear {
        Linear(ps, p + n, in: i, out: o, weightInit: w002, biasInit: .zeros, rng: &rng)
      }
      let ln1 = LayerNorm(ps, p + "ln1", C, rng: &rng)
      let ln2 = LayerNorm(ps, p + "ln2", C, rng: &rng)
      let key = lin("attn.key", C, C), query = lin("attn.query", C, C), value = lin("attn.value", C, C)
      let proj = lin("attn.proj", C, C)
      let fc = lin("mlp.0", C, 4 * C), fcProj = lin("mlp.2", 4 * C, C)
      bs.append(Block(ln1: ln1, query: query, key: key, value: value, proj: proj, ln2: ln2, fc: fc, fcProj: fcProj))
    }
    blocks = bs
    lnF = LayerNorm(ps, "ln_f", C, rng: &rng)
    head = ps.make("head.weight", [V, C], w002, rng: &rng)
    if case let .energyClass(classes, dim) = config.condition {
      condEmb = ps.make("cond_emb.weight", [classes, dim], .normal(std: 1), rng: &rng)
      condProj = ps.make("cond_proj.weight", [dim, dim], .torchDefault(fanIn: dim), rng: &rng)
    } else {
      condEmb = nil
      condProj = nil
    }
    parameters = ps
  }

  /// Total number of trainable scalars (compare with calovq_facts.md §10, e.g. 230,966 for ds1 photons).
  public var parameterCount: Int { parameters.scalarCount }

  /// The condition features of N showers: (N, 1, condDim).
  func conditionTensor(energies: [Double]) -> Tensor {
    let n = energies.count
    switch config.condition {
    case .energyClass:
      let cls = energies.map { config.energyClass($0) }
      return Tensor.embedding(condEmb!, indices: cls, indexShape: [n, 1])          // (N, 1, 3)
    case .logEnergy:
      return Tensor([n, 1, 1], data: energies.map { GPTConfig.logEnergyCondition($0) })  // (N, 1, 1)
    }
  }

  /// Logits for every position of N sequences given their first P tokens (0 ≤ P ≤ T − 1).
  ///
  /// - Parameters:
  ///   - tokens: (N, P) row-major token ids in 0..<V (targets 0..<P of each sequence).
  ///   - energies: (N) incident energies in MeV (the condition).
  ///   - training: dropout on (p = config.dropout) when true.
  /// - Returns: logits (N, P + 1, V); row i predicts target i.
  public func logits(tokens: [Int32], energies: [Double], training: Bool, rng: inout RNG) -> Tensor {
    let N = energies.count
    precondition(N > 0 && tokens.count % N == 0, "GPT.logits: \(tokens.count) tokens for \(N) sequences")
    let P = tokens.count / N, Tp = P + 1
    precondition(Tp <= config.blockSize, "GPT.logits: \(P) tokens exceed the block size \(config.blockSize) − 1")
    let p = training ? config.dropout : 0
    let start = Tensor.zeros([N, 1, config.tokenDim])                                 // (N, 1, tokenDim)
    var tok = start
    if P > 0 {
      let e = Tensor.embedding(tokEmb, indices: tokens.map { Int($0) }, indexShape: [N, P])  // (N, P, tokenDim)
      tok = Tensor.concat([start, e], axis: 1)                                        // (N, Tp, tokenDim)
    }
    let cond = conditionTensor(energies: energies).expanded(to: [N, Tp, config.condDim])  // (N, Tp, condDim)
    var x = Tensor.concat([tok, cond], axis: 2)                                       // (N, Tp, C)
    x = (x + posEmb.narrow(axis: 1, start: 0, length: Tp)).dropout(p, training: training, rng: &rng)
    for b in blocks {
      let h = b.ln1(x)                                                                // (N, Tp, C)
      let att = Tensor.causalAttention(q: b.query(h), k: b.key(h), v: b.value(h), nHead: config.nHead,
                                       dropout: p, training: training, rng: &rng)   // (N, Tp, C)
      x = x + b.proj(att).dropout(p, training: training, rng: &rng)
      let m = b.fcProj(b.fc(b.ln2(x)).gelu())                                         // (N, Tp, C)
      x = x + m.dropout(p, training: training, rng: &rng)
    }
    let out = lnF(x).linear(head, nil)                                                // (N, Tp, V)
    return out
  }

  /// Mean cross-entropy over all T positions (R tokens and codes alike), as in the reference.
  /// - Parameters:
  ///   - targets: (N, T) row-major full sequences `[R tokens…, codes…]`.
  ///   - energies: (N) incident energies in MeV.
  /// - Returns: scalar loss (recorded on the tape when parameters require gradients).
  public func loss(targets: [Int32], energies: [Double], training: Bool, rng: inout RNG) -> Tensor {
    let N = energies.count, T = config.blockSize
    precondition(targets.count == N * T, "GPT.loss: \(targets.count) targets, need N·T = \(N)·\(T)")
    var inputs = [Int32]()
    inputs.reserveCapacity(N * (T - 1))
    for n in 0..<N { inputs += targets[(n * T)..<(n * T + T - 1)] }
    let lg = logits(tokens: inputs, energies: energies, training: training, rng: &rng)  // (N, T, V)
    return lg.reshaped([N * T, config.vocabSize]).crossEntropy(targets: targets.map { Int($0) })
  }
}
