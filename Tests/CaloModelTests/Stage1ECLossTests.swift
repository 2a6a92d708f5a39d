// The ds1 energy-centre / width loss of calovq_facts.md §4.3: its grid, its value against a direct
// double-precision evaluation, and its gradient through the per-layer softmax head (finite differences).
import CaloGeometry
import CaloNN
import CaloTensor
import Foundation
import XCTest

@testable import CaloModel

final class Stage1ECLossTests: XCTestCase {
  /// Direct per-shower evaluation of §4.3 on E/E_inc rows (N·P), Double throughout.
  static func directLoss(_ pred: [Float], _ truth: [Float], eta: [Float], phi: [Float], p: Int) -> (ec: Double, width: Double) {
    func mom(_ x: ArraySlice<Float>) -> [Double] {
      var s = 0.0, e = 0.0, f = 0.0, e2 = 0.0, f2 = 0.0
      for (k, v) in x.enumerated() {
        let w = Double(v), a = Double(eta[k]), b = Double(phi[k])
        s += w; e += w * a; f += w * b; e2 += w * a * a; f2 += w * b * b
      }
      s += 1e-16
      let ce = e / s, cf = f / s
      return [ce, cf, max(e2 / s - ce * ce, 0).squareRoot(), max(f2 / s - cf * cf, 0).squareRoot()]
    }
    let n = pred.count / p
    var ec = 0.0, w = 0.0
    for i in 0..<n {
      let a = mom(pred[(i * p)..<((i + 1) * p)]), b = mom(truth[(i * p)..<((i + 1) * p)])
      ec += (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1])
      w += (a[2] - b[2]) * (a[2] - b[2]) + (a[3] - b[3]) * (a[3] - b[3])
    }
    return (0.5 * ec / Double(n), 0.5 * w / Double(n))
  }

  func testDS1GridIsRadialMidpointTimesAngleFromZeroInVoxelOrder() throws {
    for d in [DatasetKind.ds1Photon, .ds1Pion] {
      let m = Stage1Model(config: try Stage1Presets.config(dataset: d, preset: "tiny"))
      let geo = d.geometry, eta = m.ecGrid.eta.data, phi = m.ecGrid.phi.data
      XCTAssertEqual(eta.count, d.voxelCount)
      for l in geo.relevantLayerIndices {
        let layer = geo.layers[l]
        for a in 0..<layer.nAlpha {
          for r in 0..<layer.nR {
            let k = geo.offsets[l] + a * layer.nR + r
            let rc = 0.5 * (layer.rEdges[r] + layer.rEdges[r + 1])
            let al = layer.nAlpha == 1 ? 0 : 2 * Double.pi * Double(a) / Double(layer.nAlpha)
            XCTAssertEqual(Double(eta[k]), rc * cos(al), accuracy: 1e-4 * max(rc, 1), "\(d) voxel \(k)")
            XCTAssertEqual(Double(phi[k]), rc * sin(al), accuracy: 1e-4 * max(rc, 1), "\(d) voxel \(k)")
          }
        }
      }
    }
  }

  func testDS1LossValueMatchesDirectEvaluation() throws {
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "tiny"))
    let (e, s) = Stage1ToyShowers.make(.ds1Photon, count: 6, seed: 3)
    let (_, s2) = Stage1ToyShowers.make(.ds1Photon, count: 6, seed: 4)
    let p = m.config.voxels
    let t = m.preprocessing.ratios(showers: s, energies: e), q = m.preprocessing.ratios(showers: s2, energies: e)
    let (ec, w) = m.ecWidthLoss(Tensor([6, p], data: q), truth: Tensor([6, p], data: t))
    let ref = Self.directLoss(q, t, eta: m.ecGrid.eta.data, phi: m.ecGrid.phi.data, p: p)
    XCTAssertGreaterThan(ref.ec, 0.1)
    XCTAssertEqual(Double(ec.item), ref.ec, accuracy: 1e-3 * ref.ec)
    XCTAssertEqual(Double(w.item), ref.width, accuracy: 1e-3 * ref.width)
  }

  /// d(ec_weight·EC + width_weight·W)/d(decoder logits) through the per-layer softmax and the R broadcast.
  func testDS1LossGradientThroughHeadMatchesFiniteDifferences() throws {
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "tiny"))
    let (e, s) = Stage1ToyShowers.make(.ds1Photon, count: 3, seed: 5)
    let prep = m.prepare(energies: e, showers: s)
    var rng = RNG(seed: 6)
    let logits = Tensor.uniform([3, m.config.voxels], -1, 1, rng: &rng, requiresGrad: true)
    let segs = m.preprocessing.groupSizes
    let r = gradCheck([logits], eps: 1e-2, atol: 1e-3, rtol: 2e-2, maxElements: 300) {
      let (ec, w) = m.ecWidthLoss(logits.softmax(segments: segs) * prep.rB, truth: prep.ratios)
      return ec * 0.1 + w * 0.01
    }
    XCTAssertTrue(r.passed, r.description)
  }

  // MARK: - Per-layer energy loss (global normalisation)

  /// Direct evaluation: mean over showers and layers of (ln(ΣL pred + ε) − ln(ΣL truth + ε))², Double.
  static func directLayerLoss(_ pred: [Float], _ truth: [Float], floors: [Double], ranges: [Range<Int>], p: Int) -> Double {
    var total = 0.0
    for (i, eps) in floors.enumerated() {
      for r in ranges {
        let a = r.reduce(0.0) { $0 + Double(pred[i * p + $1]) }, b = r.reduce(0.0) { $0 + Double(truth[i * p + $1]) }
        total += (log(a + eps) - log(b + eps)) * (log(a + eps) - log(b + eps))
      }
    }
    return total / Double(floors.count * ranges.count)
  }

  /// A tiny global model of `dataset`, `count` toy showers of seed `seed` prepared as the truth, and
  /// the ratios of other toy showers (seed + 1) at the same energies as the prediction.
  func lossCase(_ dataset: DatasetKind, count: Int, seed: UInt64, configure: (inout Stage1Config) -> Void) throws
    -> (m: Stage1Model, e: [Double], truthRatios: [Float], prep: Stage1Prepared, q: [Float]) {
    var c = try Stage1Presets.config(dataset: dataset, norm: .global, preset: "tiny")
    configure(&c)
    let m = Stage1Model(config: c)
    let (e, s) = Stage1ToyShowers.make(dataset, count: count, seed: seed)
    let (_, s2) = Stage1ToyShowers.make(dataset, count: count, seed: seed + 1)
    return (m, e, m.preprocessing.ratios(showers: s, energies: e), m.prepare(energies: e, showers: s),
            m.preprocessing.ratios(showers: s2, energies: e))
  }

  func testDS1LayerEnergyLossMatchesDirectEvaluation() throws {
    let (m, e, _, prep, q) = try lossCase(.ds1Photon, count: 6, seed: 3) { $0.layerEnergyWeight = 1 }
    let p = m.config.voxels
    // ds1-photon's relevant layers 0, 1, 2, 3, 12 hold 8, 160, 190, 5 and 5 voxels.
    let ranges = [0..<8, 8..<168, 168..<358, 358..<363, 363..<368]
    XCTAssertEqual(m.layerIndicator?.shape, [p, 5])
    let floors = e.map { 1.0 / $0 }   // ds1 voxel threshold 1 MeV over E_inc
    XCTAssertEqual(prep.layerFloor.data.map(Double.init), floors.map { Double(Float($0)) })
    let loss = m.layerEnergyLoss(Tensor([6, p], data: q), truth: prep.ratios, floor: prep.layerFloor).item
    let ref = Self.directLayerLoss(q, prep.ratios.data, floors: floors, ranges: ranges, p: p)
    XCTAssertGreaterThan(ref, 0.01)
    XCTAssertEqual(Double(loss), ref, accuracy: 1e-3 * ref)
    XCTAssertEqual(m.layerEnergyLoss(prep.ratios, truth: prep.ratios, floor: prep.layerFloor).item, 0, "no loss on the truth itself")
  }

  /// d(layer-energy loss)/d(decoder logits) through the global softmax and R.
  func testDS1LayerEnergyLossGradientMatchesFiniteDifferences() throws {
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, norm: .global, preset: "tiny"))
    let (e, s) = Stage1ToyShowers.make(.ds1Photon, count: 3, seed: 5)
    let prep = m.prepare(energies: e, showers: s)
    var rng = RNG(seed: 7)
    let logits = Tensor.uniform([3, m.config.voxels], -1, 1, rng: &rng, requiresGrad: true)
    let r = gradCheck([logits], eps: 1e-2, atol: 1e-3, rtol: 2e-2, maxElements: 300) {
      m.layerEnergyLoss(logits.softmax() * prep.rB, truth: prep.ratios, floor: prep.layerFloor)
    }
    XCTAssertTrue(r.passed, r.description)
  }

  /// ds2 (conv layout (N, Rb, Z, A)): one layer sum per Z layer, 45 per shower, and its gradient.
  func testDS2LayerEnergyLossSumsEachZLayer() throws {
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds2, norm: .global, preset: "tiny"))
    XCTAssertNil(m.layerIndicator, "conv layouts sum a tensor axis, no matrix")
    let (e, s) = Stage1ToyShowers.make(.ds2, count: 2, seed: 8)
    let (_, s2) = Stage1ToyShowers.make(.ds2, count: 2, seed: 9)
    let prep = m.prepare(energies: e, showers: s)
    let q = m.preprocessing.ratios(showers: s2, energies: e)
    let pred = m.toNetwork(q, n: 2)
    let ranges = (0..<45).map { $0 * 144..<($0 + 1) * 144 }   // 16 angles × 9 radii per layer, layer-major
    let ref = Self.directLayerLoss(q, m.preprocessing.ratios(showers: s, energies: e), floors: e.map { (0.5e-3 / 0.033) / $0 },
                                   ranges: ranges, p: 6480)
    let loss = m.layerEnergyLoss(pred, truth: prep.ratios, floor: prep.layerFloor).item
    XCTAssertGreaterThan(ref, 0.01)
    XCTAssertEqual(Double(loss), ref, accuracy: 1e-3 * ref)
    // The toy's deep layers hold ~1e-6 of E_inc, too little for a Float finite difference: check the
    // gradient at a point with ~0.07 per layer instead.
    var rng = RNG(seed: 10)
    let x = Tensor.uniform(pred.shape, 0, 1e-3, rng: &rng, requiresGrad: true)
    let r = gradCheck([x], eps: 1e-4, atol: 1e-3, rtol: 2e-2, maxElements: 200) {
      m.layerEnergyLoss(x, truth: prep.ratios, floor: prep.layerFloor)
    }
    XCTAssertTrue(r.passed, r.description)
  }

  // MARK: - Radial energy loss (ds2/ds3 conv layouts)

  /// ds2: one sum per radial bin over all 45 layers and 16 angles, 9 per shower, against a direct
  /// Double evaluation on the flat CaloChallenge layout (voxel = layer·144 + angle·9 + radius);
  /// and its gradient by finite differences.
  func testDS2RadialEnergyLossSumsEachRadialBinOverTheShower() throws {
    let (m, e, truth, prep, q) = try lossCase(.ds2, count: 2, seed: 11) { $0.radialEnergyWeight = 1 }
    var ref = 0.0
    for (i, energy) in e.enumerated() {
      let eps = (0.5e-3 / 0.033) / energy
      for r in 0..<9 {
        var a = 0.0, b = 0.0
        for layer in 0..<45 { for angle in 0..<16 {
          let v = i * 6480 + layer * 144 + angle * 9 + r
          a += Double(q[v]); b += Double(truth[v])
        } }
        ref += (log(a + eps) - log(b + eps)) * (log(a + eps) - log(b + eps))
      }
    }
    ref /= Double(e.count * 9)
    let loss = m.radialEnergyLoss(m.toNetwork(q, n: 2), truth: prep.ratios, floor: prep.layerFloor).item
    XCTAssertGreaterThan(ref, 0.01)
    XCTAssertEqual(Double(loss), ref, accuracy: 1e-3 * ref)
    XCTAssertEqual(m.radialEnergyLoss(prep.ratios, truth: prep.ratios, floor: prep.layerFloor).item, 0, "no loss on the truth itself")
    // The gradient by finite differences, at a point where every radial sum is far above ε.
    var rng = RNG(seed: 13)
    let x = Tensor.uniform(prep.ratios.shape, 0, 1e-3, rng: &rng, requiresGrad: true)
    let r = gradCheck([x], eps: 1e-4, atol: 1e-3, rtol: 2e-2, maxElements: 200) {
      m.radialEnergyLoss(x, truth: prep.ratios, floor: prep.layerFloor)
    }
    XCTAssertTrue(r.passed, r.description)
  }

  /// Through the decoder's global softmax: the gradient with respect to the logits matches finite differences.
  func testDS2RadialEnergyLossGradientThroughTheSoftmax() throws {
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds2, norm: .global, preset: "tiny"))
    let (e, s) = Stage1ToyShowers.make(.ds2, count: 1, seed: 14)
    let prep = m.prepare(energies: e, showers: s)
    var rng = RNG(seed: 15)
    let shape = prep.ratios.shape   // (1, 9, 45, 16)
    let logits = Tensor.uniform([1, shape.dropFirst().reduce(1, *)], -1, 1, rng: &rng, requiresGrad: true)
    let r = gradCheck([logits], eps: 1e-2, atol: 1e-3, rtol: 2e-2, maxElements: 300) {
      m.radialEnergyLoss((logits.softmax() * Tensor([1, 1], data: [prep.rB.data[0]])).reshaped(shape),
                         truth: prep.ratios, floor: prep.layerFloor)
    }
    XCTAssertTrue(r.passed, r.description)
  }
}
