// The model-backed source and the codebook/token screens with tiny random-weight models written
// through the public CaloModel API into temp folders (real files, real decoding; not trained).

import CaloData
import CaloGeometry
import CaloModel
import CaloPipeline
import XCTest

@testable import CaloTUI

final class ModelTests: XCTestCase {
  private var dir = ""
  private var models = ""

  override func setUpWithError() throws {
    dir = try Fixtures.tempDir(self)
    models = dir + "/models"
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5")
    try Fixtures.writeModel(.ds1Photon, layerwise: false, to: models + "/ds1-photon-global")
  }

  private func render(_ keys: String, _ w: Int = 100, _ h: Int = 30, depth: ColorDepth = .xterm256) throws -> Canvas {
    Explorer.script(try Fixtures.options(sampleDir: dir, modelsDir: models), keys: try Key.parseScript(keys),
                    width: w, height: h, depth: depth)
  }

  func testModelSourceGeneratesReproducibleShowersWithTokens() throws {
    let a = try ModelShowerSource(directory: models + "/ds1-photon-global", expected: .ds1Photon)
    XCTAssertEqual(a.normalisation, .global)
    XCTAssertEqual(a.codebookSize, 1024)
    XCTAssertEqual(a.latentShape, [32])
    let showers = try a.nextShowers(energyMeV: 65536, count: 3)
    XCTAssertEqual(showers.count, 3)
    for s in showers {
      XCTAssertEqual(s.voxels.count, DatasetKind.ds1Photon.voxelCount)
      XCTAssertTrue(s.voxels.allSatisfy { $0.isFinite && $0 >= 0 })
      let t = try XCTUnwrap(s.tokens)
      XCTAssertEqual(t.codes.count, 32)
      XCTAssertEqual(t.rTokens.count, 2, "ds1 global: one R as two base-1024 digits")
      XCTAssertEqual(t.valueNames, ["R"])
      // The shower carries exactly the decoded R: total energy = R × E_inc (global normalisation).
      XCTAssertEqual(Double(s.voxels.reduce(0, +)), Double(t.values[0]) * 65536, accuracy: 1e-3 * 65536)
    }
    XCTAssertNotEqual(showers[0].voxels, showers[1].voxels, "each shower has its own seed")
    // Same folder, same seed: the same sequence of showers.
    let b = try ModelShowerSource(directory: models + "/ds1-photon-global")
    XCTAssertEqual(try b.nextShowers(energyMeV: 65536, count: 3).map(\.voxels), showers.map(\.voxels))
    XCTAssertThrowsError(try ModelShowerSource(directory: models + "/ds1-photon-global", expected: .ds2)) {
      XCTAssertTrue("\($0)".contains("holds a ds1-photon model, not ds2"), "\($0)")
    }
  }

  func testEncodeFootprintAndStepper() throws {
    let m = try ModelShowerSource(directory: models + "/ds1-photon-global")
    let ref = try ReferenceSample(path: dir + "/ds1-photon.h5")
    let v = try ref.shower(row: 100)
    let (tokens, rec) = try m.encodeShower(v, energyMeV: ref.energies[100])
    XCTAssertEqual(tokens.codes.count, 32)
    XCTAssertTrue(tokens.codes.allSatisfy { $0 >= 0 && $0 < 1024 })
    // The reconstruction uses the true R: the same total energy (up to float rounding).
    let tv = v.reduce(0.0) { $0 + Double($1) }, tr = rec.reduce(0.0) { $0 + Double($1) }
    XCTAssertEqual(tr, tv, accuracy: 1e-4 * tv)
    XCTAssertEqual(Double(tokens.values[0]), tv / ref.energies[100], accuracy: 3.0 / 1_048_576 + 1e-6,
                   "R tokens decode to the quantised true ratio")
    let f = try m.footprint(code: 7, energyMeV: ref.energies[100], like: v)
    XCTAssertEqual(f.reduce(0.0) { $0 + Double($1) }, tv, accuracy: 1e-4 * tv)
    XCTAssertNotEqual(try m.footprint(code: 8, energyMeV: ref.energies[100], like: v), f)
    XCTAssertThrowsError(try m.footprint(code: 1024, energyMeV: 1e4, like: v))

    let s = m.stepper(energyMeV: 65536)
    s.step()
    let c = ModelShowerSource.candidates(s, k: 5)
    XCTAssertEqual(c.count, 5)
    XCTAssertTrue(zip(c, c.dropFirst()).allSatisfy { $0.probability >= $1.probability })
    XCTAssertEqual(m.split(s.tokens.prefix(s.position)).rTokens.count, 1)
  }

