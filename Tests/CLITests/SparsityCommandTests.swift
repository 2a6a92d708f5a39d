// `calovq calibrate-sparsity --dense` and `calovq spot-round` end to end on real HDF5 files: a dense
// copy of sparse showers is fitted back to the original's occupancy, and bad input gives one error line.
import CaloData
import CaloGeometry
import CaloTestSupport
import XCTest

final class SparsityCommandTests: TempDirTestCase {
  override func setUpWithError() throws {
    XCTAssertNotNil(CLIRunner.executablePath(), "calovq is not built; run `swift build` before the tests")
  }

  func testDenseCopyIsRoundedBackToTheTargetOccupancy() throws {
    let g = DatasetKind.ds1Photon.geometry, v = g.voxelCount, n = 400
    let energies = (0..<n).map { DatasetKind.ds1Energies[$0 % 15] }
    // Target: every 5th voxel holds E/1000 MeV; dense: the same plus 0.01 MeV in every voxel.
    var target = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in stride(from: 0, to: v, by: 5) { target[i * v + k] = Float(energies[i] / 1000) } }
    let dense = target.map { $0 + 0.01 }
    try writeShowerFile(path: dir.file("target.h5"), energies: energies, showers: target, voxels: v)
    try writeShowerFile(path: dir.file("dense.h5"), energies: energies, showers: dense, voxels: v)

    let fit = try CLIRunner.run(["calibrate-sparsity", "--data", dir.file("target.h5"), "--dense", dir.file("dense.h5"),
                                 "--out", dir.file("t.json")])
    XCTAssertEqual(fit.status, 0, fit.stderr)
    XCTAssertTrue(fit.stdout.contains("ds1-photon: 400 showers per side"), fit.stdout)
    let round = try CLIRunner.run(["spot-round", dir.file("dense.h5"), "--table", dir.file("t.json"), "--out", dir.file("r.h5")])
    XCTAssertEqual(round.status, 0, round.stderr)
    XCTAssertTrue(round.stdout.contains("spot-rounded 400 showers"), round.stdout)

    let r = try ShowerFileReader(path: dir.file("r.h5")).read(from: 0, count: n).showers
    let nonEmpty = { (s: [Float]) in Double(s.filter { $0 > 0 }.count) / Double(n) }
    let want = nonEmpty(target)
    XCTAssertEqual(nonEmpty(dense), Double(v))
    XCTAssertEqual(nonEmpty(r), want, accuracy: 0.05 * want)
    // Every voxel keeps its expected energy, so the totals agree closely.
    XCTAssertEqual(Double(r.reduce(0, +) / dense.reduce(0, +)), 1, accuracy: 0.01)

