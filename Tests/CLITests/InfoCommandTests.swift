// End-to-end tests of `calovq info` and `calovq geometry`: the real binary on real HDF5 files, checking
// stdout, stderr and exit codes.
import CaloData
import CaloGeometry
import CaloTestSupport
import XCTest

final class InfoCommandTests: TempDirTestCase {
  private let geometryDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sample-data/geometry").path

  override func setUpWithError() throws {
    XCTAssertNotNil(CLIRunner.executablePath(), "calovq is not built; run `swift build` before the tests")
  }

  /// Runs calovq and asserts success with nothing on stderr.
  private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try CLIRunner.run(args)
    XCTAssertEqual(r.status, 0, "calovq \(args) failed: \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.stderr, "", file: file, line: line)
    return r.stdout
  }

  /// Runs calovq and asserts exit 1 with exactly one `error:` line containing every fragment.
  private func fails(_ args: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try CLIRunner.run(args)
    XCTAssertFalse(r.crashed, "calovq \(args) crashed: \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.status, 1, "calovq \(args): \(r.stdout) \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.stdout, "", file: file, line: line)
    XCTAssertEqual(r.stderrLines.count, 1, "one error line expected: \(r.stderr)", file: file, line: line)
    XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
    for f in fragments { XCTAssertTrue(r.stderr.contains(f), "'\(r.stderr)' lacks '\(f)'", file: file, line: line) }
  }

  // MARK: - Good files

  func testInfoOnDS1FileShowsDiscreteEnergyHistogramAndLayers() throws {
    let path = dir.file("photons.h5")
    // 150 showers: 10 at each of the 15 energies; every voxel 0.5 MeV except voxel 0 = E_inc / 2.
    let n = 150, v = 368
    let e = (0..<n).map { Double(1 << (8 + $0 % 15)) }
    var s = [Float](repeating: 0.5, count: n * v)
    for i in 0..<n { s[i * v] = Float(e[i] / 2) }
    try writeShowerFile(path: path, energies: e, showers: s, voxels: v)
    let out = try ok(["info", path])
    XCTAssertTrue(out.contains("dataset:     ds1-photon (368 voxels, stored as float32)"), out)
    XCTAssertTrue(out.contains("showers:     150"), out)
    XCTAssertTrue(out.contains("showers per discrete energy"), out)
    XCTAssertTrue(out.contains("256 MeV"), out)
    XCTAssertTrue(out.contains("4194304 MeV"), out)
    let histRows = out.split(separator: "\n").filter { $0.contains("      10 #") }
    XCTAssertEqual(histRows.count, 15, out)
    // Every voxel but one is 0.5 MeV, below the 1 MeV ds1 threshold: sparsity = 367/368.
    XCTAssertTrue(out.contains(String(format: "sparsity:    %.3f", 367.0 / 368.0)), out)
    // Layer 0 holds voxel 0 (E/2) and 7 voxels of 0.5 MeV; layer 1 holds 160 voxels of 0.5 MeV.
    let meanE = e.reduce(0, +) / Double(n)
    XCTAssertTrue(out.contains(String(format: "  layer  0  %12.3f", meanE / 2 + 3.5)), out)
    XCTAssertTrue(out.contains(String(format: "  layer  1  %12.3f", 80.0)), out)
    XCTAssertFalse(out.contains("GEANT4"), "a file without calovq_source makes no claim about its origin")
  }

