// Separation power (triangular discrimination) between a reference and a generated histogram,
// as the CaloChallenge evaluate.py computes it (calochallenge_facts.md §d.4).

/// S = ½ Σ_i (p_i − q_i)² / (p_i + q_i + 1e-16), with p, q the bin contents of `reference` and
/// `generated` normalised to unit sum over the in-range entries.
///
/// Properties: S ∈ [0, 1]; 0 for identical shapes, 1 for histograms without a common non-empty bin;
/// symmetric in its arguments. Returns nil ("undefined", NaN in evaluate.py) when either histogram
/// has no entry in range or the bin counts differ.
public func separationPower(reference: [Int], generated: [Int]) -> Double? {
  guard reference.count == generated.count else { return nil }
  let nr = reference.reduce(0, +), ng = generated.reduce(0, +)
  guard nr > 0, ng > 0 else { return nil }
  var s = 0.0
  for i in reference.indices {
    let p = Double(reference[i]) / Double(nr), q = Double(generated[i]) / Double(ng)
    s += (p - q) * (p - q) / (p + q + 1e-16)
  }
  return 0.5 * s
}

/// Separation power of two histograms with the same binning.
public func separationPower(reference: Histogram, generated: Histogram) -> Double? {
  guard reference.binning == generated.binning else { return nil }
  return separationPower(reference: reference.counts, generated: generated.counts)
}
