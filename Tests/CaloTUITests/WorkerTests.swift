import CaloData
import CaloGeometry
import XCTest

@testable import CaloTUI

final class WorkerTests: XCTestCase {
  func testReferenceSampleNearestRows() throws {
    let dir = try Fixtures.tempDir(self)
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5", perEnergy: 4)
    let s = try ReferenceSample(path: dir + "/ds1-photon.h5")
    XCTAssertEqual(s.kind, .ds1Photon)
    let rows = s.nearestRows(to: 70000, limit: 50)
    XCTAssertEqual(rows, [32, 33, 34, 35], "ds1: only rows of the nearest discrete energy (65.5 GeV = row block 8)")
    XCTAssertThrowsError(try ReferenceSample(path: dir + "/ds1-photon.h5", expected: .ds2))
  }

  func testSeparationMetricsAreZeroForIdenticalSamples() throws {
    let g = DatasetKind.ds1Photon.geometry
    var rng = SeededRNG(seed: 7)
    let showers = (0..<30).map { _ in Fixtures.shower(.ds1Photon, energy: 65536, rng: &rng) }
    let energies = [Double](repeating: 65536, count: 30)
    var m = SeparationMetrics(kind: .ds1Photon, reference: showers, energiesMeV: energies)
    XCTAssertNil(m.table().rows[0].separation, "no separation before any generated shower")
    for s in showers { m.add(s, energyMeV: 65536) }
    let t = m.table()
    // E_tot/E_inc, E_layer for 5 layers, EC η/φ and widths η/φ for the 2 angular layers, voxel energies.
    XCTAssertEqual(t.rows.count, 1 + 5 + 4 * 2 + 1)
    XCTAssertEqual(Array(t.rows.map(\.label).prefix(7)),
                   ["E_tot/E_inc", "E_layer L0", "E_layer L1", "E_layer L2", "E_layer L3", "E_layer L12", "EC eta L1"])
    XCTAssertEqual(t.generatedCount, 30)
    XCTAssertEqual(t.referenceCount, 30)
    for r in t.rows {
      // CaloChallenge histograms drop entries outside their range: a histogram whose reference has no
      // entry (e.g. E_tot/E_inc of these toy showers, far below the 0.5–1.5 range) is undefined.
      if r.histogram?.reference.reduce(0, +) ?? 0 == 0 {
        XCTAssertNil(r.separation, r.label)
      } else {
        XCTAssertEqual(try XCTUnwrap(r.separation, r.label), 0, accuracy: 1e-12, r.label)
      }
      if let ref = r.referenceMean {
        XCTAssertEqual(r.generatedMean!, ref, accuracy: 1e-9 * max(1, abs(ref)), r.label)
      }
      XCTAssertEqual(r.histogram?.generated, r.histogram?.reference, r.label)
    }
    // The E_layer mean is the mean of the layer sums over voxels at or above the 1 MeV readout threshold.
    let l0 = showers.map { $0[0..<g.offsets[1]].reduce(0.0) { $0 + ($1 >= 1 ? Double($1) : 0) } }.reduce(0, +) / 30
    XCTAssertEqual(t.rows[1].referenceMean!, l0, accuracy: 1e-3 * l0)
    XCTAssertNotNil(t.rows[1].separation)
    // Showers of an 8 times lower energy (labelled with the same E_inc) separate almost completely in E_layer.
    var far = SeparationMetrics(kind: .ds1Photon, reference: showers, energiesMeV: energies)
    for _ in 0..<30 { far.add(Fixtures.shower(.ds1Photon, energy: 8192, rng: &rng), energyMeV: 65536) }
    let ft = far.table()
    XCTAssertGreaterThan(try XCTUnwrap(ft.rows[1].separation), 0.9)
    XCTAssertLessThan(ft.rows[1].generatedMean!, 0.3 * ft.rows[1].referenceMean!)
  }

  func testWorkerDrawsAveragesAndSwitchesContext() throws {
    let dir = try Fixtures.tempDir(self)
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5", perEnergy: 6)
    let opts = try Fixtures.options(sampleDir: dir)
    let w = ExplorerWorker(config: opts.worker)
    w.start()
    defer { w.stop() }
    let ctx = ExplorerContext(dataset: .ds1Photon, energyMeV: 4096, normalisation: .global)
    w.submit(.setContext(ctx))
    w.submit(.generate(count: 3))
    w.waitIdle()
    var s = w.snapshot()
    XCTAssertNil(s.error)
    XCTAssertEqual(s.generatedCount, 3)
    XCTAssertEqual(s.referenceCount, 6)
    XCTAssertEqual(s.current?.energyMeV, 4096)
    // The running mean is the mean of the rows the source replayed (rows 29, 28, 27: far end of 24..<30).
    let sample = try ReferenceSample(path: dir + "/ds1-photon.h5")
    let rows = try [29, 28, 27].map { try sample.shower(row: $0) }
    for k in stride(from: 0, to: 368, by: 37) {
      XCTAssertEqual(s.generatedMean![k], (rows[0][k] + rows[1][k] + rows[2][k]) / 3, accuracy: 1e-3)
    }
    XCTAssertEqual(s.current?.origin, "file row 27")
    XCTAssertEqual(s.metrics[.global]?.generatedCount, 3)
    // Normalisation switch keeps the other variant's metrics visible.
    w.submit(.setContext(ExplorerContext(dataset: .ds1Photon, energyMeV: 4096, normalisation: .layerWise)))
    w.submit(.generate(count: 2))
    w.waitIdle()
    s = w.snapshot()
    XCTAssertEqual(s.generatedCount, 2)
    XCTAssertEqual(s.metrics[.global]?.generatedCount, 3)
    XCTAssertEqual(s.metrics[.layerWise]?.generatedCount, 2)
    // A missing reference file becomes a message, not a crash.
    w.submit(.setContext(ExplorerContext(dataset: .ds2, energyMeV: 1e4, normalisation: .global)))
    w.waitIdle()
    s = w.snapshot()
    XCTAssertTrue(s.error?.contains("ds2.h5") ?? false, s.error ?? "no error")
    XCTAssertNil(s.current)
  }

  func testSameSeedSameScreen() throws {
    let dir = try Fixtures.tempDir(self)
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5")
    let opts = try Fixtures.options(sampleDir: dir)
    let keys = try Key.parseScript("g g ] 2")
    let a = Explorer.script(opts, keys: keys, width: 100, height: 30, depth: .xterm256)
    let b = Explorer.script(opts, keys: keys, width: 100, height: 30, depth: .xterm256)
    // Generation times differ between runs; everything else must not.
    let strip = { (c: Canvas) in c.text().replacingOccurrences(of: #"[0-9.]+ ms"#, with: "T ms", options: .regularExpression) }
    XCTAssertEqual(strip(a), strip(b))
  }
}
