// Finite-difference gradient check: compares the tape's gradients with central differences.
// Used by every op's test and available to model code for new layers.

/// Outcome of `gradCheck`.
public struct GradCheckResult: CustomStringConvertible {
  /// Largest |analytic − numeric| / (atol + rtol·|numeric|) over all checked elements; ≤ 1 passes.
  public let worstRatio: Double
  /// Where the worst element is: (input index, element index, analytic, numeric).
  public let worst: (input: Int, element: Int, analytic: Double, numeric: Double)
  /// True when every element is within tolerance.
  public var passed: Bool { worstRatio <= 1 }
  public var description: String {
    "gradCheck worst ratio \(worstRatio) at input \(worst.input)[\(worst.element)]: analytic \(worst.analytic), numeric \(worst.numeric)"
  }
}

/// Checks d(Σ w∘f)/d(input) from `backward()` against central differences for every element of
/// every input (or a seeded sample of at most `maxElements` per input).
///
/// The scalar is L = Σ w_i·f_i with fixed pseudo-random weights w (so every output element
/// matters and symmetric cancellations cannot hide errors). L is accumulated in Double; the
/// perturbation `eps` is applied to the Float32 inputs, so eps must be large enough that rounding
/// (≈ 1e-7·|f|/eps) stays below `atol`. Inputs must have `requiresGrad` set.
public func gradCheck(
  _ inputs: [Tensor], eps: Float = 1e-2, atol: Double = 1e-3, rtol: Double = 1e-2,
  maxElements: Int = 200, seed: UInt64 = 1337, _ f: () -> Tensor
) -> GradCheckResult {
  var rng = RNG(seed: seed)
  let probe = f()
  let w = (0..<probe.count).map { _ in Double(rng.uniform(-1, 1)) }
  func loss() -> Double {
    let y = withNoGrad { f() }
    var s = 0.0
    for i in 0..<y.count { s += w[i] * Double(y.data[i]) }
    return s
  }
  for x in inputs { x.zeroGrad() }
  let y = f()
  y.backward(seed: w.map { Float($0) })
  var worstRatio = 0.0
  var worst = (0, 0, 0.0, 0.0)
  for (ii, x) in inputs.enumerated() {
    let analytic = x.grad ?? [Float](repeating: 0, count: x.count)
    var elems = Array(0..<x.count)
    if elems.count > maxElements {
      var pick: [Int] = []
      for _ in 0..<maxElements { pick.append(rng.int(below: x.count)) }
      elems = pick
    }
    for e in elems {
      let orig = x.data[e]
      x.data[e] = orig + eps
      let lp = loss()
      x.data[e] = orig - eps
      let lm = loss()
      x.data[e] = orig
      // The perturbation actually applied, after Float rounding.
      let h = Double(orig + eps) - Double(orig - eps)
      let numeric = (lp - lm) / h
      let a = Double(analytic[e])
      let ratio = Swift.abs(a - numeric) / (atol + rtol * Swift.abs(numeric))
      if ratio > worstRatio { worstRatio = ratio; worst = (ii, e, a, numeric) }
    }
    x.zeroGrad()
  }
  return GradCheckResult(worstRatio: worstRatio, worst: worst)
}
