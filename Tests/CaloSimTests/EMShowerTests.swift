import CaloGeometry
import CaloSim
import XCTest

/// EM showers in the Par04 W/Si stack: longitudinal maximum, energy response and resolution, lateral
/// containment. Every expectation comes from the GFlash parameterisation or the stack's material
/// constants, not from a previous run.
final class EMShowerTests: XCTestCase {
  /// Thin (1 mm ≈ 0.24 X0) layers resolve the profile; the peak of the mean profile sits at the depth
  /// the GFlash sampling means predict and moves by ln 2 X0 per doubling of the energy (y = E/E_c).
  func testLongitudinalMaximumFollowsLnE() {
    let thickness = 1.0, x0PerLayer = thickness / SamplingStack.par04.x0
    let m = finePar04Model(layers: 150, nR: 1, pitch: 1000, thickness: thickness)
    var peaks: [Double] = []
    let energies = [4e3, 16e3, 64e3]
    for (k, e) in energies.enumerated() {
      let sim = ShowerSimulator(model: m, seed: 100 + UInt64(k))
      let en = [Double](repeating: e, count: 300)
      let prof = ShowerStats(geometry: m.geometry, showers: sim.showers(energies: en), energies: en).meanLayerEnergy
      // Smooth with a 5-layer window, then a parabola through the maximum and its neighbours.
      let sm = prof.indices.map { i in prof[max(0, i - 2)...min(prof.count - 1, i + 2)].reduce(0, +) }
      let i = sm.indices.max { sm[$0] < sm[$1] }!
      let (a, b, c) = (sm[i - 1], sm[i], sm[i + 1])
      let peakLayer = Double(i) + 0.5 * (a - c) / (a - 2 * b + c)
      let peakX0 = (peakLayer + 0.5) * x0PerLayer
      peaks.append(peakX0)
      let predicted = sim.predictedEMShowerMaximum(energy: e)
      XCTAssertEqual(peakX0, predicted, accuracy: 0.6, "E = \(e) MeV: peak \(peakX0) X0, GFlash \(predicted) X0")
    }
    // Two doublings per step: 2 ln 2 = 1.386 X0.
    XCTAssertEqual(peaks[1] - peaks[0], 2 * log(2.0), accuracy: 0.35, "peaks \(peaks)")
    XCTAssertEqual(peaks[2] - peaks[1], 2 * log(2.0), accuracy: 0.35, "peaks \(peaks)")
  }

  /// ds2: mean E_tot/E_inc close to 1 minus a small lateral leakage (outer edge 3.85 R_M), relative
  /// spread close to the stochastic term c/√E of the model (plus a little leakage fluctuation).
  func testResponseAndResolution() {
    let sim = ShowerSimulator(kind: .ds2, seed: 21)
    let c = DetectorModel.par04StochasticTerm
    for (k, e) in [2e3, 20e3, 200e3].enumerated() {
      let en = [Double](repeating: e, count: e > 1e5 ? 150 : 300)
      let r = ShowerStats(geometry: DatasetKind.ds2.geometry, showers: sim.showers(energies: en), energies: en).response
      let m = mean(r), rel = std(r) / m
      XCTAssertGreaterThan(m, 0.96, "E = \(e): mean response \(m)")
      XCTAssertLessThan(m, 1.01, "E = \(e): mean response \(m)")
      let expected = c / (e / 1000).squareRoot()
      XCTAssertEqual(rel, expected, accuracy: 0.2 * expected + 0.002, "E = \(e) (#\(k)): σ/E \(rel) vs c/√E \(expected)")
    }
  }

  /// About 90 % of an EM shower's energy lies within one Molière radius (R_M,eff of W/Si = 10.9 mm).
  func testRadialContainmentWithinOneMoliereRadius() {
    let rm = SamplingStack.par04.moliereRadius
    let m = finePar04Model(nR: 100, pitch: rm / 10)  // 0.1 R_M bins up to 10 R_M
    let sim = ShowerSimulator(model: m, seed: 31)
    for e in [5e3, 100e3] {
      let en = [Double](repeating: e, count: 100)
      let s = ShowerStats(geometry: m.geometry, showers: sim.showers(energies: en), energies: en)
      var rad = [Double](repeating: 0, count: 100)
      for l in 0..<45 { for (k, v) in s.meanRadial(layer: l).enumerated() { rad[k] += v } }
      let within = rad.prefix(10).reduce(0, +) / rad.reduce(0, +)
      XCTAssertEqual(within, 0.9, accuracy: 0.04, "E = \(e) MeV: \(within) of the energy within 1 R_M")
    }
  }

  /// ds2/ds3 voxels are either 0 or at least the 15.15 keV readout threshold, never negative or NaN.
  func testThresholdAndFiniteness() {
    for kind in [DatasetKind.ds2, .ds3] {
      let sim = ShowerSimulator(kind: kind, seed: 41)
      let s = sim.showers(energies: [1e3, 3e4, 9e5])
      let thr = Float(kind.voxelThresholdMeV)
      XCTAssertTrue(s.allSatisfy { $0.isFinite && ($0 == 0 || $0 >= thr) }, "\(kind)")
      XCTAssertGreaterThan(s.filter { $0 > 0 }.count, 100, "\(kind): showers are not empty")
    }
  }
}