  func testMissingModelFallsBackAndSaysSo() throws {
    let lib = try ModelLibrary(modelsDir: models)
    let sample = try ReferenceSample(path: dir + "/ds1-photon.h5")
    XCTAssertTrue(try lib.source(.ds1Photon, .global, sample) is ModelShowerSource)
    XCTAssertTrue(try lib.source(.ds1Photon, .global, sample) === (try lib.source(.ds1Photon, .global, sample)),
                  "loaded once")
    let f = try lib.source(.ds1Photon, .layerWise, sample)
    XCTAssertEqual(f.name, "file ds1-photon.h5 (no ds1-photon-layerwise model)")
    XCTAssertThrowsError(try ModelLibrary(modelsDir: nil, explicit: dir + "/nothing")) {
      XCTAssertTrue("\($0)".contains("has no stage1.safetensors"), "\($0)")
    }
    let explicit = try ModelLibrary(modelsDir: nil, explicit: models + "/ds1-photon-global")
    XCTAssertEqual(explicit.explicit?.kind, .ds1Photon)
    XCTAssertEqual(explicit.explicit?.normalisation, .global)
  }

  /// A stage1.safetensors from another run next to a GPT is refused with every disagreement named.
  func testFolderWithStagesOfDifferentModelsIsRefused() throws {
    let layerwise = try Fixtures.writeModel(.ds1Photon, layerwise: true, to: dir + "/lw")
    let pion = try Fixtures.writeModel(.ds1Pion, layerwise: false, to: dir + "/pion")
    XCTAssertNoThrow(try loadModelDirectory(layerwise))
    let fm = FileManager.default
    func mixed(_ name: String, stage1From: String, stage2From: String) throws -> String {
      let d = dir + "/" + name
      try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
      try fm.copyItem(atPath: stage1From + "/stage1.safetensors", toPath: d + "/stage1.safetensors")
      try fm.copyItem(atPath: stage2From + "/stage2.safetensors", toPath: d + "/stage2.safetensors")
      return d
    }
    let norms = try mixed("norms", stage1From: layerwise, stage2From: models + "/ds1-photon-global")
    XCTAssertThrowsError(try loadModelDirectory(norms)) {
      XCTAssertTrue("\($0)".contains("stage 1 (layer-wise) decodes 5 R values per shower, stage 2 samples 1"), "\($0)")
      XCTAssertTrue("\($0)".contains("do not belong together"), "\($0)")
    }
    let datasets = try mixed("datasets", stage1From: pion, stage2From: models + "/ds1-photon-global")
    XCTAssertThrowsError(try loadModelDirectory(datasets)) {
      XCTAssertTrue("\($0)".contains("stage 1 is a ds1-pion model, stage 2 a ds1-photon one"), "\($0)")
    }
  }

  /// The header names a model by its folder, and by run/folder when the folder is called "model".
  func testModelDisplayNames() {
    XCTAssertEqual(modelDisplayName(directory: "sample-data/models/ds1-photon-layerwise"), "ds1-photon-layerwise")
    XCTAssertEqual(modelDisplayName(directory: "runs/d3g/model"), "d3g/model")
    XCTAssertEqual(modelDisplayName(directory: "runs/d3g/model/"), "d3g/model")
    XCTAssertEqual(modelDisplayName(directory: "/tmp/x/../pig/./model"), "pig/model")
  }

