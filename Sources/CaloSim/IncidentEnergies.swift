// Incident-energy spectra as in the CaloChallenge files: ds1 the 15 powers of two with the official
// per-energy proportions, ds2/ds3 log-uniform in 1 GeV – 1 TeV, or a fixed energy.

import CaloGeometry
import Foundation

/// How incident energies (MeV) are chosen for a run.
public enum IncidentEnergies: Sendable, Equatable {
  /// ds1: the given subset of 2^8 … 2^22 MeV (all 15 if nil), with counts proportional to the official
  /// per-energy counts of `kind` and rows shuffled (the official files are shuffled too).
  case ds1(kind: DatasetKind, subset: [Double]?)
  /// Log-uniform between the two energies (MeV).
  case logUniform(min: Double, max: Double)
  /// Every shower at this energy (MeV).
  case fixed(Double)

  /// What the official files use for `kind`.
  public static func standard(for kind: DatasetKind) -> IncidentEnergies {
    kind.isDS1 ? .ds1(kind: kind, subset: nil) : .logUniform(min: 1e3, max: 1e6)
  }

  /// `count` energies drawn reproducibly from `seed` (independent of the shower streams).
  public func sample(count: Int, seed: UInt64) -> [Double] {
    precondition(count >= 0, "count must be >= 0")
    var rng = SimRNG(seed: seed, stream: 0xE4E7_61E5)  // a stream no shower index reaches in practice
    switch self {
    case let .fixed(e):
      return [Double](repeating: e, count: count)
    case let .logUniform(lo, hi):
      let a = log(lo), b = log(hi)
      return (0..<count).map { _ in exp(a + (b - a) * rng.uniform()) }
    case let .ds1(kind, subset):
      let all = DatasetKind.ds1Energies
      let official = kind.ds1OfficialCounts.isEmpty ? [Int](repeating: 1, count: all.count) : kind.ds1OfficialCounts
      let chosen = all.indices.filter { subset == nil || subset!.contains(all[$0]) }
      precondition(!chosen.isEmpty, "no ds1 energy selected")
      let counts = IncidentEnergies.apportion(count, weights: chosen.map { Double(official[$0]) })
      var e: [Double] = []
      e.reserveCapacity(count)
      for (k, idx) in chosen.enumerated() { e += [Double](repeating: all[idx], count: counts[k]) }
      // Fisher–Yates shuffle.
      if e.count > 1 {
        for i in stride(from: e.count - 1, to: 0, by: -1) { e.swapAt(i, rng.int(below: i + 1)) }
      }
      return e
    }
  }

  /// Splits `total` into integer parts proportional to `weights` (largest remainder; sums to `total`).
  public static func apportion(_ total: Int, weights: [Double]) -> [Int] {
    let sum = weights.reduce(0, +)
    let exact = weights.map { Double(total) * $0 / sum }
    var parts = exact.map { Int($0.rounded(.down)) }
    let order = exact.indices.sorted { (exact[$0] - Double(parts[$0])) > (exact[$1] - Double(parts[$1])) }
    var left = total - parts.reduce(0, +)
    var k = 0
    while left > 0 {
      parts[order[k % order.count]] += 1
      left -= 1
      k += 1
    }
    return parts
  }
}
