import CaloGeometry
import CaloSim
import XCTest

/// ds1 (ATLAS barrel): photons vs pions, layer shares and response.
final class ATLASShowerTests: XCTestCase {
  /// Pions at the same energy deposit later (more in the Tile, deeper energy-weighted depth), wider (larger
  /// mean radius in EMB2) and with a lower response than photons (non-compensation, h/e < 1).
  func testPionsAreLaterWiderAndLowerThanPhotons() {
    let e = 65536.0, n = 300
    let en = [Double](repeating: e, count: n)
    func stats(_ kind: DatasetKind) -> (ShowerStats, ShowerSimulator) {
      let sim = ShowerSimulator(kind: kind, seed: 51)
      return (ShowerStats(geometry: kind.geometry, showers: sim.showers(energies: en), energies: en), sim)
    }
    let (ph, phSim) = stats(.ds1Photon), (pi, piSim) = stats(.ds1Pion)
    /// Energy-weighted mean depth (X0 at the layer middle) over the voxelised layers.
    func meanDepth(_ s: ShowerStats, _ sim: ShowerSimulator) -> Double {
      let le = s.meanLayerEnergy
      var num = 0.0, den = 0.0
      for d in sim.slabDepths {
        guard let l = d.slab.layerIndex, s.geometry.layers[l].isRelevant else { continue }
        num += le[l] * (d.x0Front + 0.5 * d.slab.x0)
        den += le[l]
      }
      return num / den
    }
    let dPh = meanDepth(ph, phSim), dPi = meanDepth(pi, piSim)
    XCTAssertGreaterThan(dPi, dPh + 5, "mean depth pion \(dPi) X0 vs photon \(dPh) X0")
    let emb2 = { (s: ShowerStats) in s.geometry.layers.firstIndex { $0.id == 2 }! }
    let rPh = ph.meanRadius(layer: emb2(ph)), rPi = pi.meanRadius(layer: emb2(pi))
    XCTAssertGreaterThan(rPi, 1.5 * rPh, "EMB2 mean radius pion \(rPi) mm vs photon \(rPh) mm")
    let tileShare = { (s: ShowerStats, id: Int) -> Double in
      let le = s.meanLayerEnergy
      return le[s.geometry.layers.firstIndex { $0.id == id }!] / e
    }
    XCTAssertGreaterThan(tileShare(pi, 12) + tileShare(pi, 13), 0.3, "pions put a large share in the Tile")
    XCTAssertLessThan(tileShare(ph, 12), 0.02, "photons barely reach the Tile")
    let respPh = mean(ph.response), respPi = mean(pi.response)
    XCTAssertGreaterThan(respPh, 0.95, "photon response at the EM scale")
    XCTAssertLessThan(respPh, 1.01)
    XCTAssertGreaterThan(respPi, 0.6, "pion response")
    XCTAssertLessThan(respPi, 0.9 * respPh, "pion response below the EM one")
    // Pions fluctuate much more (f_em fluctuations): relative spread several times the photon one.
    XCTAssertGreaterThan(std(pi.response) / respPi, 3 * std(ph.response) / respPh)
  }

  /// Photons: the response rises towards 1 with energy (front material loses less), the presampler sees
  /// energy at low energy, and the maximum moves from EMB1 to EMB2.
  func testPhotonLayerSharesMoveWithEnergy() {
    let sim = ShowerSimulator(kind: .ds1Photon, seed: 61)
    let g = DatasetKind.ds1Photon.geometry
    let idx = { (id: Int) in g.layers.firstIndex { $0.id == id }! }
    var responses: [Double] = []
    var emb1Share: [Double] = []
    for e in [512.0, 8192, 131072] {
      let en = [Double](repeating: e, count: 200)
      let s = ShowerStats(geometry: g, showers: sim.showers(energies: en), energies: en)
      let le = s.meanLayerEnergy
      responses.append(mean(s.response))
      emb1Share.append(le[idx(1)] / le.reduce(0, +))
      if e == 512 { XCTAssertGreaterThan(le[idx(0)], 0, "presampler is not empty at low energy") }
    }
    XCTAssertLessThan(responses[0], responses[1])
    XCTAssertLessThan(responses[1], responses[2] + 0.005)
    XCTAssertGreaterThan(emb1Share[0], emb1Share[1])
    XCTAssertGreaterThan(emb1Share[1], emb1Share[2])
  }
}
