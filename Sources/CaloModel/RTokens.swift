// R tokenisation of Calo-VQ stage 2 (calovq_facts.md §6.3, §6.6): energy ratios R = E_dep/E_inc
// become base-1024 digits that share the GPT's vocabulary with the shower codes, and back.
// The reference uses a plain linear floor quantiser; `logMin` selects our logarithmic variant, whose
// leading digit resolves ~2 % steps from 1e-8 to rMax instead of 0.3 % of E_inc (see `level`).

import Foundation

/// Turns the energy ratios of a shower into auxiliary GPT tokens and back.
///
/// A value R ≥ 0 is quantised as `q = floor(2^bits · R / rMax)` (Float32 product, as in the
/// reference), clipped to `[0, 2^bits − 1]`, and written as `tokensPerValue` base-1024 digits,
/// most significant first. Decoding is `q / 2^bits · rMax` (no half-bin offset, so decoded values are
/// biased low by half a step: the reference's behaviour, §9.10).
///
/// In **global** mode one value (the total R) is tokenised. In **layer-wise** mode the tokenised
/// values are the sum of the layer ratios followed by each layer's ratio; decoding rescales the
/// layers so that they add up to the decoded total (§6.6).
///
/// ```swift
/// let t = RTokenizer(mode: .layerwise(layers: 5), tokensPerValue: 2, rMax: 3)
/// t.encodeValue(0.877889)       // [299, 668]   (q = 306844)
/// ```
public struct RTokenizer: Codable, Sendable, Equatable {
  /// Which ratios are tokenised.
  public enum Mode: Codable, Sendable, Equatable {
    /// One value: the total R of the shower (ds2, ds3 and the global ds1 variant).
    case global
    /// 1 + `layers` values: the sum, then each layer's R in layer order (ds1, ds3 layer-wise, ...).
    case layerwise(layers: Int)
  }

  /// Vocabulary size the digits live in (the GPT's K = 1024).
  public static let base = 1024
  /// Bits carried by one token, log2(1024).
  public static let bitsPerToken = 10

  /// Global or layer-wise.
  public let mode: Mode
  /// Quantiser resolution in bits, e.g. 20 (two tokens) or 10 (one token).
  public let bits: Int
  /// Tokens per value: ceil(bits / 10).
  public let tokensPerValue: Int
  /// Upper end of the quantiser range (values ≥ rMax saturate), e.g. 3 (ds1), 1.3 (ds2), 1.7 (ds3).
  public let rMax: Double
  /// nil: the reference's linear quantiser. Otherwise the lower end of a logarithmic one, e.g. 1e-8:
  /// level 0 holds every R ≤ logMin (zero among them), levels 1…2^bits − 1 split log(R) evenly up to
  /// rMax. Why: a layer of a hadron shower often holds a MIP's few MeV, R ~ 1e-6 at TeV energies, which
  /// the linear quantiser (step rMax / 2^20 ≈ 3e-6) rounds to 0, and whose leading digit is always 0, so
  /// the GPT must learn the whole distribution in the second digit. Measured on ds1-pion it fixes that
  /// but is worse overall (GPT/README.md), so presets stay linear. Old model files have no such key.
  public let logMin: Double?
  /// With `logMin`: true keeps the linear quantiser for value 0, the total R (the only value in global
  /// mode, the sum in layer-wise mode), and uses the logarithmic one for the layers (nil or false: log
  /// for every value). Why: the total sits near 1, where a log level of the leading digit is 1.9 % wide
  /// (ln(3/1e-8)/1024) — wider than the data's whole spread at high energy (ds2, 0.6–1 TeV: standard
  /// deviation 0.5 %) — so the shape lives in the second digit, which a small GPT learns nearly uniform
  /// (ds2 layer-wise, all-log GPT: generated E_tot/E_inc spread evenly within its leading levels, 10–90 %
  /// range 0.976–1.005 at 0.3–1 TeV against the data's 0.981–0.997). A linear leading digit is 0.29 %.
  public let linearTotal: Bool?
  /// Layer-wise mode: the quantiser resolution of the layer ratios (values 1…), nil = `bits`. It must
  /// need the same number of tokens as `bits`, so it only coarsens the leading digit: with 16 bits in
  /// two tokens the leading digit has 64 levels and the second 1024 within each. Why: a layer's
  /// leading digit is a 1024-way class the GPT learns without any notion of neighbouring levels; with
  /// the log quantiser a ds1-pion layer's distribution at one energy spans a few hundred of them, and a
  /// small GPT draws it visibly wider than the data (layer 1 at 1 GeV: the MIP peak's two log bins
  /// hold 79 % of the data and 55 % of the generated showers, runs/pi3). With 64 log levels one level is
  /// 36 % wide in R — about one bin of the evaluation's layer-energy histogram — so the distribution
  /// lives in a handful of classes, and the second digit only places a value inside its level.
  public let layerBits: Int?

