// Batched autoregressive sampling of the stage-2 GPT with a key/value cache (the reference recomputes
// the whole prefix for every token, calovq_facts.md §6.5). Incremental: `step()` draws one token for
// every sequence and exposes the distribution it was drawn from (the explorer animates this).
// Left out: beam search and top-p on shower codes (the reference uses neither). Top-p on the leading
// digit of each R value is an option (`rTopP`) because an undertrained GPT leaves ~1 % of the mass on
// far-away digits, i.e. on unphysical energies such as E_tot = 1.9 E_inc.
import CaloTensor
import Dispatch
import Foundation

/// How tokens are drawn from the logits. Defaults reproduce the reference: plain multinomial sampling
/// at temperature 1, no top-k, no constraint.
public struct SamplingOptions: Sendable, Equatable, Codable {
  /// Logits are divided by this (> 0) before the softmax.
  public var temperature: Float
  /// Keep only the k largest logits (nil: all).
  public var topK: Int?
  /// Keep every R value ≤ its limit (`GPTConfig.rLimits`, else the quantiser range) by masking digits,
  /// and its leading digit ≥ that of its lower limit (`GPTConfig.rLowerLimits`, when the file has them).
  public var constrainR: Bool
  /// Nucleus sampling on the most significant digit of every R value: keep the most likely digits
  /// whose probabilities (after temperature) first reach this share of the total (nil: all). Shower
  /// codes and the low R digits are unaffected.
  public var rTopP: Float?
  /// Draw the last digit of every R value (its position inside the level the digits before it chose)
  /// from a straight-line density through the probabilities of that level and its two neighbours,
  /// instead of from the GPT's logits. Why: a small GPT learns the coarse leading digit but leaves the
  /// 1024-way last digit nearly uniform, so each level's values spread evenly over the level and the
  /// layer-energy histograms show the levels as steps (ds1-pion layer 0 at 4 GeV, 16 layer bits: the
  /// data's share falls 2.3× across the level right of the MIP peak, the GPT's stays flat).
  /// Values whose digits before the last are all 0 (empty and near-empty layers) keep the GPT's digit.
  public var rLevelInterpolation: Bool
  /// How the drawn layer ratios are made to add up to the drawn total (layer-wise models; applied
  /// when the tokens are decoded, `RTokenizer.decode(tokens:fit:)`).
  public var rLayerFit: RTokenizer.LayerFit

  public init(temperature: Float = 1, topK: Int? = nil, constrainR: Bool = false, rTopP: Float? = nil,
              rLevelInterpolation: Bool = false, rLayerFit: RTokenizer.LayerFit = .proportional) {
    precondition(temperature > 0, "SamplingOptions: temperature must be > 0, got \(temperature)")
    precondition(topK.map { $0 > 0 } ?? true, "SamplingOptions: topK must be ≥ 1")
    precondition(rTopP.map { $0 > 0 && $0 <= 1 } ?? true, "SamplingOptions: rTopP must be in (0, 1]")
    self.temperature = temperature
    self.topK = topK
    self.constrainR = constrainR
    self.rTopP = rTopP
    self.rLevelInterpolation = rLevelInterpolation
    self.rLayerFit = rLayerFit
  }

  /// The settings that differ from the reference's, in words, e.g. ["temperature 0.8", "R top-p 0.99"]
  /// (empty: the paper's sampling). One wording for `calovq generate` and `calovq info`.
  public var differencesFromThePaper: [String] {
    var parts: [String] = []
    if temperature != 1 { parts.append("temperature \(temperature)") }
    if let k = topK { parts.append("top-k \(k)") }
    if constrainR { parts.append("R constrained to the training range") }
    if let p = rTopP { parts.append("R top-p \(p)") }
    if rLevelInterpolation { parts.append("R levels interpolated") }
    if rLayerFit != .proportional { parts.append("layer fit \(rLayerFit.rawValue)") }
    return parts
  }
}

