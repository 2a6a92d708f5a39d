// The leading R digits seen in training, per incident-energy bin: the per-energy side of the sampler's
// optional R constraint (`SamplingOptions.constrainR`). Fitted from training showers by
// `calovq fit-r-support`, stored in the GPT config (`GPTConfig.rSupport`).
import Foundation

/// Which leading digits each tokenised R value took in the training data, per bin of log10(E_inc).
///
/// Why: `rLimits`/`rLowerLimits` bound a value over all energies, which hardly bounds anything for a
/// layer (a deep layer is empty at 1 GeV and holds 10^-3 of a TeV shower). A small, undertrained GPT
/// leaks probability onto digits training never had at that energy: the ds3 layer-wise GPT at step 568
/// (runs/d3lP/f3, dense output) put 1–3 % of its deep layers (20–44) below the 0.015 MeV readout
/// threshold of one cell, where the training showers have none.
///
/// A bin's support is the union over the bin and its `neighbours` bins on each side (energies inside
/// a bin differ by up to a factor 10^width, and a sample's extremes are noisy), so it only removes what
/// training never showed near that energy.
///
/// ```swift
/// let s = RSupport.fit(tokens: aux, energies: e, tokenizer: cfg.rTokens)   // aux (N, tokenCount)
/// s.allowedLeadingDigits(bin: s.bin(forEnergy: 20_000), value: 30)         // e.g. (zero: false, nonZero: 180...410)
/// ```
public struct RSupport: Codable, Sendable, Equatable {
  /// log10(E_inc / MeV) at the lower edge of bin 0, e.g. 3.0.
  public var logEnergyStart: Double
  /// Width of a bin in log10(E_inc / MeV), e.g. 0.25.
  public var binWidth: Double
  /// [bin][value]: the leading digit 0 (for a log-quantised layer: an empty layer) occurred.
  public var zero: [[Bool]]
  /// [bin][value]: smallest non-zero leading digit seen; > `highest` when none was seen.
  public var lowest: [[Int]]
  /// [bin][value]: largest non-zero leading digit seen.
  public var highest: [[Int]]
  /// Optional [bin][value] offsets added to the logit of leading digit 0 before the draw (nil: none),
  /// fitted so that the GPT, running free, leaves a value at 0 (a layer empty) as often per energy bin
  /// as the training showers do (`calovq fit-r-support --empty-rates`). Why: under teacher forcing the
  /// ds3 layer-wise GPT (runs/d3lP/f3) predicts an empty layer at most slightly too often (layers 30–44 at
  /// 10–100 GeV: 0.00–0.08 above the data's rate), but running free it feeds on its own empty layers,
  /// and layer 36 at 10–30 GeV comes out empty in 81 % of its showers against 62 % in training. A
  /// global model's output calibration matches the same rates (`SpotRoundingTable` empty layers); a
  /// layer-wise model's calibration can only empty more layers, so the layer-wise side is fitted here.
  public var zeroLogitOffsets: [[Float]]? = nil

  /// Number of energy bins.
  public var binCount: Int { zero.count }

  /// The bin of an incident energy in MeV; energies outside the table use the nearest bin (0 MeV and
  /// NaN the first, infinity the last: Int of a non-finite value would trap).
  public func bin(forEnergy energy: Double) -> Int {
    let x = (Foundation.log10(energy) - logEnergyStart) / binWidth
    guard x.isFinite else { return x > 0 ? binCount - 1 : 0 }
    return Int(Swift.min(Swift.max(x.rounded(.down), 0), Double(binCount - 1)))
  }

  /// The leading digits allowed for value `v` in bin `b`: 0 when `zero`, and the range of non-zero ones
  /// (nil when none was seen).
  public func allowedLeadingDigits(bin b: Int, value v: Int) -> (zero: Bool, nonZero: ClosedRange<Int>?) {
    (zero[b][v], lowest[b][v] <= highest[b][v] ? lowest[b][v]...highest[b][v] : nil)
  }

  /// Sets to −∞ the logits p[0..<n] of leading digits of value `v` that bin `b` does not allow. Leaves
  /// p unchanged if that would leave no digit below n (an upper limit below the support).
  public func mask(_ p: UnsafeMutablePointer<Float>, count n: Int, bin b: Int, value v: Int) {
    let (z, range) = allowedLeadingDigits(bin: b, value: v)
    let nonZero = range.flatMap { $0.lowerBound < n ? $0.lowerBound...Swift.min($0.upperBound, n - 1) : nil }
    guard z || nonZero != nil else { return }
    if z, let o = zeroLogitOffsets { p[0] += o[b][v] }
    if !z { p[0] = -.infinity }
    let lo = nonZero?.lowerBound ?? n, hi = nonZero?.upperBound ?? n - 1
    if lo > 1 { for j in 1..<lo { p[j] = -.infinity } }
    if hi + 1 < n { for j in (hi + 1)..<n { p[j] = -.infinity } }
  }