  /// Creates a tokenizer with `tokensPerValue` full tokens (bits = 10 · tokensPerValue).
  public init(mode: Mode, tokensPerValue: Int, rMax: Double, logMin: Double? = nil, linearTotal: Bool? = nil,
              layerBits: Int? = nil)
  {
    self.init(mode: mode, bits: Self.bitsPerToken * tokensPerValue, rMax: rMax, logMin: logMin,
              linearTotal: linearTotal, layerBits: layerBits)
  }

  /// Creates a tokenizer with a bit count (the reference's `R_bits`); tokensPerValue = ceil(bits/10).
  public init(mode: Mode, bits: Int, rMax: Double, logMin: Double? = nil, linearTotal: Bool? = nil,
              layerBits: Int? = nil)
  {
    if let problem = Self.problem(mode: mode, bits: bits, rMax: rMax, logMin: logMin, layerBits: layerBits) {
      preconditionFailure("RTokenizer: " + problem)
    }
    let tokens = Self.tokens(forBits: bits)
    self.mode = mode
    self.bits = bits
    self.tokensPerValue = tokens
    self.rMax = rMax
    self.logMin = logMin
    self.linearTotal = logMin != nil && linearTotal == true ? true : nil
    self.layerBits = layerBits == bits ? nil : layerBits
  }

  private enum CodingKeys: String, CodingKey { case mode, bits, tokensPerValue, rMax, logMin, linearTotal, layerBits }

