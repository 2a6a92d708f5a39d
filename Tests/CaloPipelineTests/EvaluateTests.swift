import CaloData
import CaloGeometry
import CaloMetrics
import XCTest

@testable import CaloPipeline

/// End-to-end tests of `evaluate` on real HDF5 files written to a temporary folder.
final class EvaluateTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-eval-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

  func fastOptions() -> EvaluationOptions {
    var o = EvaluationOptions()
    o.batchSize = 128  // several batches, so streaming and prefetching are exercised
    o.fpd.minSamples = 200
    o.fpd.maxSamples = 400
    o.fpd.batches = 2
    o.kpd.batchSize = 200
    o.kpd.batches = 3
    return o
  }

  func synthetic(_ name: String, _ kind: DatasetKind, _ n: Int, seed: UInt64, distortion: Double = 0) throws -> String {
    let p = dir + "/" + name
    try writeSyntheticShowerFile(path: p, kind: kind, count: n, seed: seed, distortion: distortion, batchSize: 100)
    return p
  }

  func testReportLayoutOnFixedPhotonPair() throws {
    let ref = try synthetic("ref.h5", .ds1Photon, 400, seed: 11)
    let gen = try synthetic("gen.h5", .ds1Photon, 300, seed: 12, distortion: 0.05)
    let r = try evaluate(generated: gen, reference: ref, options: fastOptions())
    XCTAssertEqual(r.kind, .ds1Photon)
    XCTAssertEqual(r.referenceCount, 400)
    XCTAssertEqual(r.generatedCount, 300)
    let lines = r.report().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    XCTAssertTrue(lines[0].hasPrefix("CaloChallenge evaluation, dataset ds1-photon (368 voxels)"))
    let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("layer") && $0.contains("E_layer") })
    XCTAssertEqual(lines[header].split(separator: " ").count, 10)  // layer E_layer EC eta width eta EC phi width phi
    // One row per relevant layer; layers without angular bins show "-" in the four shape columns.
    let rows = lines[(header + 1)...(header + 5)].map { $0.split(separator: " ").map(String.init) }
    XCTAssertEqual(rows.map { $0[0] }, ["0", "1", "2", "3", "12"])
    for row in rows { XCTAssertEqual(row.count, 6) }
    for i in [0, 3, 4] { XCTAssertEqual(Array(rows[i][2...]), ["-", "-", "-", "-"]) }
    // The printed numbers are the result's values, in the paper's column order E, EC η, σ_η, EC φ, σ_φ.
    let l1 = [HistogramFeature.layerEnergy, .ecEta, .widthEta, .ecPhi, .widthPhi].map { f in
      r.separations.first { $0.feature == f && $0.layer == 1 }!.value.map { String(format: "%.4f", $0) } ?? "undef"
    }
    XCTAssertEqual(Array(rows[1][1...]), l1)
    XCTAssertEqual(lines.filter { $0.hasSuffix(" MeV") == false && $0.contains(" MeV  ") }.count, 15)
    XCTAssertTrue(lines.contains { $0.hasPrefix("E_tot/E_inc") })
    XCTAssertTrue(lines.contains { $0.hasPrefix("cell (voxel) energy") })
    let fpdLine = try XCTUnwrap(lines.first { $0.hasPrefix("FPD (x10^3): ") })
    XCTAssertEqual(fpdLine, String(format: "FPD (x10^3): %.4f ± %.4f", r.fpd!.value * 1e3, r.fpd!.error * 1e3))
    XCTAssertTrue(lines.contains { $0.hasPrefix("KPD (x10^3): ") })
    XCTAssertTrue(lines.contains { $0.hasPrefix("worst  ") })
    // A 5 % energy-scale distortion must show up in the response histogram.
    XCTAssertGreaterThan(r.separations.first { $0.feature == .response }!.value!, 0.05)

    // JSON and plots.
    try writeEvaluationJSON(r, to: dir + "/out.json")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out.json")))
    let seps = try XCTUnwrap((json as? [String: Any])?["separations"] as? [Any])
    XCTAssertEqual(seps.count, r.separations.count)
    let paths = try writeHistogramPlots(r, to: dir + "/plots")
    XCTAssertEqual(paths.count, r.comparisons.count)
    let svg = try String(contentsOfFile: dir + "/plots/E_layer_1_dataset_1-photons.svg", encoding: .utf8)
    XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    XCTAssertTrue(svg.contains("reference") && svg.contains("generated"))
  }

  func testFileAgainstItselfGivesZero() throws {
    let p = try synthetic("a.h5", .ds2, 150, seed: 3)
    let r = try evaluate(generated: p, reference: p, options: fastOptions())
    let defined = r.separations.compactMap(\.value)
    XCTAssertFalse(defined.isEmpty)
    XCTAssertEqual(defined.max()!, 0, accuracy: 1e-15)
    // Distances: a visibly distorted sample must be farther than the file itself.
    let q = try synthetic("b.h5", .ds2, 150, seed: 4, distortion: 0.3)
    let rq = try evaluate(generated: q, reference: p, options: fastOptions())
    XCTAssertLessThan(abs(r.kpd!.value), rq.kpd!.value)
    XCTAssertLessThan(r.fpd!.value, rq.fpd!.value)
  }

  func testBadInput() throws {
    let photon = try synthetic("p.h5", .ds1Photon, 20, seed: 1)
    let pion = try synthetic("q.h5", .ds1Pion, 20, seed: 2)
    XCTAssertThrowsError(try evaluate(generated: pion, reference: photon)) { e in
      guard case EvaluationError.datasetMismatch = e else { return XCTFail("\(e)") }
      XCTAssertTrue("\(e)".contains("ds1-pion") && "\(e)".contains("ds1-photon"))
    }
    let empty = dir + "/empty.h5"
    try writeShowerFile(path: empty, energies: [], showers: [], voxels: 368)
    XCTAssertThrowsError(try evaluate(generated: empty, reference: photon)) { e in
      XCTAssertEqual(e as? EvaluationError, .empty(path: empty))
    }
    var o = EvaluationOptions()
    o.dataset = .ds2
    XCTAssertThrowsError(try evaluate(generated: photon, reference: photon, options: o))
  }

  func testReferenceWithoutEntriesIsUndefined() throws {
    // Reference showers with energy only in layer 1: every other layer-energy histogram has no
    // reference maximum above threshold and is reported as undefined.
    let g = DatasetKind.ds1Photon.geometry
    var rng = SeededRandom(seed: 5)
    let n = 50
    var s = [Float](repeating: 0, count: n * 368)
    for i in 0..<n { for k in 8..<168 { s[i * 368 + k] = Float(Double.random(in: 0..<20, using: &rng)) } }
    let e = [Double](repeating: 2048, count: n)
    try writeShowerFile(path: dir + "/r.h5", energies: e, showers: s, voxels: g.voxelCount)
    let r = try evaluate(generated: dir + "/r.h5", reference: dir + "/r.h5", options: fastOptions())
    XCTAssertNil(r.separations.first { $0.label == "E layer 0" }!.value)
    XCTAssertNotNil(r.separations.first { $0.label == "E layer 1" }!.value)
    XCTAssertTrue(r.report().contains("undef"))
    XCTAssertNoThrow(try writeHistogramPlots(r, to: dir + "/p"))
  }
}