/// Generates N token sequences `[R tokens…, codes…]` (length T) position by position.
///
/// Each sequence draws from its own `RNG(seed: seeds[i])`, so a sequence's tokens depend only on its
/// seed and energy, not on the batch it runs in or the number of cores. Work is split across
/// `Compute.lanes` cores by sequence.
///
/// ```swift
/// let s = GPTSampler(engine: GPTEngine(model: gpt), energies: [65536, 1024], seeds: [1, 2])
/// while !s.isFinished { s.step(); show(s.probabilities(sequence: 0)) }
/// let seqs = s.tokens                 // (2, T)
/// ```
/// Not thread-safe: call it from one thread at a time.
public final class GPTSampler: @unchecked Sendable {
  /// The weights.
  public let engine: GPTEngine
  /// Number of sequences N.
  public let count: Int
  /// Drawing options.
  public let options: SamplingOptions
  /// Incident energies (MeV), one per sequence.
  public let energies: [Double]
  /// The per-sequence seeds it was created with.
  public let seeds: [UInt64]
  /// Tokens drawn so far per sequence (0 ≤ position ≤ T).
  public private(set) var position = 0

  private let C, T, V, H, hs, tokDim, condDim: Int
  private let lanes: Int
  private var rngs: [RNG]
  // Buffers (rows = sequences); lanes write disjoint row ranges.
  private let x, h, qkv, att, fc, logits, cache, cond: UnsafeMutablePointer<Float>
  private let sums: UnsafeMutablePointer<Float>
  private let neighbours: UnsafeMutablePointer<Float>   // (N, 3), see `draw`
  private let tok: UnsafeMutablePointer<Int32>     // (N, T)
  private let limits: [Float]
  private let supportBins: [Int]   // (N) bin of `GPTConfig.rSupport` per sequence; empty: no per-energy constraint

