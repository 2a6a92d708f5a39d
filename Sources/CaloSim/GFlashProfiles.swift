// The GFlash (Grindhammer–Peters) parameterisation of EM showers in a sampling calorimeter:
// per-shower longitudinal Gamma profiles with correlated fluctuations and the two-component radial
// profile. Constants from gflash_facts.md §1–3 (Geant4 11.4 tuning headers, hep-ex/0001020).

import Foundation

/// Longitudinal profile of one EM shower: energy and spot densities are Gamma distributions in the
/// depth t (X0) measured from the shower start.
struct LongitudinalProfile {
  /// Energy profile: shape α, rate β (1/X0); maximum at T = (α−1)/β.
  var alpha: Double, beta: Double
  /// Spot-count profile (slightly earlier and narrower than the energy).
  var spotAlpha: Double, spotBeta: Double
  /// exp<ln α_sam>: the average shape, which fixes the radial depth variable τ.
  var meanAlpha: Double
  /// Depth of the maximum T (X0).
  var tMax: Double { (alpha - 1) / beta }

  /// Draws the profile of one shower of `energyMeV` in `medium` (the sampling-calorimeter variant
  /// of §1.4 with Geant4's clamps). Two standard normals drive ln T and ln α with correlation ρ.
  init(energyMeV: Double, medium m: EMMedium, rng: inout SimRNG) {
    let z = m.zEff
    let lny = log(max(energyMeV / m.criticalEnergy, 1.5))
    let lnTHom = log(max(lny - 0.812, 0.1))
    let lnAHom = log(max(0.81 + (0.458 + 2.26 / z) * lny, 0.1))
    let lnT = log(max(exp(lnTHom) - 0.55 / m.samplingFrequency - 0.69 * (1 - m.eHat), 0.1))
    let lnA = log(max(exp(lnAHom) - 0.476 / m.samplingFrequency, 0.1))
    let sigma: (Double) -> Double = { d in d > 2 ? min(1 / d, 0.5) : 0.5 }
    let sT = sigma(-2.5 + 1.25 * lny), sA = sigma(-0.82 + 0.79 * lny)
    let rho = min(max(0.784 - 0.023 * lny, -1), 1)
    let z1 = rng.normal(), z2 = rng.normal()
    let cp = ((1 + rho) / 2).squareRoot(), cm = ((1 - rho) / 2).squareRoot()
    let t = max(exp(lnT + sT * (cp * z1 + cm * z2)), 1)
    // Geant4 only clamps α ≥ 1.1; at low energy (σ ≈ 0.5) that still allows α → 1 with a large T, i.e.
    // a centre of gravity tens of X0 deep. We also keep β = (α−1)/T ≥ 0.3 /X0 (typical β ≈ 0.5–0.6).
    let a = max(exp(lnA + sA * (cp * z1 - cm * z2)), 1.1, 1 + 0.3 * t)
    alpha = a
    beta = (a - 1) / t
    let ts = max(t * (0.813 + 0.0019 * z), 0.5)
    spotAlpha = max(a * (0.844 + 0.0026 * z), 1.05)
    spotBeta = (spotAlpha - 1) / ts
    meanAlpha = max(exp(lnA), 1.1)
  }

  /// Average (non-fluctuated) depth of maximum of the sampling profile, in X0: what the tests compare the
  /// simulated mean profile with.
  static func meanTMax(energyMeV: Double, medium m: EMMedium) -> Double {
    let lny = log(max(energyMeV / m.criticalEnergy, 1.5))
    return max(max(lny - 0.812, 0.1) - 0.55 / m.samplingFrequency - 0.69 * (1 - m.eHat), 0.1)
  }

  /// The radial depth variable τ at depth `t` (X0 from the start): depth relative to this shower's
  /// centre of gravity, rescaled so that τ = 1 at the average maximum (§2.2); capped at 10.
  @inline(__always) func tau(at t: Double) -> Double {
    min(t * beta / alpha * meanAlpha / (meanAlpha - 1), 10)
  }
}

/// Two-component radial profile at one depth, radii in Molière radii:
/// f(r) = p·2rR_C²/(r²+R_C²)² + (1−p)·2rR_T²/(r²+R_T²)².
struct RadialProfile {
  var coreRadius: Double, tailRadius: Double, coreFraction: Double

  /// GFlash homogeneous parameters (§2.3) plus the sampling corrections (§2.4), clamped to sane values.
  init(tau: Double, energyGeV: Double, medium m: EMMedium) {
    let z = m.zEff, lnE = log(energyGeV), fs = m.samplingFrequency, ie = 1 - m.eHat
    var rc = (0.0251 + 0.00319 * lnE) + (0.1162 - 0.000381 * z) * tau
    let k1 = 0.659 - 0.00309 * z, k2 = 0.645, k3 = -2.59, k4 = 0.3585 + 0.0412 * lnE
    var rt = k1 * (exp(k3 * (tau - k2)) + exp(k4 * (tau - k2)))
    let p1 = 2.632 - 0.00094 * z, p2 = 0.401 + 0.00187 * z, p3 = max(1.313 - 0.0686 * lnE, 0.2)
    let x = (p2 - tau) / p3
    var p = p1 * exp(x - exp(x))
    let et = exp(-tau)
    rc += -0.0203 * ie + 0.0397 / fs * et
    rt += -0.14 * ie - 0.495 / fs * et
    p += ie * (0.348 - 0.642 / fs * exp(-(tau - 1) * (tau - 1)))
    coreRadius = max(rc, 0.005)
    tailRadius = max(rt, coreRadius, 0.02)
    coreFraction = min(max(p, 0), 1)
  }

  /// Fraction of the energy inside radius `r` (Molière radii).
  func containment(_ r: Double) -> Double {
    let r2 = r * r
    return coreFraction * r2 / (r2 + coreRadius * coreRadius)
      + (1 - coreFraction) * r2 / (r2 + tailRadius * tailRadius)
  }
}