/// The bar's arithmetic on hand-made separation lists.
final class QualityBarTests: XCTestCase {
  func entry(_ f: HistogramFeature, _ layer: Int?, _ v: Double?, official: Bool = true) -> SeparationEntry {
    SeparationEntry(feature: f, layer: layer, incidentEnergy: nil, label: "\(f.rawValue) \(layer ?? -1)", official: official, value: v)
  }

  func testMedianAndWorstByHand() {
    let seps = [
      entry(.response, nil, 0.008),
      entry(.layerEnergy, 0, 0.002), entry(.layerEnergy, 1, 0.009), entry(.layerEnergy, 2, 0.04),
      entry(.ecEta, 1, 0.01), entry(.ecPhi, 1, 0.02), entry(.widthEta, 1, 0.05), entry(.widthPhi, 1, 0.09),
      entry(.sparsity, 1, 0.9, official: false),     // helper histograms are not part of the bar
      entry(.voxelEnergy, nil, 0.7),                 // nor the voxel distribution
    ]
    let bar = QualityBar(separations: seps)
    XCTAssertEqual(bar.lines.map(\.value), [0.008, 0.009, 0.04, 0.035, 0.09])   // median of 4 = (0.02+0.05)/2
    XCTAssertEqual(bar.lines.map(\.met), [true, true, true, false, true])
    XCTAssertFalse(bar.met)
    XCTAssertTrue(bar.report().contains("MISSED"))
    XCTAssertTrue(bar.report().hasSuffix("bar not met\n"))
  }

  func testAllMetAndUndefinedFails() {
    var seps = [entry(.response, nil, 0.005), entry(.layerEnergy, 0, 0.004), entry(.ecEta, 1, 0.02), entry(.widthEta, 1, 0.02)]
    XCTAssertTrue(QualityBar(separations: seps).met)
    seps.append(entry(.widthPhi, 2, nil))
    let bar = QualityBar(separations: seps)
    XCTAssertEqual(bar.undefined, 1)
    XCTAssertNil(bar.lines[4].value)     // the group's worst is undefined, not the best of the rest
    XCTAssertFalse(bar.met)
  }
}
