// Regularised lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a): the cumulative of a Gamma
// profile, used to integrate longitudinal shower profiles over layers exactly.

import Foundation

/// P(a, x) for a > 0; 0 for x ≤ 0. Series for x < a + 1, Lentz continued fraction for Q otherwise
/// (relative accuracy ~1e-10 within ≤ 200 terms for the a ≤ 20 used by the simulator).
public func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
  precondition(a > 0, "regularizedGammaP: a must be > 0, got \(a)")
  if x <= 0 { return 0 }
  let lnPrefactor = a * log(x) - x - lgamma(a)
  if x < a + 1 {
    var term = 1 / a, sum = term, ap = a
    for _ in 0..<200 {
      ap += 1
      term *= x / ap
      sum += term
      if abs(term) < abs(sum) * 1e-12 { break }
    }
    return min(1, sum * exp(lnPrefactor))
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  let tiny = 1e-300
  var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
  for i in 1...200 {
    let an = -Double(i) * (Double(i) - a)
    b += 2
    d = an * d + b
    if abs(d) < tiny { d = tiny }
    c = b + an / c
    if abs(c) < tiny { c = tiny }
    d = 1 / d
    let delta = d * c
    h *= delta
    if abs(delta - 1) < 1e-12 { break }
  }
  return max(0, 1 - exp(lnPrefactor) * h)
}
