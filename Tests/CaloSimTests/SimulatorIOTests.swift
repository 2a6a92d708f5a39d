import CaloData
import CaloGeometry
@testable import CaloSim
import XCTest

/// Determinism, incident-energy spectra and the written files.
final class SimulatorIOTests: XCTestCase {
  /// Same seed ⇒ identical showers, whether generated one by one, in a batch, on 1 or 2 threads, or
  /// starting at another batch boundary; another seed ⇒ different showers.
  func testDeterminismBySeedAndIndex() {
    for kind in DatasetKind.allCases {
      let energies = IncidentEnergies.standard(for: kind).sample(count: 6, seed: 9)
      let a = ShowerSimulator(kind: kind, seed: 9)
      let one = a.showers(energies: energies, threads: 1)
      let two = ShowerSimulator(kind: kind, seed: 9).showers(energies: energies, threads: 2)
      XCTAssertEqual(one, two, "\(kind): threads change the output")
      let v = kind.voxelCount
      XCTAssertEqual(a.shower(energy: energies[4], index: 4), Array(one[(4 * v)..<(5 * v)]))
      let tail = a.showers(energies: Array(energies[3...]), firstIndex: 3, threads: 2)
      XCTAssertEqual(tail, Array(one[(3 * v)...]), "\(kind): batch boundaries change the output")
      let other = ShowerSimulator(kind: kind, seed: 10).showers(energies: energies, threads: 2)
      XCTAssertNotEqual(one, other, "\(kind): the seed has no effect")
    }
  }

  func testIncidentEnergySpectra() {
    // ds1: official proportions scaled to the requested count, only the 15 energies, shuffled, seeded.
    let e = IncidentEnergies.standard(for: .ds1Pion).sample(count: 1208, seed: 3)
    XCTAssertEqual(e.count, 1208)
    for (k, energy) in DatasetKind.ds1Energies.enumerated() {
      XCTAssertEqual(e.filter { $0 == energy }.count, DatasetKind.ds1Pion.ds1OfficialCounts[k] / 100, "\(energy)")
    }
    XCTAssertNotEqual(Array(e.prefix(20)), Array(e.sorted().prefix(20)), "rows are shuffled")
    XCTAssertEqual(e, IncidentEnergies.standard(for: .ds1Pion).sample(count: 1208, seed: 3))
    let sub = IncidentEnergies.ds1(kind: .ds1Photon, subset: [1024, 65536]).sample(count: 101, seed: 1)
    XCTAssertEqual(Set(sub), [1024, 65536])
    XCTAssertEqual(IncidentEnergies.apportion(10, weights: [1, 1, 1]).reduce(0, +), 10)
    // ds2/ds3: log-uniform in 1 GeV – 1 TeV: mean of log10 E near 4.5 (MeV), all inside the range.
    let l = IncidentEnergies.standard(for: .ds2).sample(count: 20000, seed: 4)
    XCTAssertTrue(l.allSatisfy { $0 >= 1e3 && $0 <= 1e6 })
    XCTAssertEqual(mean(l.map { log10($0) }), 4.5, accuracy: 0.02)
    XCTAssertEqual(Double(l.filter { $0 < 1e4 }.count) / 20000, 1.0 / 3, accuracy: 0.015)
    XCTAssertEqual(IncidentEnergies.fixed(5e4).sample(count: 3, seed: 1), [5e4, 5e4, 5e4])
  }

  /// Every dataset's file reads back through ShowerFileReader with the right kind, energies and
  /// shower rows identical to the in-memory simulation, and carries the "not GEANT4" label.
  func testFilesReadBack() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for kind in DatasetKind.allCases {
      let n = kind == .ds3 ? 7 : 40
      let sim = ShowerSimulator(kind: kind, seed: 5)
      let energies = IncidentEnergies.standard(for: kind).sample(count: n, seed: 5)
      let path = dir + "/\(kind.rawValue).h5"
      var reports = 0
      try simulateShowerFile(simulator: sim, energies: energies, path: path, batchSize: 3) { _ in reports += 1 }
      XCTAssertEqual(reports, (n + 2) / 3)
      let r = try ShowerFileReader(path: path)
      XCTAssertEqual(r.kind, kind)
      XCTAssertEqual(r.count, n)
      XCTAssertEqual(r.energies, energies.map { Double(Float($0)) })
      XCTAssertEqual(r.source, simulatorSourceLabel)
      XCTAssertEqual(r.attributes["calovq_dataset"], kind.rawValue)
      let all = try r.read(from: 0, count: n)
      XCTAssertEqual(all.showers, sim.showers(energies: energies))
      XCTAssertTrue(all.showers.allSatisfy { $0 >= 0 })
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 4, "no partial files left")
  }

  /// The bundled sample files (sample-data/*.h5) read back with the right kind and label.
  func testBundledSamples() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("sample-data").path
    for kind in DatasetKind.allCases {
      let path = root + "/\(kind.rawValue).h5"
      guard FileManager.default.fileExists(atPath: path) else {
        XCTFail("missing bundled sample \(path); regenerate it with the command in sample-data/README.md")
        continue
      }
      let r = try ShowerFileReader(path: path)
      XCTAssertEqual(r.kind, kind)
      XCTAssertGreaterThan(r.count, 50)
      XCTAssertEqual(r.source, simulatorSourceLabel)
    }
  }
}

/// Angular binning convention and azimuthal uniformity.
final class AngularBinningTests: XCTestCase {
  /// Bin a covers [−π + a·2π/nα, −π + (a+1)·2π/nα): the bin centre the geometry reports maps back to a.
  func testAlphaBinConvention() {
    let sim = ShowerSimulator(kind: .ds3, seed: 1)
    let info = sim.engine.slabs[0]
    let layer = DatasetKind.ds3.geometry.layers[0]
    for a in 0..<layer.nAlpha {
      let c = layer.alphaCentre(a)
      XCTAssertEqual(info.alphaBin(atan2(sin(c), cos(c))), a)
    }
    XCTAssertEqual(info.alphaBin(-Double.pi), 0)
    XCTAssertEqual(info.alphaBin(Double.pi), layer.nAlpha - 1)
    XCTAssertEqual(info.alphaBin(1e-9), layer.nAlpha / 2)
  }

  /// EM spots have uniform azimuth: averaged over showers, every α bin gets the same energy.
  func testAzimuthIsUniform() {
    let g = DatasetKind.ds2.geometry
    let en = [Double](repeating: 5e4, count: 200)
    let s = ShowerSimulator(kind: .ds2, seed: 71).showers(energies: en)
    var perAlpha = [Double](repeating: 0, count: 16)
    for i in 0..<en.count {
      for l in 0..<45 { for a in 0..<16 { for r in 0..<9 {
        perAlpha[a] += Double(s[i * g.voxelCount + g.index(layer: l, alpha: a, r: r)])
      } } }
    }
    let m = mean(perAlpha)
    for a in 0..<16 { XCTAssertEqual(perAlpha[a] / m, 1, accuracy: 0.03, "α bin \(a)") }
  }
}