  /// `--model` twice: a global and a layer-wise folder of one dataset, anywhere on disk, both serve
  /// `n`; two of one normalisation or of two datasets are refused with a message saying what to give.
  func testTwoExplicitModelsServeBothNormalisations() throws {
    let mine = dir + "/mine"
    try Fixtures.writeModel(.ds1Photon, layerwise: true, to: mine + "/lw")
    try Fixtures.writeModel(.ds2, layerwise: false, to: mine + "/ds2")
    let lib = try ModelLibrary(modelsDir: nil, explicitModels: [mine + "/lw", models + "/ds1-photon-global"])
    XCTAssertEqual(lib.explicit?.normalisation, .layerWise, "the first one opens")
    XCTAssertEqual(lib.directory(for: .ds1Photon, .layerWise), mine + "/lw")
    XCTAssertEqual(lib.directory(for: .ds1Photon, .global), models + "/ds1-photon-global")
    XCTAssertNil(lib.directory(for: .ds2, .global))
    let sample = try ReferenceSample(path: dir + "/ds1-photon.h5")
    XCTAssertEqual((try lib.source(.ds1Photon, .layerWise, sample) as? ModelShowerSource)?.normalisation, .layerWise)
    XCTAssertEqual((try lib.source(.ds1Photon, .global, sample) as? ModelShowerSource)?.normalisation, .global)
    XCTAssertThrowsError(try ModelLibrary(modelsDir: nil, explicitModels: [models + "/ds1-photon-global", models + "/ds1-photon-global"])) {
      XCTAssertTrue("\($0)".contains("are both global models"), "\($0)")
    }
    XCTAssertThrowsError(try ModelLibrary(modelsDir: nil, explicitModels: [mine + "/lw", mine + "/ds2"])) {
      XCTAssertTrue("\($0)".contains("are for different datasets"), "\($0)")
    }
  }

  func testOpensInTheNormalisationThatHasAModel() throws {
    XCTAssertEqual(try ModelLibrary(modelsDir: models).preferredNormalisation(for: .ds1Photon), .global)
    let only = dir + "/layerwise-only"
    try Fixtures.writeModel(.ds1Photon, layerwise: true, to: only + "/ds1-photon-layerwise")
    XCTAssertEqual(try ModelLibrary(modelsDir: only).preferredNormalisation(for: .ds1Photon), .layerWise)
    XCTAssertEqual(try ModelLibrary(modelsDir: only).preferredNormalisation(for: .ds2), .global, "no model: global replay")
    XCTAssertEqual(try ModelLibrary(modelsDir: nil).preferredNormalisation(for: .ds1Photon), .global)
  }

  /// Moving with `d` to a dataset whose only model is layer-wise switches to it (with a hint) instead
  /// of replaying reference rows under the global label; a dataset without models keeps the choice.
  func testDatasetSwitchLandsOnTheNormalisationThatHasAModel() throws {
    try Fixtures.writeFile(.ds2, to: dir + "/ds2.h5")
    try Fixtures.writeModel(.ds2, layerwise: true, to: models + "/ds2-layerwise")
    var o = try Fixtures.options(sampleDir: dir, modelsDir: models)
    o.modelNormalisations = try ModelLibrary(modelsDir: models).modelNormalisations(DatasetKind.allCases)
    XCTAssertEqual(o.modelNormalisations[.ds2], [.layerWise])
    XCTAssertEqual(o.modelNormalisations[.ds1Pion], [])
    let pion = Explorer.script(o, keys: try Key.parseScript("d"), width: 120, height: 30, depth: .xterm256).text()
    XCTAssertTrue(pion.contains("ds1-pion") && pion.contains("norm global"), "no ds1-pion model: unchanged\n\(pion)")
    let ds2 = Explorer.script(o, keys: try Key.parseScript("d d"), width: 120, height: 30, depth: .xterm256).text()
    XCTAssertTrue(ds2.contains("norm layer-wise") && ds2.contains("model ds2-layerwise"), ds2)
    XCTAssertTrue(ds2.contains("no global model for ds2: showing the layer-wise one"), ds2)
    o.modelNormalisations = [:]
    let unknown = Explorer.script(o, keys: try Key.parseScript("d d"), width: 120, height: 30, depth: .xterm256).text()
    XCTAssertTrue(unknown.contains("norm global"), "without the map nothing switches\n\(unknown)")
  }

  func testModelFolderSpotRoundingIsApplied() throws {
    let m = models + "/ds1-photon-global", g = DatasetKind.ds1Photon.geometry
    let dense = try ModelShowerSource(directory: m).nextShowers(energyMeV: 65536, count: 2)
    // ε above every layer-1 voxel of these showers: each of them becomes 0 or ε.
    let layer1 = g.offsets[1]..<g.offsets[2]
    let e = 2 * Double(dense.flatMap { $0.voxels[layer1] }.max()!)
    var eps = Array(repeating: Array(repeating: 0.0, count: g.layers.count), count: 15)
    for b in eps.indices { eps[b][1] = e }
    try SpotRoundingTable(dataset: .ds1Photon, log10EnergyEdges: SpotRoundingTable.defaultEdges(for: .ds1Photon),
                          thresholdsMeV: eps).save(to: m + "/spot-rounding.json")
    let rounded = try ModelShowerSource(directory: m).nextShowers(energyMeV: 65536, count: 2)
    for (d, r) in zip(dense, rounded) {
      XCTAssertEqual(d.tokens, r.tokens, "the same tokens: only the voxels are post-processed")
      XCTAssertTrue(d.voxels[layer1].allSatisfy { $0 > 0 }, "softmax head: dense before rounding")
      XCTAssertTrue(r.voxels[layer1].allSatisfy { $0 == 0 || $0 == Float(e) })
      XCTAssertTrue(r.voxels[layer1].contains(0))
      XCTAssertEqual(Array(r.voxels[..<layer1.lowerBound]), Array(d.voxels[..<layer1.lowerBound]), "layer 0 untouched")
    }
  }