    // The defaults write radial weights, random spot sizes, angular spreads, centre tilts and single deposits, no κ; the flags turn
    // them off / set κ.
    func table(_ name: String) throws -> [String: Any] {
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file(name)))) as! [String: Any]
    }
    let t = try table("t.json")
    XCTAssertNotNil(t["radialWeights"]); XCTAssertEqual(t["randomSpotSizes"] as? Bool, true); XCTAssertNil(t["epsilonEnergyExponent"])
    XCTAssertNotNil(t["angularSpreads"]); XCTAssertNotNil(t["centreTilts"]); XCTAssertNotNil(t["singleDepositBelowMeV"])
    XCTAssertNotNil(t["emptyBelowMeV"]); XCTAssertNil(t["layerScales"], "layer scales are opt-in")
    let scaled = try CLIRunner.run(["calibrate-sparsity", "--data", dir.file("target.h5"), "--dense", dir.file("dense.h5"),
                                    "--out", dir.file("t3.json"), "--layer-scales"])
    XCTAssertEqual(scaled.status, 0, scaled.stderr)
    XCTAssertEqual((try table("t3.json")["layerScales"] as? [[Double]])?.count, 15, "one row per ds1 energy")
    XCTAssertNil(try table("t3.json")["layerPivotShares"]); XCTAssertNil(try table("t3.json")["widthSpreads"])
    XCTAssertTrue(scaled.stdout.contains(" s "), scaled.stdout)
    let spread = try CLIRunner.run(["calibrate-sparsity", "--data", dir.file("target.h5"), "--dense", dir.file("dense.h5"),
                                    "--out", dir.file("t4.json"), "--layer-spreads", "--width-spreads", "--radial-transport"])
    XCTAssertEqual(spread.status, 0, spread.stderr)
    let t4 = try table("t4.json")
    for key in ["layerScales", "layerPivotShares", "layerExponentsBelow", "layerExponentsAbove", "widthSpreads"] {
      XCTAssertEqual((t4[key] as? [[Double]])?.count, 15, key)
    }
    XCTAssertTrue(spread.stdout.contains(" b "), spread.stdout)
    XCTAssertEqual((t4["radialTransportDense"] as? [[[Double]]])?.count, 15, "radial transport: one row per ds1 energy")
    XCTAssertNil(t["radialTransportDense"], "the radial transport is opt-in")
    let off = try CLIRunner.run(["calibrate-sparsity", "--data", dir.file("target.h5"), "--dense", dir.file("dense.h5"),
                                 "--out", dir.file("t2.json"), "--no-radial-weights", "--equal-spot-sizes", "--no-angular-spread",
                                 "--no-centre-tilt", "--no-single-deposits", "--no-random-rotation", "--no-empty-layers",
                                 "--epsilon-energy-exponent", "0.5"])
    XCTAssertEqual(off.status, 0, off.stderr)
    let t2 = try table("t2.json")
    XCTAssertNil(t2["radialWeights"]); XCTAssertNil(t2["randomSpotSizes"]); XCTAssertNil(t2["angularSpreads"]); XCTAssertNil(t2["centreTilts"]); XCTAssertNil(t2["singleDepositBelowMeV"])
    XCTAssertNil(t2["emptyBelowMeV"])
    XCTAssertNil(t2["randomRotation"]); XCTAssertTrue(off.stdout.contains("not turned (--no-random-rotation)"), off.stdout)
    XCTAssertEqual(t2["epsilonEnergyExponent"] as? Double, 0.5)
  }

  /// 300 ds1-photon showers at 65,536 MeV: the dense copy holds 0.8–1.0 of E_inc (evenly spread), the
  /// target 0.93–0.97. `--total-energy-map` writes the map and `spot-round` gives the dense showers the
  /// target's E_tot/E_inc spread, each keeping its place in the order.
  func testTotalEnergyMapGivesTheTargetsSpread() throws {
    let v = DatasetKind.ds1Photon.geometry.voxelCount, n = 300, e = 65536.0
    func showers(_ ratio: (Int) -> Double) -> [Float] {
      var x = [Float](repeating: 0, count: n * v)
      for i in 0..<n { for k in stride(from: 0, to: v, by: 4) { x[i * v + k] = Float(ratio(i) * e / Double((v + 3) / 4)) } }
      return x
    }
    let denseRatio = { (i: Int) in 0.8 + 0.2 * Double((i * 7919) % n) / Double(n) }
    let targetRatio = { (i: Int) in 0.93 + 0.04 * Double(i) / Double(n) }
    let energies = [Double](repeating: e, count: n)
    try writeShowerFile(path: dir.file("target.h5"), energies: energies, showers: showers(targetRatio), voxels: v)
    try writeShowerFile(path: dir.file("dense.h5"), energies: energies, showers: showers(denseRatio), voxels: v)
    let fit = try CLIRunner.run(["calibrate-sparsity", "--data", dir.file("target.h5"), "--dense", dir.file("dense.h5"),
                                 "--out", dir.file("t.json"), "--total-energy-map", "--no-widths"])
    XCTAssertEqual(fit.status, 0, fit.stderr)
    XCTAssertTrue(fit.stdout.contains("E_tot/E_inc 0.9"), fit.stdout)
    let round = try CLIRunner.run(["spot-round", dir.file("dense.h5"), "--table", dir.file("t.json"), "--out", dir.file("r.h5")])
    XCTAssertEqual(round.status, 0, round.stderr)
    let r = try ShowerFileReader(path: dir.file("r.h5")).read(from: 0, count: n).showers
    let ratios = (0..<n).map { i in r[(i * v)..<((i + 1) * v)].reduce(0.0) { $0 + Double($1) } / e }
    XCTAssertEqual(ratios.min()!, 0.93, accuracy: 0.004)
    XCTAssertEqual(ratios.max()!, 0.97, accuracy: 0.004)
    let order = (0..<n).sorted { denseRatio($0) < denseRatio($1) }
    XCTAssertTrue(zip(order, order.dropFirst()).allSatisfy { ratios[$0] <= ratios[$1] + 1e-6 }, "the order stays")
  }

  func testBadInputGivesOneErrorLine() throws {
    try "not json".write(toFile: dir.file("bad.json"), atomically: true, encoding: .utf8)
    try writeShowerFile(path: dir.file("s.h5"), energies: [1024], showers: [Float](repeating: 1, count: 368), voxels: 368)
    let cases: [([String], String)] = [
      (["spot-round", dir.file("s.h5"), "--table", dir.file("bad.json"), "--out", dir.file("o.h5")], "not a spot-rounding table"),
      (["spot-round", dir.file("s.h5"), "--table", dir.file("none.json"), "--out", dir.file("o.h5")], "cannot read"),
      (["calibrate-sparsity", "--data", dir.file("s.h5")], "give either --model DIR or --dense FILE"),
      (["calibrate-sparsity", "--data", dir.file("s.h5"), "--dense", dir.file("s.h5")], "--dense needs --out"),
      (["calibrate-sparsity", "--data", dir.file("s.h5"), "--model", dir.file("nomodel")], "stage1.safetensors"),
      (["calibrate-sparsity", "--data", dir.file("s.h5"), "--dense", dir.file("s.h5"), "--out", dir.file("t.json"),
        "--max-exponent", "0.2"], "--max-exponent must be in (0.3, 50]"),
      (["calibrate-sparsity", "--data", dir.file("s.h5"), "--dense", dir.file("s.h5"), "--out", dir.file("t.json"),
        "--epsilon-energy-exponent", "1"], "--epsilon-energy-exponent must be in [0, 1)"),
    ]
    for (args, fragment) in cases {
      let r = try CLIRunner.run(args)
      XCTAssertEqual(r.status, 1, "\(args): \(r.stdout) \(r.stderr)")
      XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
      XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(fragment), "\(args): \(r.stderr)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("o.h5")), "nothing written after an error")
  }
}