  /// What is wrong with a table read from a file for a GPT with `valueCount` tokenised values and
  /// leading digits below `digitLimit`, or nil (a corrupt file must give an error, not a crash).
  public func problem(valueCount: Int, digitLimit: Int) -> String? {
    guard binCount >= 1, binWidth > 0, binWidth.isFinite, logEnergyStart.isFinite else {
      return "R support: needs ≥ 1 energy bin of positive width"
    }
    guard lowest.count == binCount, highest.count == binCount else { return "R support: table sizes disagree" }
    if let o = zeroLogitOffsets {
      guard o.count == binCount, o.allSatisfy({ $0.count == valueCount && $0.allSatisfy(\.isFinite) }) else {
        return "R support: the empty-rate offsets do not match the table or are not finite"
      }
    }
    for b in 0..<binCount {
      guard zero[b].count == valueCount, lowest[b].count == valueCount, highest[b].count == valueCount else {
        return "R support: bin \(b) has not \(valueCount) values"
      }
      for v in 0..<valueCount where lowest[b][v] <= highest[b][v] {
        guard lowest[b][v] >= 1, highest[b][v] < digitLimit else {
          return "R support: bin \(b) value \(v) digits \(lowest[b][v])…\(highest[b][v]) outside 1…\(digitLimit - 1)"
        }
      }
    }
    return nil
  }

  /// Fits the support from the auxiliary tokens of N training showers.
  /// - Parameters:
  ///   - tokens: (N, tokenizer.tokenCount) R tokens, row-major (`RTokenizer.encode(ratios:)`).
  ///   - energies: (N) incident energies in MeV.
  ///   - binsPerDecade: bins per factor 10 in energy, e.g. 4.
  ///   - neighbours: bins on each side merged into a bin's support, e.g. 1.
  public static func fit(tokens: [Int32], energies: [Double], tokenizer: RTokenizer, binsPerDecade: Int = 4,
                         neighbours: Int = 1) -> RSupport {
    let A = tokenizer.tokenCount, tpv = tokenizer.tokensPerValue, V = tokenizer.valueCount, n = energies.count
    precondition(n >= 1 && tokens.count == n * A, "RSupport.fit: \(tokens.count) tokens for \(n) showers × \(A)")
    precondition(binsPerDecade >= 1 && neighbours >= 0, "RSupport.fit: binsPerDecade ≥ 1, neighbours ≥ 0")
    let logs = energies.map { Foundation.log10($0) }
    let width = 1 / Double(binsPerDecade)
    let start = (logs.min()! * Double(binsPerDecade)).rounded(.down) / Double(binsPerDecade)
    let count = Swift.max(1, Int(((logs.max()! - start) / width).rounded(.down)) + 1)
    var seen = RSupport(logEnergyStart: start, binWidth: width,
                        zero: .init(repeating: .init(repeating: false, count: V), count: count),
                        lowest: .init(repeating: .init(repeating: Int.max, count: V), count: count),
                        highest: .init(repeating: .init(repeating: 0, count: V), count: count))
    var filled = [Bool](repeating: false, count: count)
    for s in 0..<n {
      let b = seen.bin(forEnergy: energies[s])
      filled[b] = true
      for v in 0..<V {
        let d = Int(tokens[s * A + v * tpv])
        if d == 0 { seen.zero[b][v] = true } else {
          seen.lowest[b][v] = Swift.min(seen.lowest[b][v], d)
          seen.highest[b][v] = Swift.max(seen.highest[b][v], d)
        }
      }
    }
    // Each bin: the union of the filled bins within `neighbours` (widened until one is filled).
    var out = seen
    for b in 0..<count {
      var reach = neighbours
      while !(Swift.max(0, b - reach)...Swift.min(count - 1, b + reach)).contains(where: { filled[$0] }) { reach += 1 }
      for v in 0..<V {
        var z = false, lo = Int.max, hi = 0
        for c in Swift.max(0, b - reach)...Swift.min(count - 1, b + reach) where filled[c] {
          z = z || seen.zero[c][v]
          lo = Swift.min(lo, seen.lowest[c][v]); hi = Swift.max(hi, seen.highest[c][v])
        }
        out.zero[b][v] = z
        out.lowest[b][v] = lo == Int.max ? 1 : lo
        out.highest[b][v] = lo == Int.max ? 0 : hi
      }
    }
    return out
  }
}
