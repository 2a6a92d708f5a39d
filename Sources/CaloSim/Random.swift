// Seeded random numbers for the simulator. Every shower gets its own stream derived from
// (run seed, shower index), so the output does not depend on how showers are spread over threads.

import Foundation

/// xoshiro256** generator seeded through SplitMix64; small, fast and statistically solid for
/// Monte Carlo. A value type: copying it forks the stream, so keep one per shower.
public struct SimRNG: Sendable {
  private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  /// A stream fully determined by `seed`.
  public init(seed: UInt64) {
    var x = seed
    func splitmix(_ x: inout UInt64) -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
    if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is the one fixed point
  }

  /// The stream of shower `index` (or any other sub-task) of a run with seed `seed`.
  /// Mixing both numbers through SplitMix keeps neighbouring indices and seeds uncorrelated.
  public init(seed: UInt64, stream index: UInt64) {
    var h = seed &* 0xD1B5_4A32_D192_ED03 ^ (index &+ 0x632B_E59B_D9B4_E019) &* 0x9E37_79B9_7F4A_7C15
    h ^= h >> 29
    self.init(seed: h)
  }

  /// Next raw 64-bit value.
  @inline(__always) public mutating func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
    s2 ^= t
    s3 = (s3 << 45) | (s3 >> 19)
    return result
  }

  /// Uniform in the open interval (0, 1): never exactly 0 or 1, so logs and ratios stay finite.
  @inline(__always) public mutating func uniform() -> Double {
    (Double(next() >> 11) + 0.5) * 0x1p-53
  }

  /// Uniform integer in 0..<n (multiply-high; bias below 2^-32 for the small n used here).
  @inline(__always) public mutating func int(below n: Int) -> Int {
    Int(((next() >> 32) &* UInt64(n)) >> 32)  // parenthesised: >> binds tighter than &* in Swift
  }

  /// Standard normal (Box–Muller; one value per call keeps the struct state-free of caches).
  public mutating func normal() -> Double {
    let u1 = uniform(), u2 = uniform()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// Exponential with the given mean.
  @inline(__always) public mutating func exponential(mean: Double) -> Double { -mean * log(uniform()) }

  /// Gamma(shape k, scale 1) by Marsaglia–Tsang; shape < 1 uses the Gamma(k+1)·U^(1/k) boost.
  public mutating func gamma(shape k: Double) -> Double {
    precondition(k > 0, "gamma shape must be > 0, got \(k)")
    if k < 1 {
      let g = gamma(shape: k + 1)
      return g * pow(uniform(), 1 / k)
    }
    let d = k - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double, v: Double
      repeat {
        x = normal()
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = uniform()
      if u < 1 - 0.0331 * x * x * x * x { return d * v }
      if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
    }
  }

  /// Beta(a, b) from two gammas.
  public mutating func beta(_ a: Double, _ b: Double) -> Double {
    let x = gamma(shape: a), y = gamma(shape: b)
    return x / (x + y)
  }

  /// Poisson with mean `mean` (inversion below 30, rounded normal approximation above: only used for
  /// counts where that is more than accurate enough).
  public mutating func poisson(mean: Double) -> Int {
    if mean <= 0 { return 0 }
    if mean < 30 {
      let l = exp(-mean)
      var k = 0
      var p = uniform()
      while p > l {
        k += 1
        p *= uniform()
      }
      return k
    }
    return max(0, Int((mean + mean.squareRoot() * normal()).rounded()))
  }
}