  /// Prepares N sequences.
  /// - Parameters:
  ///   - energies: (N) incident energies in MeV.
  ///   - seeds: (N) per-sequence RNG seeds.
  ///   - lanes: cores to use (default: all active cores).
  public init(engine: GPTEngine, energies: [Double], seeds: [UInt64], options: SamplingOptions = .init(),
              lanes: Int = Compute.lanes) {
    precondition(energies.count == seeds.count && !energies.isEmpty,
                 "GPTSampler: \(energies.count) energies and \(seeds.count) seeds (need equal, ≥ 1)")
    let cfg = engine.config
    self.engine = engine
    self.count = energies.count
    self.options = options
    self.energies = energies
    self.seeds = seeds
    C = cfg.nEmbd; T = cfg.blockSize; V = cfg.vocabSize; H = cfg.nHead; hs = cfg.headSize
    tokDim = cfg.tokenDim; condDim = cfg.condDim
    let N = count
    self.lanes = max(1, min(lanes, N / 4))
    rngs = seeds.map { RNG(seed: $0) }
    func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
      let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
      p.initialize(repeating: 0, count: max(n, 1))
      return p
    }
    x = alloc(N * C); h = alloc(N * C); qkv = alloc(N * 3 * C); att = alloc(N * C); fc = alloc(N * 4 * C)
    logits = alloc(N * V); cache = alloc(2 * cfg.nLayer * N * T * C); cond = alloc(N * condDim); sums = alloc(N)
    neighbours = alloc(N * 3)
    tok = .allocate(capacity: N * T)
    tok.initialize(repeating: 0, count: N * T)
    for (i, e) in energies.enumerated() {
      let f = engine.conditionFeatures(e)
      for j in 0..<condDim { cond[i * condDim + j] = f[j] }
    }
    limits = cfg.rLimits ?? [Float](repeating: Float(cfg.rTokens.rMax), count: cfg.rTokens.valueCount)
    supportBins = GPTSampler.supportBins(config: cfg, options: options, energies: energies)
  }

  /// The `rSupport` bin of each energy when the R constraint is on and the config has a support, else [].
  static func supportBins(config: GPTConfig, options: SamplingOptions, energies: [Double]) -> [Int] {
    guard options.constrainR, let s = config.rSupport else { return [] }
    return energies.map { s.bin(forEnergy: $0) }
  }

  deinit {
    for p in [x, h, qkv, att, fc, logits, cache, cond, sums, neighbours] { p.deallocate() }
    tok.deallocate()
  }

  /// Sequence length T.
  public var length: Int { T }
  /// True once all T tokens are drawn.
  public var isFinished: Bool { position == T }

  /// All tokens, (N, T) row-major; positions ≥ `position` are 0.
  public var tokens: [Int32] { Array(UnsafeBufferPointer(start: tok, count: count * T)) }

  /// The tokens drawn at the last step, one per sequence (empty before the first step).
  public var lastTokens: [Int32] {
    guard position > 0 else { return [] }
    return (0..<count).map { tok[$0 * T + position - 1] }
  }

  /// The distribution (V probabilities summing to 1) the last token of `sequence` was drawn from,
  /// after temperature, top-k and constraints. Empty before the first step.
  public func probabilities(sequence i: Int) -> [Float] {
    precondition(i >= 0 && i < count, "probabilities(sequence: \(i)) outside 0..<\(count)")
    guard position > 0 else { return [] }
    let inv = 1 / sums[i]
    return (0..<V).map { logits[i * V + $0] * inv }
  }

  /// Draws the token at `position` for every sequence and returns them (N values).
  @discardableResult
  public func step() -> [Int32] {
    precondition(!isFinished, "GPTSampler.step(): all \(T) tokens already drawn")
    let t = position
    parallelLanes { lo, hi, scores in self.advance(lo, hi, t, scores) }
    position += 1
    return lastTokens
  }

  /// Draws all remaining tokens (each core runs its sequences to the end without synchronising)
  /// and returns `tokens`, (N, T).
  public func run() -> [Int32] {
    let t0 = position
    if t0 < T {
      // Each core walks its sequences in chunks small enough that their key/value cache and
      // activations stay in the core's cache through all T positions (the cache of a whole batch
      // does not, and re-reading it from memory at every position dominated the run time).
      let chunk = rowsPerChunk
      parallelLanes { lo, hi, scores in
        for c in stride(from: lo, to: hi, by: chunk) {
          for t in t0..<self.T { self.advance(c, min(hi, c + chunk), t, scores) }
        }
      }
      position = T
    }
    return tokens
  }

  /// Sequences per chunk in `run()`: about 1 MB of key/value cache, rounded up to a multiple of 16
  /// rows, the granularity at which OpenBLAS's sgemm runs well for these narrow matrices (single
  /// thread, 1024×64 head: 32 GFLOP/s at 23 rows, 45 at 32; the ds1 cache of 45 KB/sequence gave 23).
  var rowsPerChunk: Int {
    let env = ProcessInfo.processInfo.environment["CALOVQ_GPT_CHUNK"].flatMap { Int($0) }
    let rows = max(1, min(256, (1 << 20) / engine.cacheBytesPerSequence))
    return env ?? (rows + 15) / 16 * 16
  }

  /// Runs `body(lo, hi, scratch)` on `lanes` disjoint row ranges in parallel.
  private func parallelLanes(_ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    let n = count, L = lanes, Tn = T
    withoutActuallyEscaping(body) { b in
      let work = { (c: Int) in
        let lo = n * c / L, hi = n * (c + 1) / L
        guard lo < hi else { return }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: (Tn + 7) & ~7)   // attention scores, 8-padded
        defer { scratch.deallocate() }
        b(lo, hi, scratch)
      }
      if L == 1 { work(0); return }
      let box = LaneBox(work)
      DispatchQueue.concurrentPerform(iterations: L) { box.f($0) }
    }
  }

  /// One position for rows lo..<hi: embed the previous token, run the blocks with the cache, draw.
  private func advance(_ lo: Int, _ hi: Int, _ t: Int, _ scores: UnsafeMutablePointer<Float>) {
    let M = hi - lo, C = self.C, T = self.T, V = self.V, N = count
    let xs = x + lo * C, hsb = h + lo * C
    // 1. input vectors [tok_emb(previous) or 0, cond] + pos_emb[t]                          // (M, C)
    for r in lo..<hi {
      let xr = x + r * C
      if t == 0 {
        for i in 0..<tokDim { xr[i] = 0 }
      } else {
        let e = engine.wte + Int(tok[r * T + t - 1]) * tokDim
        for i in 0..<tokDim { xr[i] = e[i] }
      }
      for j in 0..<condDim { xr[tokDim + j] = cond[r * condDim + j] }
      let pe = engine.wpe + t * C
      for i in 0..<C { xr[i] += pe[i] }
    }
    let scale = 1 / Float(hs).squareRoot()
    for (l, w) in engine.layers.enumerated() {
      // 2. attention with the cache
      GPTKernels.layerNorm(xs, hsb, w.ln1w, w.ln1b, rows: M, C)
      let q3 = qkv + lo * 3 * C
      GPTKernels.linearBias(hsb, w.wqkv, w.bqkv, q3, M: M, N: 3 * C, K: C)                     // (M, 3C)
      let kBase = cache + (2 * l) * N * T * C, vBase = cache + (2 * l + 1) * N * T * C      // (N, T, C) each
      for r in lo..<hi {
        let row = qkv + r * 3 * C
        let kr = kBase + (r * T) * C, vr = vBase + (r * T) * C
        for i in 0..<C { kr[t * C + i] = row[C + i]; vr[t * C + i] = row[2 * C + i] }
        let out = att + r * C
        for head in 0..<H {
          GPTKernels.attendOne(q: row + head * hs, keys: kr + head * hs, values: vr + head * hs, n: t + 1, hs: hs,
                               stride: C, scale: scale, scores: scores, out: out + head * hs)
        }
      }
      GPTKernels.linear(att + lo * C, w.wproj, xs, M: M, N: C, K: C, beta: 1)                  // x += att·Wᵀ
      GPTKernels.addBias(xs, w.bproj, rows: M, C)
      // 3. MLP
      GPTKernels.layerNorm(xs, hsb, w.ln2w, w.ln2b, rows: M, C)
      let f = fc + lo * 4 * C
      GPTKernels.linearBias(hsb, w.wfc, w.bfc, f, M: M, N: 4 * C, K: C)                        // (M, 4C)
      GPTKernels.geluInPlace(f, M * 4 * C)
      GPTKernels.linear(f, w.wfc2, xs, M: M, N: C, K: 4 * C, beta: 1)                         // x += …
      GPTKernels.addBias(xs, w.bfc2, rows: M, C)
    }
    // 4. head and draw
    GPTKernels.layerNorm(xs, hsb, engine.lnfw, engine.lnfb, rows: M, C)
    GPTKernels.linearBias(hsb, engine.head, nil, logits + lo * V, M: M, N: V, K: C)            // (M, V)
    for r in lo..<hi {
      let (token, sum) = GPTSampler.draw(logits + r * V, position: t, prefix: tok + r * T, config: engine.config,
                                         options: options, limits: limits, supportBin: supportBins.isEmpty ? -1 : supportBins[r],
                                         neighbours: neighbours + 3 * r, rng: &rngs[r])
      tok[r * T + t] = token
      sums[r] = sum
    }
  }

  /// Turns one row of logits (V values, overwritten with unnormalised probabilities) into a token.
  /// Shared by the cached sampler and the reference so both draw identically from equal logits.
  /// `neighbours` (3 floats per sequence) carries, from the digit before the last of an R value to the
  /// last one, the probabilities of the drawn digit's lower neighbour, itself and its upper neighbour
  /// (`SamplingOptions.rLevelInterpolation`). `supportBin` is the sequence's bin of `config.rSupport`
  /// (−1: none).
  /// - Returns: the token and the sum of the unnormalised probabilities.
  static func draw(_ p: UnsafeMutablePointer<Float>, position t: Int, prefix: UnsafePointer<Int32>,
                   config: GPTConfig, options: SamplingOptions, limits: [Float], supportBin: Int = -1,
                   neighbours: UnsafeMutablePointer<Float>, rng: inout RNG) -> (Int32, Float) {
    let V = config.vocabSize
    var n = V
    let tpv = config.rTokens.tokensPerValue
    let interpolate = options.rLevelInterpolation && tpv >= 2 && t < config.rTokens.tokenCount
    if t < config.rTokens.tokenCount {
      // A leading digit of fewer than 10 bits (RTokenizer.layerBits) has fewer valid values than V, and
      // the optional R constraint bounds the digit further.
      n = min(n, config.rTokens.digitCount(at: t))
      if options.constrainR {
        let rowPrefix = Array(UnsafeBufferPointer(start: prefix, count: t))
        n = min(n, config.rTokens.maxToken(at: t, prefix: rowPrefix[...], limits: limits) + 1)
        if t % tpv == 0, let lower = config.rLowerLimits {
          // The lower bound (older files have none) holds for the leading digit: no prefix logic, and
          // it is the digit a leaking GPT spreads over levels training never saw.
          let lo = min(config.rTokens.minLeadingDigit(ofValue: t / tpv, limit: lower[t / tpv]), n - 1)
          for j in 0..<lo { p[j] = -.infinity }
        }
        if t % tpv == 0, supportBin >= 0, let support = config.rSupport {
          support.mask(p, count: n, bin: supportBin, value: t / tpv)
        }
      }
      if interpolate, t % tpv == tpv - 1, (t - tpv + 1..<t).contains(where: { prefix[$0] != 0 }) {
        // The last digit of a value above the lowest level: its position inside the level.
        let sum = levelInterpolation(p, n, V, below: neighbours[0], at: neighbours[1], above: neighbours[2])
        return (Int32(GPTSampler.pick(p, V, target: rng.uniform() * sum)), sum)
      }
      for j in n..<V { p[j] = -.infinity }
    }
    if let k = options.topK, k < n {
      // k-th largest logit among the allowed ones; smaller logits are masked (ties are kept, as in minGPT).
      var tmp = Array(UnsafeBufferPointer(start: p, count: n))
      tmp.sort(by: >)
      let thr = tmp[k - 1]
      for j in 0..<n where p[j] < thr { p[j] = -.infinity }
    }
    if let top = options.rTopP, top < 1, t < config.rTokens.tokenCount, t % config.rTokens.tokensPerValue == 0 {
      maskOutsideNucleus(p, n, share: top, temperature: options.temperature)
    }
    let m = GPTKernels.maxValue(p, n)
    let sum = GPTKernels.expShiftSum(p, V, max: m, invT: 1 / options.temperature)
    let target = rng.uniform() * sum
    let token = GPTSampler.pick(p, V, target: target)
    if interpolate, t % tpv == tpv - 2 {
      // Outside the valid digits a neighbour counts as the drawn level itself (flat edge).
      let valid = min(n, config.rTokens.digitCount(at: t))
      let at = p[token] / sum
      neighbours[0] = token > 0 ? p[token - 1] / sum : at
      neighbours[1] = at
      neighbours[2] = token + 1 < valid ? p[token + 1] / sum : at
    }
    return (Int32(token), sum)
  }

  /// Writes into p[0..<V] the weights of the straight-line density inside a level: at its lower edge
  /// the mean of the level's and its lower neighbour's probability, at its middle the level's, at its
  /// upper edge the mean with the upper neighbour (a frequency polygon through the level centres).
  /// Entries from min(n, 1024) on are 0. - Returns: the sum of the weights.
  static func levelInterpolation(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ V: Int,
                                 below: Float, at: Float, above: Float) -> Float {
    let lower = (below + at) / 2, upper = (at + above) / 2, base = Float(RTokenizer.base)
    var sum: Float = 0
    for j in 0..<V {
      guard j < min(n, RTokenizer.base) else { p[j] = 0; continue }
      let x = (Float(j) + 0.5) / base   // position of the sub-level inside the level, (0, 1)
      let w = x < 0.5 ? lower + (at - lower) * 2 * x : at + (upper - at) * (2 * x - 1)
      p[j] = w
      sum += w
    }
    return sum
  }

  /// Masks (sets to −∞) every logit outside the nucleus: the smallest set of largest probabilities,
  /// softmax(p / temperature) over the first n entries, whose sum reaches `share`. Ties with the
  /// smallest kept probability are kept, so the result does not depend on the sort order.
  static func maskOutsideNucleus(_ p: UnsafeMutablePointer<Float>, _ n: Int, share: Float, temperature: Float) {
    let m = GPTKernels.maxValue(p, n)
    var q = [Double](repeating: 0, count: n)
    var total = 0.0
    for j in 0..<n where p[j] > -.infinity {
      q[j] = exp(Double((p[j] - m) / temperature))
      total += q[j]
    }
    let sorted = q.sorted(by: >)
    var cum = 0.0
    var threshold = sorted[0]
    for v in sorted {
      cum += v
      threshold = v
      if cum >= Double(share) * total { break }
    }
    for j in 0..<n where q[j] < threshold { p[j] = -.infinity }
  }

  /// The first j with p[0] + … + p[j] > target among the positive p[j] (the inverse CDF), or the
  /// last positive entry when rounding leaves the total at or below `target`. Blocks of 16 are
  /// summed with SIMD and skipped whole, so only one block is scanned serially.
  @inline(__always)
  static func pick(_ p: UnsafePointer<Float>, _ n: Int, target: Float) -> Int {
    var cum: Float = 0
    var j = 0
    var lastPositive = 0
    while j + 16 <= n {
      let v = GPTKernels.load8(p + j) + GPTKernels.load8(p + j + 8)
      let bs = v.sum()
      if cum + bs > target { break }
      if bs > 0 { for i in stride(from: j + 15, through: j, by: -1) where p[i] > 0 { lastPositive = i; break } }
      cum += bs
      j += 16
    }
    while j < n {
      if p[j] > 0 {
        cum += p[j]
        lastPositive = j
        if cum > target { return j }
      }
      j += 1
    }
    return lastPositive
  }

  /// Reference sampler without a cache: for every position the whole prefix goes through the
  /// differentiable model (`GPT.logits`, eval mode), as the reference code does. Slow; used to test
  /// that the cached sampler draws exactly the same tokens.
  /// - Returns: (N, T) tokens.
  public static func sampleWithoutCache(model: GPT, energies: [Double], seeds: [UInt64],
                                        options: SamplingOptions = .init()) -> [Int32] {
    let cfg = model.config, N = energies.count, T = cfg.blockSize, V = cfg.vocabSize
    var rngs = seeds.map { RNG(seed: $0) }
    var out = [Int32](repeating: 0, count: N * T)
    let limits = cfg.rLimits ?? [Float](repeating: Float(cfg.rTokens.rMax), count: cfg.rTokens.valueCount)
    var dummy = RNG(seed: 0)
    var neighbours = [Float](repeating: 0, count: 3 * N)
    let bins = supportBins(config: cfg, options: options, energies: energies)
    for t in 0..<T {
      var prefix = [Int32]()
      for i in 0..<N { prefix += out[(i * T)..<(i * T + t)] }
      let lg = withNoGrad { model.logits(tokens: prefix, energies: energies, training: false, rng: &dummy) }
      for i in 0..<N {
        var row = Array(lg.data[((i * (t + 1) + t) * V)..<((i * (t + 1) + t + 1) * V)])   // last position
        let pre = Array(out[(i * T)..<(i * T + T)])
        let tokn = row.withUnsafeMutableBufferPointer { rp in
          pre.withUnsafeBufferPointer { pp in
            neighbours.withUnsafeMutableBufferPointer { nb in
              draw(rp.baseAddress!, position: t, prefix: pp.baseAddress!, config: cfg, options: options,
                   limits: limits, supportBin: bins.isEmpty ? -1 : bins[i], neighbours: nb.baseAddress! + 3 * i,
                   rng: &rngs[i]).0
            }
          }
        }
        out[i * T + t] = tokn
      }
    }
    return out
  }
}

/// Carries the lane closure into `concurrentPerform`; lanes write disjoint rows and the call joins
/// before returning, so sharing is safe.
private struct LaneBox: @unchecked Sendable {
  let f: (Int) -> Void
  init(_ f: @escaping (Int) -> Void) { self.f = f }
}
