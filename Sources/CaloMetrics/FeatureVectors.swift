// The CaloChallenge high-level feature vector (calochallenge_facts.md §d.3) used by FPD and KPD,
// plus the seeded random numbers used to draw its subsamples.

import Foundation

/// Row-major matrix of per-shower feature vectors, stored as Float to halve memory
/// (100k ds2/ds3 showers × 362 columns = 145 MB). Shape (rows, cols).
public struct FeatureMatrix: Sendable, Equatable {
  public let cols: Int
  public var values: [Float]

  public init(cols: Int, values: [Float] = []) {
    precondition(cols > 0 && values.count % cols == 0, "FeatureMatrix: \(values.count) values, \(cols) columns")
    self.cols = cols
    self.values = values
  }

  public var rows: Int { values.count / cols }

  /// Appends the §d.3 vectors of the showers in `table`:
  /// [log10 E_inc, log10(E_l + 1e-8), ⟨η⟩/100, ⟨φ⟩/100, σ_η/100, σ_φ/100, log10(E_tot + 1e-8), sp_l,
  ///  ⟨r⟩/100, σ_r/100] — a column-wise transform, since `FeatureTable` rows use the same order.
  public mutating func append(_ table: FeatureTable) {
    let L = table.layout
    precondition(L.width == cols, "FeatureMatrix has \(cols) columns, table \(L.width)")
    // Grow geometrically: reserving exactly `count + n` on every batch would reallocate and copy the
    // whole matrix each time (quadratic in the number of batches).
    let needed = values.count + table.values.count
    if values.capacity < needed { values.reserveCapacity(max(needed, 2 * values.capacity)) }
    for i in 0..<table.count {
      let row = i * cols
      for c in 0..<cols {
        let x = table.values[row + c]
        let y: Double
        if c == L.incidentEnergy {
          y = log10(x)
        } else if c < L.ecEta || c == L.totalEnergy {
          y = log10(x + 1e-8)
        } else if c == L.sparsity || (c > L.sparsity && c < L.ecR) {
          y = x
        } else {
          y = x / 100
        }
        values.append(Float(y))
      }
    }
  }

  /// Builds the matrix of a whole table.
  public init(table: FeatureTable) {
    self.init(cols: table.layout.width)
    append(table)
  }

  /// Per-column maximum of |x|, with 0 replaced by 1 (jetnet's `normalise=True`: columns that are
  /// zero in the reference stay unscaled).
  public func columnScales() -> [Double] {
    var m = [Float](repeating: 0, count: cols)
    for i in 0..<rows { for c in 0..<cols { m[c] = max(m[c], abs(values[i * cols + c])) } }
    return m.map { $0 == 0 ? 1 : Double($0) }
  }

  /// Every column divided by `scales`.
  public func scaled(by scales: [Double]) -> FeatureMatrix {
    precondition(scales.count == cols, "scaled: \(scales.count) scales for \(cols) columns")
    var v = values
    for i in 0..<rows { for c in 0..<cols { v[i * cols + c] = Float(Double(v[i * cols + c]) / scales[c]) } }
    return FeatureMatrix(cols: cols, values: v)
  }
}

/// xoshiro256** seeded through SplitMix64: small, fast, and the same stream on every platform.
/// (numpy's Generator streams are not reproduced, so subsample draws differ from jetnet's.)
public struct SeededRandom: RandomNumberGenerator, Sendable {
  var s: (UInt64, UInt64, UInt64, UInt64)

  public init(seed: UInt64) {
    var z = seed
    func splitmix() -> UInt64 {
      z &+= 0x9E37_79B9_7F4A_7C15
      var x = z
      x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
      x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
      return x ^ (x >> 31)
    }
    s = (splitmix(), splitmix(), splitmix(), splitmix())
  }

  public mutating func next() -> UInt64 {
    let r = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
    let t = s.1 << 17
    s.2 ^= s.0
    s.3 ^= s.1
    s.1 ^= s.2
    s.0 ^= s.3
    s.2 ^= t
    s.3 = (s.3 << 45) | (s.3 >> 19)
    return r
  }

  /// `count` indices drawn uniformly with replacement from 0..<n.
  public mutating func indices(_ count: Int, below n: Int) -> [Int] {
    (0..<count).map { _ in Int.random(in: 0..<n, using: &self) }
  }

  /// A standard normal deviate (Box–Muller).
  public mutating func normal() -> Double {
    let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &self)
    let v = Double.random(in: 0..<1, using: &self)
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }
}