  func testTokenScreenShowsGridRTokensAndSteps() throws {
    let g = try render("g 6").text()
    for s in ["last generated shower (model ds1-photon-global", "codes on the 32 latent grid", "R tokens: 1 value × 2 tokens",
              "1 shower generated", "norm global │ model ds1-photon-global"] {
      XCTAssertTrue(g.contains(s), "missing '\(s)' in\n\(g)")
    }
    let st = try render("s s s", 80, 24).text()
    for s in ["step by step: 3/34 tokens", "token 3: code at grid position 0", "most likely:", "R tokens"] {
      XCTAssertTrue(st.contains(s), "missing '\(s)' in\n\(st)")
    }
    // The drawn code is the one now on the grid, followed by the marker of the next position.
    let drew = try XCTUnwrap(st.range(of: #"drew \d+"#, options: .regularExpression))
    let code = st[drew].dropFirst(5)
    XCTAssertTrue(st.contains("  0" + String(repeating: " ", count: 5 - code.count) + code + "    _"), st)
    // Candidates are listed with probabilities, most likely first.
    let probs = st.split(separator: "\n").compactMap { line -> Double? in
      let right = line.dropFirst(46)  // the right-hand column
      guard let r = right.range(of: #"^ *[◆ ] *\d+ 0\.\d{4} "#, options: .regularExpression) else { return nil }
      return Double(right[r].split(separator: " ").last!)
    }
    XCTAssertEqual(probs.count, 8, st)
    XCTAssertEqual(probs, probs.sorted(by: >))
    let done = try render("s f 1").text()
    XCTAssertTrue(done.contains("1 shower generated"), done)
    let enc = try render("r", 100, 40).text()
    for s in ["encoded by stage 1", "original", "recon.", "total", "|recon - orig|", "MeV (log)"] {
      XCTAssertTrue(enc.contains(s), "missing '\(s)' in\n\(enc)")
    }
  }

  func testCodebookScreenShowsUsageAndFootprint() throws {
    let c = try render("G 5 . .", 100, 30)
    let t = c.text()
    for s in ["Codebook of model ds1-photon-global: K = 1024, latent 32", "generated (50): used",
              "reference (12): used", "perplexity", "code 2: generated", "footprint: every latent position = code 2",
              "bars = generated"] {
      XCTAssertTrue(t.contains(s), "missing '\(s)' in\n\(t)")
    }
    // 50 showers × 32 positions of random codes use many of the 1024 codes.
    let used = try XCTUnwrap(t.range(of: #"generated \(50\): used (\d+)"#, options: .regularExpression))
    let n = Int(t[used].split(separator: " ").last!)!
    XCTAssertGreaterThan(n, 300)
    XCTAssertLessThanOrEqual(n, 1024)
    XCTAssertTrue(try render("G 5", 80, 24).text().contains("footprint"), "fits 80x24")
  }

  func testNormalisationToggleFallsBackClearlyAndKeepsBothMetrics() throws {
    let n = try render("G n", 130, 30).text()
    XCTAssertTrue(n.contains("norm layer-wise │ file ds1-photon.h5 (no ds1-photon-layerwise model)"), n)
    XCTAssertTrue(n.contains("no layer-wise model for ds1-photon: showing reference file rows"), n)
    let t = try render("G n g 4").text()
    XCTAssertTrue(t.contains("(50)") && t.contains("(1)"), "separation of both variants:\n\(t)")
    let m = try render("n 5", 100, 30).text()
    XCTAssertTrue(m.contains("The codebook view needs a model"), m)
    XCTAssertTrue(m.contains("sample-data/models/ds1-photon-layerwise/"), m)
  }
}