  /// Reads a tokenizer from a model file's config, refusing values the initialiser would trap on (a
  /// corrupt file must give an error, not a crash): bits outside 1…60, rMax ≤ 0, logMin outside
  /// (0, rMax), layerBits not fitting the tokens, or tokensPerValue disagreeing with bits.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let mode = try c.decode(Mode.self, forKey: .mode)
    let bits = try c.decode(Int.self, forKey: .bits)
    let rMax = try c.decode(Double.self, forKey: .rMax)
    let logMin = try c.decodeIfPresent(Double.self, forKey: .logMin)
    let layerBits = try c.decodeIfPresent(Int.self, forKey: .layerBits)
    func bad(_ what: String) -> DecodingError {
      .dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "R tokenizer: \(what)"))
    }
    if let problem = Self.problem(mode: mode, bits: bits, rMax: rMax, logMin: logMin, layerBits: layerBits) { throw bad(problem) }
    let tokens = Self.tokens(forBits: bits)
    if let t = try c.decodeIfPresent(Int.self, forKey: .tokensPerValue), t != tokens {
      throw bad("\(t) tokens per value for \(bits) bits")
    }
    self.init(mode: mode, bits: bits, rMax: rMax, logMin: logMin,
              linearTotal: try c.decodeIfPresent(Bool.self, forKey: .linearTotal), layerBits: layerBits)
  }

  /// What is wrong with these settings, or nil: the one set of rules behind the initialiser's trap and
  /// the model-file reader's error.
  static func problem(mode: Mode, bits: Int, rMax: Double, logMin: Double?, layerBits: Int?) -> String? {
    guard (1...60).contains(bits) else { return "bits must be in 1…60, got \(bits)" }
    guard rMax > 0 && rMax.isFinite else { return "rMax must be positive and finite, got \(rMax)" }
    if let m = logMin, !(m > 0 && m < rMax) { return "logMin must be in (0, rMax), got \(m)" }
    if case let .layerwise(n) = mode, n < 1 { return "layer-wise mode needs ≥ 1 layer, got \(n)" }
    if let b = layerBits {
      let range = layerBitsRange(tokensPerValue: tokens(forBits: bits))
      guard range.contains(b) else { return "layerBits must be in \(range), got \(b)" }
      if case .global = mode { return "layerBits needs layer-wise mode" }
    }
    return nil
  }

  /// Tokens per value for a bit count: ceil(bits / 10).
  static func tokens(forBits bits: Int) -> Int { (bits + bitsPerToken - 1) / bitsPerToken }

  /// The layer bit counts that keep `tokensPerValue` tokens per value, e.g. 11...20 for two tokens.
  public static func layerBitsRange(tokensPerValue: Int) -> ClosedRange<Int> {
    (bitsPerToken * (tokensPerValue - 1) + 1)...(bitsPerToken * tokensPerValue)
  }

  /// The same tokenisation with a logarithmic quantiser from `logMin` to rMax (nil: linear), for the
  /// layers only when `linearTotal`.
  public func withLogMin(_ logMin: Double?, linearTotal: Bool = false) -> RTokenizer {
    RTokenizer(mode: mode, bits: bits, rMax: rMax, logMin: logMin, linearTotal: linearTotal, layerBits: layerBits)
  }

  /// The same tokenisation with `layerBits` bits for the layer ratios (nil: `bits`).
  public func withLayerBits(_ layerBits: Int?) -> RTokenizer {
    RTokenizer(mode: mode, bits: bits, rMax: rMax, logMin: logMin, linearTotal: linearTotal, layerBits: layerBits)
  }

  /// "linear 0…3.0", "log 1e-08…3.0" or "log 1e-08…3.0 (total: linear 0…3.0)", for logs and reports;
  /// with `layerBits` also ", layers 16 bits".
  public var quantiserDescription: String {
    let layers = layerBits.map { ", layers \($0) bits" } ?? ""
    guard let m = logMin else { return "linear 0…\(rMax)" + layers }
    return "log \(m)…\(rMax)" + (linearTotal == true ? " (total: linear 0…\(rMax))" : "") + layers
  }

  /// The quantiser resolution of tokenised value `v` (0 = the total): `layerBits` for the layers.
  @inline(__always)
  public func bits(ofValue v: Int) -> Int { v > 0 ? layerBits ?? bits : bits }

  /// The largest level of tokenised value `v`, 2^bits(ofValue: v) − 1.
  @inline(__always)
  public func maxLevel(ofValue v: Int) -> Int { (1 << bits(ofValue: v)) - 1 }

  /// The lower end of the log quantiser of tokenised value `v` (0 = the total), nil where it is linear.
  @inline(__always)
  public func logMin(ofValue v: Int) -> Double? { v == 0 && linearTotal == true ? nil : logMin }

  /// Number of ratios the stage-1 model reports per shower (1 global, or the number of layers).
  public var ratiosPerShower: Int {
    switch mode {
    case .global: return 1
    case let .layerwise(n): return n
    }
  }

  /// Number of tokenised values per shower (1 global; 1 + layers layer-wise).
  public var valueCount: Int {
    switch mode {
    case .global: return 1
    case let .layerwise(n): return n + 1
    }
  }

  /// Number of auxiliary tokens per shower (values × tokens per value), e.g. 12 for ds1 photons.
  public var tokenCount: Int { valueCount * tokensPerValue }

  /// The largest quantiser level of the total, 2^bits − 1.
  public var maxLevel: Int { (1 << bits) - 1 }

  /// Quantiser level of one value: floor(2^bits · R / rMax) in Float32, clipped to [0, 2^bits − 1].
  /// NaN maps to 0. Logarithmic (`logMin` set): 0 for R ≤ logMin, else
  /// 1 + floor((2^bits − 1) · ln(R / logMin) / ln(rMax / logMin)) in Double, clipped to 2^bits − 1.
  /// `v` is the index of the tokenised value (0 = the total, the only value of a global model), which
  /// picks its quantiser (`logMin(ofValue:)`) and resolution (`bits(ofValue:)`); it matters only with
  /// `linearTotal` or `layerBits`.
  public func level(_ r: Float, ofValue v: Int = 0) -> Int {
    let maxLevel = maxLevel(ofValue: v)
    if let m = logMin(ofValue: v) {
      guard r.isFinite else { return r == .infinity ? maxLevel : 0 }
      if Double(r) <= m { return 0 }
      let u = Foundation.log(Double(r) / m) / Foundation.log(rMax / m)
      return Swift.min(maxLevel, 1 + Int(u * Double(maxLevel)))
    }
    let x = Float(1 << bits(ofValue: v)) * r / Float(rMax)
    guard x.isFinite else { return x == .infinity ? maxLevel : 0 }
    if x <= 0 { return 0 }
    if Double(x) >= Double(maxLevel) { return maxLevel }
    return Int(x)  // truncation == floor for x > 0
  }

  /// Base-1024 digits of a level, most significant first (`tokensPerValue` digits).
  public func digits(_ q: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: tokensPerValue)
    var v = q
    for i in stride(from: tokensPerValue - 1, through: 0, by: -1) {
      out[i] = Int32(v % Self.base)
      v /= Self.base
    }
    return out
  }

  /// Level encoded by `tokensPerValue` digits (most significant first) of tokenised value `v`, clipped
  /// to its valid range (a 2-token value can spell levels beyond 2^bits − 1 only if bits is not a
  /// multiple of 10, e.g. a sampled leading digit ≥ 64 with 16 layer bits).
  public func level(digits d: ArraySlice<Int32>, ofValue v: Int = 0) -> Int {
    precondition(d.count == tokensPerValue, "RTokenizer: \(d.count) digits, need \(tokensPerValue)")
    var q = 0
    for t in d { q = q * Self.base + Int(t) }
    return Swift.min(q, maxLevel(ofValue: v))
  }

  /// Tokens of tokenised value `v` (0 = the total).
  public func encodeValue(_ r: Float, ofValue v: Int = 0) -> [Int32] { digits(level(r, ofValue: v)) }

  /// Decoded value of a level: q / 2^bits · rMax (Double arithmetic, returned as Float).
  /// Logarithmic: 0 for level 0, else the geometric middle of the level's range,
  /// logMin · (rMax / logMin)^((q − ½) / (2^bits − 1)). `v` as in `level(_:ofValue:)`.
  public func value(level q: Int, ofValue v: Int = 0) -> Float {
    if let m = logMin(ofValue: v) {
      guard q > 0 else { return 0 }
      return Float(m * Foundation.pow(rMax / m, (Double(q) - 0.5) / Double(maxLevel(ofValue: v))))
    }
    return Float(Double(q) / Double(1 << bits(ofValue: v)) * rMax)
  }

  /// Decoded value of the tokens of tokenised value `v` (0 = the total).
  public func decodeValue(_ tokens: ArraySlice<Int32>, ofValue v: Int = 0) -> Float {
    value(level: level(digits: tokens, ofValue: v), ofValue: v)
  }

  /// Auxiliary tokens of N showers.
  /// - Parameter ratios: (N, ratiosPerShower) row-major: the total R (global) or each layer's R.
  /// - Returns: (N, tokenCount) row-major tokens in 0..<1024.
  public func encode(ratios: [Float]) -> [Int32] {
    let nR = ratiosPerShower
    precondition(ratios.count % nR == 0, "RTokenizer.encode: \(ratios.count) ratios is not a multiple of \(nR)")
    let n = ratios.count / nR
    var out: [Int32] = []
    out.reserveCapacity(n * tokenCount)
    for s in 0..<n {
      let row = ratios[(s * nR)..<((s + 1) * nR)]
      if case .layerwise = mode {
        // The leading value is the sum of the layer ratios (Float32 sum, as the reference's torch sum).
        var total: Float = 0
        for r in row { total += r }
        out += encodeValue(total, ofValue: 0)
        for r in row { out += encodeValue(r, ofValue: 1) }
      } else {
        out += encodeValue(row[row.startIndex], ofValue: 0)
      }
    }
    return out
  }

  /// How decoded layer ratios are made to add up to the decoded total.
  public enum LayerFit: String, Codable, Sendable, CaseIterable {
    /// Every layer times f = S / Σ R̂_l (§6.6, the reference).
    case proportional
    /// Layer l times exp(g · R̂_l / max R̂), g chosen so the layers add up to S: to first order the
    /// least-squares correction when each layer's error is proportional to its size, so the large
    /// layers absorb the mismatch and a small layer keeps its value. Why: a small GPT does not make
    /// the layers add up to the total it drew first (ds1-pion at 4 GeV, runs/pi8c: S / Σ R̂_l has a
    /// 10–90 % range of 0.84–1.24), and the proportional rule passes that spread on to every layer,
    /// e.g. widening the MIP peak of layer 0 (a 2.4 MeV deposit) by ±20 %.
    case sizeWeighted = "size-weighted"
  }

  /// Ratios of N showers from their auxiliary tokens (inverse of `encode` up to quantisation).
  ///
  /// Layer-wise: with decoded sum S and layers R̂_l, the layers are rescaled to add up to S, by
  /// `fit`. When Σ R̂_l is 0 the reference's 0/0 → 1 rule applies; we also keep the layers when S > 0
  /// but all layers are 0 (the reference would produce NaN there).
  /// - Parameter tokens: (N, tokenCount) row-major.
  /// - Returns: (N, ratiosPerShower) row-major.
  public func decode(tokens: [Int32], fit: LayerFit = .proportional) -> [Float] {
    precondition(tokens.count % tokenCount == 0, "RTokenizer.decode: \(tokens.count) tokens is not a multiple of \(tokenCount)")
    let n = tokens.count / tokenCount, tpv = tokensPerValue
    var out: [Float] = []
    out.reserveCapacity(n * ratiosPerShower)
    for s in 0..<n {
      let base = s * tokenCount
      switch mode {
      case .global:
        out.append(decodeValue(tokens[base..<(base + tpv)], ofValue: 0))
      case let .layerwise(layers):
        let total = decodeValue(tokens[base..<(base + tpv)], ofValue: 0)
        var layerR = [Float](repeating: 0, count: layers)
        var sum: Float = 0
        for l in 0..<layers {
          let o = base + (l + 1) * tpv
          layerR[l] = decodeValue(tokens[o..<(o + tpv)], ofValue: l + 1)
          sum += layerR[l]
        }
        switch fit {
        case .proportional:
          let f: Float = sum > 0 ? total / sum : 1
          for l in 0..<layers { out.append(layerR[l] * f) }
        case .sizeWeighted:
          out += Self.sizeWeightedFit(layerR, sum: sum, total: total)
        }
      }
    }
    return out
  }

  /// Layers R_l · exp(g · R_l / max R) that add up to `total` (`LayerFit.sizeWeighted`); g by bisection
  /// (the sum rises monotonically with g, from 0 to ∞ when some R_l > 0). All layers become 0 when
  /// the total is 0; with all layers 0 they are kept.
  static func sizeWeightedFit(_ r: [Float], sum: Float, total: Float) -> [Float] {
    guard sum > 0 else { return r }
    guard total > 0 else { return r.map { _ in 0 } }
    let largest = Double(r.max()!), target = Double(total)
    let w = r.map { Double($0) / largest }
    func fitted(_ g: Double) -> Double { zip(r, w).reduce(0) { $0 + Double($1.0) * Foundation.exp(g * $1.1) } }
    // Bracket g: scaling every layer by target / sum is g = ln(target / sum) with all weights 1, so
    // that g undershoots when the target is above the sum and overshoots below it. Above, the largest
    // layer alone reaches the target at g = ln(target / largest); below, step down until under it.
    let g0 = Foundation.log(target / Double(sum))
    var lo = g0, hi = g0
    if target >= Double(sum) {
      hi = Foundation.log(target / largest)
    } else {
      var step = 1.0
      repeat { lo = g0 - step; step *= 2 } while fitted(lo) > target && step < 1e15
    }
    for _ in 0..<100 {
      let mid = (lo + hi) / 2
      if fitted(mid) < target { lo = mid } else { hi = mid }
    }
    let g = (lo + hi) / 2, reached = fitted(g)
    guard reached > 0 else { return r.map { Float(Double($0) * target / Double(sum)) } }
    let exact = target / reached   // ≈ 1; makes the layers add up to the total to rounding
    return zip(r, w).map { Float(Double($0) * Foundation.exp(g * $1) * exact) }
  }

  /// Number of tokens that spell a level at auxiliary position `position` (0..<tokenCount): 1024,
  /// except for the leading digit of a value whose bits are not a multiple of 10 (e.g. 64 with 16
  /// layer bits). The sampler never draws beyond it: a larger leading digit would clip to the top level.
  public func digitCount(at position: Int) -> Int {
    let v = position / tokensPerValue
    guard position % tokensPerValue == 0 else { return Self.base }
    return 1 << (bits(ofValue: v) - Self.bitsPerToken * (tokensPerValue - 1))
  }

  /// Smallest leading digit of value `v` that keeps it at or above `limit` to within one leading-digit
  /// step (the lower side of the sampler's optional R constraint).
  public func minLeadingDigit(ofValue v: Int, limit: Float) -> Int {
    Int(digits(level(limit, ofValue: v))[0])
  }

  /// Largest token allowed at auxiliary position `position` (0..<tokenCount) so that the value being
  /// written stays ≤ `limits[value]`, given the tokens already drawn for that value (`prefix`, the
  /// more significant digits). Used by the optional R constraint of the sampler.
  /// - Parameter limits: one upper bound per tokenised value (valueCount entries).
  public func maxToken(at position: Int, prefix: ArraySlice<Int32>, limits: [Float]) -> Int {
    let v = position / tokensPerValue, d = position % tokensPerValue
    let qMax = level(limits[v], ofValue: v)
    let limitDigits = digits(qMax)
    // If every more significant digit equals the limit's, this digit is bounded by the limit's digit.
    let start = position - d
    for i in 0..<d where prefix[prefix.startIndex + start + i] != limitDigits[i] {
      return prefix[prefix.startIndex + start + i] < limitDigits[i] ? Self.base - 1 : 0
    }
    return Int(limitDigits[d])
  }
}