  func testInfoOnDS2FileShowsLogHistogramAndSimulatorSource() throws {
    let path = dir.file("ds2.h5")
    let n = 60, v = 6480
    let e = (0..<n).map { 1000 * pow(1000, Double($0) / Double(n - 1)) }  // 1 GeV … 1 TeV
    let s = [Float](repeating: 0, count: n * v)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: v,
                        attributes: [ShowerSource.attribute: ShowerSource.simulator])
    let out = try ok(["info", path])
    XCTAssertTrue(out.contains("dataset:     ds2 (6480 voxels"), out)
    XCTAssertTrue(out.contains("10 log-spaced bins"), out)
    XCTAssertTrue(out.contains("1 GeV – 1 TeV"), out)
    XCTAssertTrue(out.contains("source:      \(ShowerSource.simulator)"), out)
    XCTAssertEqual(out.components(separatedBy: "not GEANT4").count - 1, 1, "the label appears exactly once: \(out)")
    XCTAssertTrue(out.contains("E_tot/E_inc: mean 0.0000"), out)
    XCTAssertTrue(out.contains("layer 44"), out)
  }

  func testInfoWithBinningAndDatasetOverride() throws {
    let path = dir.file("pions.h5")
    let (e, s) = makeShowers(n: 20, voxels: 533)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 533)
    let plain = try ok(["info", path])
    let withBinning = try ok(["info", path, "--binning", geometryDir + "/binning_dataset_1_pions.xml"])
    XCTAssertEqual(plain, withBinning, "the official-format pion binning gives the same report as the preset")
    XCTAssertEqual(try ok(["info", path, "--dataset", "1-pions"]), plain)
    try fails(["info", path, "--dataset", "ds2"], ["533 voxels but ds2 needs 6480"])
    try fails(["info", path, "--binning", geometryDir + "/binning_dataset_2.xml"], ["533 voxels", "the binning needs 6480"])
    try fails(["info", path, "--binning", geometryDir + "/binning_dataset_1_photons.xml", "--particle", "pion"],
              ["no <Bin name=\"pion\">"])
  }

  // MARK: - Model folders

  /// `calovq info DIR` on the bundled model: both stages, the R quantiser, sampling and calibration,
  /// each read from the folder's files.
  func testModelFolderSummary() throws {
    let model = geometryDir + "/../models/ds1-photon-layerwise"
    guard FileManager.default.fileExists(atPath: model + "/stage2.safetensors") else { throw XCTSkip("no bundled model") }
    let out = try ok(["info", model])
    let expected = [
      "stage 1 (stage1.safetensors, ", "ds1-photon, layer-wise normalisation, sample preset", "5 R values per shower",
      "T = 44 (12 R tokens + 32 codes)", "quantiser linear 0…3.0",
      "sampling: R top-p 0.99 (sampling.json)",                        // the folder's sampling.json
      "15 energy bins × 24 layers, plain spots",           // its table predates conserving spots
      "stage-1 loss weights: EC 0.01, width 0.01, GAN 0.1; He init yes",
    ]
    for fragment in expected { XCTAssertTrue(out.contains(fragment), "'\(fragment)' missing from:\n\(out)") }
    XCTAssertFalse(out.contains("layer energy"), "no layer-energy loss in a layer-wise model:\n\(out)")
    // The bundled global model was fine-tuned with the per-layer energy loss; its file says so.
    let global = geometryDir + "/../models/ds1-photon-global"
    if FileManager.default.fileExists(atPath: global + "/stage2.safetensors") {
      let g = try ok(["info", global])
      XCTAssertTrue(g.contains("global normalisation") && g.contains(", layer energy 0.3;"), g)
    }
    // A calibration refitted with today's defaults and κ lists its refinements.
    let refit = dir.file("refit")
    try FileManager.default.createDirectory(atPath: refit, withIntermediateDirectories: true)
    for f in ["stage1.safetensors", "stage2.safetensors"] { try FileManager.default.copyItem(atPath: model + "/" + f, toPath: refit + "/" + f) }
    _ = try ok(["calibrate-sparsity", "--model", refit, "--data", geometryDir + "/../ds1-photon.h5", "--count", "300",
                "--epsilon-energy-exponent", "0.5"])
    let r = try ok(["info", refit])
    XCTAssertTrue(r.contains("layer-conserving spots of random sizes, layer exponents γ, radial weights, ε ∝ E_layer^0.5, angular spreads σ, centre tilts τ, single deposits below E_c"), r)
    // A folder with only one stage names the missing file; shower-file options are refused.
    let half = dir.file("half")
    try FileManager.default.createDirectory(atPath: half, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: model + "/stage2.safetensors", toPath: half + "/stage2.safetensors")
    try fails(["info", half], ["stage1.safetensors"])
    try fails(["info", model, "--dataset", "ds2"], ["a model folder brings its own"])
  }

  // MARK: - Bad input

  func testBadInputGivesOneErrorLine() throws {
    try fails(["info", dir.file("missing.h5")], ["no such file"])
    try fails(["info", dir.path], ["is a directory without stage1.safetensors", "model folder"])
    let text = dir.file("text.h5")
    try "not hdf5".write(toFile: text, atomically: true, encoding: .utf8)
    try fails(["info", text], ["is not an HDF5 file"])

    let good = dir.file("good.h5")
    let (e, s) = makeShowers(n: 200, voxels: 368)
    try writeShowerFile(path: good, energies: e, showers: s, voxels: 368)
    try fails(["info", good, "--dataset", "ds7"], ["unknown dataset 'ds7'", "ds1-photon, ds1-pion, ds2, ds3"])

    let cut = dir.file("cut.h5")
    try FileManager.default.copyItem(atPath: good, toPath: cut)
    let size = try FileManager.default.attributesOfItem(atPath: cut)[.size] as! UInt64
    let h = try XCTUnwrap(FileHandle(forWritingAtPath: cut))
    try h.truncate(atOffset: size / 2)
    try h.close()
    try fails(["info", cut], ["truncated"])

    let nan = dir.file("nan.h5")
    var bad = s
    bad[5 * 368 + 3] = .nan
    try writeShowerFile(path: nan, energies: e, showers: bad, voxels: 368)
    try fails(["info", nan], ["voxel 3 of shower 5 is nan"])

    let neg = dir.file("neg.h5")
    var badE = e
    badE[7] = -1
    try writeShowerFile(path: neg, energies: badE, showers: s, voxels: 368)
    try fails(["info", neg], ["incident energy in row 7 is -1.0"])

    let odd = dir.file("odd.h5")
    try writeShowerFile(path: odd, energies: [256], showers: [Float](repeating: 1, count: 100), voxels: 100)
    try fails(["info", odd], ["100 voxels", "none of the CaloChallenge datasets"])

    let rows = dir.file("rows.h5")
    RawHDF5.write(path: rows, datasets: [
      .init("incident_energies", shape: [2, 1], values: [256, 512], type: .float64),
      .init("showers", shape: [1, 368], values: .init(repeating: 0, count: 368), type: .float64),
    ])
    try fails(["info", rows], ["'showers' has 1 rows but 'incident_energies' has 2"])
    let missing = dir.file("nods.h5")
    RawHDF5.write(path: missing, datasets: [.init("incident_energies", shape: [1, 1], values: [256], type: .float64)])
    try fails(["info", missing], ["no dataset 'showers'"])
  }

  // MARK: - calovq geometry

  func testGeometryWriteAllMatchesCommittedFiles() throws {
    let out = try ok(["geometry", "--write-all", dir.path])
    XCTAssertEqual(out.split(separator: "\n").count, 4)
    XCTAssertEqual(dir.contents(), DatasetKind.allCases.map(\.binningFileName).sorted())
    for kind in DatasetKind.allCases {
      let written = try String(contentsOfFile: dir.file(kind.binningFileName), encoding: .utf8)
      let committed = try String(contentsOfFile: geometryDir + "/" + kind.binningFileName, encoding: .utf8)
      XCTAssertEqual(written, committed, kind.binningFileName)
    }
    let one = dir.file("one.xml")
    _ = try ok(["geometry", "--dataset", "ds3", "--out", one])
    XCTAssertEqual(try Geometry(contentsOfFile: one, particle: "electron"), DatasetKind.ds3.geometry)
    let table = try ok(["geometry", "--binning", one])
    XCTAssertTrue(table.contains("40500 voxels"), table)
    XCTAssertTrue(table.contains("identical to the built-in ds3 geometry"), table)
  }

  func testGeometryErrorsLeaveNoFile() throws {
    try fails(["geometry", "--dataset", "ds2", "--out", dir.file("nope/x.xml")], ["folder", "does not exist"])
    try fails(["geometry", "--dataset", "bogus"], ["unknown dataset 'bogus'"])
    try fails(["geometry"], ["give --dataset"])
    let badXML = dir.file("bad.xml")
    try "<Bins><Bin name=\"x\" pid=\"1\"><Layer id=\"0\" r_edges=\"0,2,1\" n_bin_alpha=\"1\"/></Bin></Bins>"
      .write(toFile: badXML, atomically: true, encoding: .utf8)
    try fails(["geometry", "--binning", badXML], ["bad.xml' line 1", "strictly ascending"])
    XCTAssertEqual(dir.contents(), ["bad.xml"], "failed writes leave nothing behind")
  }
}
