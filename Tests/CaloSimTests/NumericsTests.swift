import CaloSim
import XCTest

final class NumericsTests: XCTestCase {
  /// P(a, x) against a Simpson integration of the Gamma density on both sides of x = a + 1 (series and
  /// continued-fraction branches); for a < 1 (singular density) via P(a,x) = P(a+1,x) + x^a e^-x / Γ(a+1).
  func testRegularizedGammaPMatchesQuadrature() {
    // Substituting t = u⁴ makes the integrand 4u^(4a−1)e^(−u⁴)/Γ(a) smooth at 0, so Simpson converges fast.
    func simpson(_ a: Double, _ x: Double) -> Double {
      let n = 20000, h = pow(x, 0.25) / Double(n)
      var s = 0.0
      for i in 0...n {
        let u = Double(i) * h
        let f = u == 0 ? 0 : 4 * exp((4 * a - 1) * log(u) - pow(u, 4) - lgamma(a))
        s += f * (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2))
      }
      return s * h / 3
    }
    for a in [1.0, 1.6, 2.5, 4.1, 7.3] {
      for x in [0.05, 0.7, 2.0, 5.5, 12.0] {
        XCTAssertEqual(regularizedGammaP(a, x), simpson(a, x), accuracy: 1e-7, "P(\(a), \(x))")
      }
    }
    for a in [0.3, 0.6] {
      for x in [0.1, 1.5, 6.0] {
        let expected = simpson(a + 1, x) + exp(a * log(x) - x - lgamma(a + 1))
        XCTAssertEqual(regularizedGammaP(a, x), expected, accuracy: 1e-7, "P(\(a), \(x))")
      }
    }
    XCTAssertEqual(regularizedGammaP(1, 3), 1 - exp(-3), accuracy: 1e-12)
    XCTAssertEqual(regularizedGammaP(2, 0), 0)
  }

  /// Effective W/Si (Par04) parameters by the PDG mixture rules reproduce the facts table
  /// (X0_eff 4.22 mm, R_M,eff 10.88 mm, E_c,eff 8.23 MeV, Z_eff 72.5, F_s 2.48, ê 0.704).
  func testPar04EffectiveMedium() {
    let s = SamplingStack.par04
    XCTAssertEqual(s.x0, 4.22, accuracy: 0.01)
    XCTAssertEqual(s.moliereRadius, 10.88, accuracy: 0.05)
    XCTAssertEqual(s.criticalEnergy, 8.23, accuracy: 0.05)
    XCTAssertEqual(s.zEff, 72.5, accuracy: 0.1)
    XCTAssertEqual(s.samplingFrequency, 2.48, accuracy: 0.01)
    XCTAssertEqual(s.eHat, 0.704, accuracy: 0.001)
    let acc = SamplingStack.atlasAccordion
    XCTAssertEqual(acc.x0, 18.9, accuracy: 0.1)
    XCTAssertEqual(acc.moliereRadius, 40.4, accuracy: 0.3)
  }

  /// The RNG distributions have the moments they promise.
  func testDistributionsMoments() {
    var rng = SimRNG(seed: 11)
    let n = 100_000
    for k in [0.05, 0.7, 3.0, 40.0] {
      let x = (0..<n).map { _ in rng.gamma(shape: k) }
      XCTAssertEqual(mean(x), k, accuracy: 4 * (k / Double(n)).squareRoot(), "gamma mean k=\(k)")
      XCTAssertEqual(std(x) * std(x), k, accuracy: 0.05 * k + 0.01, "gamma variance k=\(k)")
    }
    let z = (0..<n).map { _ in rng.normal() }
    XCTAssertEqual(mean(z), 0, accuracy: 0.015)
    XCTAssertEqual(std(z), 1, accuracy: 0.015)
    let b = (0..<n).map { _ in rng.beta(2, 6) }
    XCTAssertEqual(mean(b), 0.25, accuracy: 0.005)
    let ints = (0..<n).map { _ in rng.int(below: 7) }
    XCTAssertEqual(ints.min(), 0)
    XCTAssertEqual(ints.max(), 6)
  }

  /// Independent streams: (seed, index) streams differ from each other and are reproducible.
  func testStreams() {
    var a = SimRNG(seed: 7, stream: 0), b = SimRNG(seed: 7, stream: 1), c = SimRNG(seed: 7, stream: 0)
    let xa = (0..<4).map { _ in a.next() }, xb = (0..<4).map { _ in b.next() }, xc = (0..<4).map { _ in c.next() }
    XCTAssertEqual(xa, xc)
    XCTAssertNotEqual(xa, xb)
  }
}
