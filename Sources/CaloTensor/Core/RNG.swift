// Seeded pseudo-random numbers for initialisers, dropout and sampling. Same seed => same stream on
// every platform (no use of the system generator).
import Foundation

/// xoshiro256** seeded through SplitMix64: fast, 2^256 period, reproducible across runs.
/// A value type: pass it `inout`; copying it forks an identical stream.
public struct RNG: RandomNumberGenerator, Sendable {
  private var s0, s1, s2, s3: UInt64

  /// Creates a generator; equal seeds give equal streams.
  public init(seed: UInt64) {
    var x = seed
    func splitmix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
  }

  /// Next 64 random bits.
  public mutating func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
    s3 = (s3 << 45) | (s3 >> 19)
    return result
  }

  /// Uniform in [0, 1) with 24 random bits (every value exactly representable as Float).
  public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

  /// Uniform in [lo, hi).
  public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }

  /// Uniform double in [0, 1) with 53 random bits.
  public mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

  /// Standard normal N(0,1) by Box-Muller (one of the pair is used; simple and reproducible).
  public mutating func normal() -> Float {
    var u1 = uniformDouble()
    if u1 < 1e-300 { u1 = 1e-300 }
    let u2 = uniformDouble()
    return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
  }

  /// N(mean, std²).
  public mutating func normal(mean: Float, std: Float) -> Float { mean + std * normal() }

  /// Integer in 0..<n.
  public mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

extension Tensor {
  /// Uniform U[lo, hi) values.
  public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout RNG, requiresGrad: Bool = false) -> Tensor {
    let n = shape.reduce(1, *)
    var d = [Float](repeating: 0, count: n)
    for i in 0..<n { d[i] = rng.uniform(lo, hi) }
    return Tensor(shape, data: d, requiresGrad: requiresGrad)
  }

  /// Normal N(mean, std²) values.
  public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout RNG, requiresGrad: Bool = false) -> Tensor {
    let n = shape.reduce(1, *)
    var d = [Float](repeating: 0, count: n)
    for i in 0..<n { d[i] = rng.normal(mean: mean, std: std) }
    return Tensor(shape, data: d, requiresGrad: requiresGrad)
  }
}
