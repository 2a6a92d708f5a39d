// `calovq generate --r-level-interpolation --r-layer-fit …` and the same settings from a model folder's
// sampling.json, on the bundled ds1-photon layer-wise model (skipped when it is not bundled).
import CaloData
import CaloGeometry
import CaloTestSupport
import XCTest

final class GenerateSamplingFlagTests: TempDirTestCase {
  private let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sample-data/models/ds1-photon-layerwise").path

  private func generate(_ modelDir: String, _ name: String, _ extra: [String]) throws -> (stdout: String, showers: [Float]) {
    let out = dir.file(name + ".h5")
    let r = try CLIRunner.run(["generate", "--model", modelDir, "--count", "300", "--seed", "4", "--out", out] + extra)
    XCTAssertEqual(r.status, 0, r.stderr)
    let f = try ShowerFileReader(path: out, expected: .ds1Photon)
    return (r.stdout, try f.read(from: 0, count: f.count).showers)
  }

  func testFlagsChangeTheShowersAndSamplingJSONGivesTheSame() throws {
    guard FileManager.default.fileExists(atPath: model + "/stage2.safetensors") else { throw XCTSkip("no bundled model") }
    let plain = try generate(model, "plain", [])
    let flags = try generate(model, "flags", ["--r-level-interpolation", "--r-layer-fit", "size-weighted"])
    XCTAssertTrue(flags.stdout.contains("R levels interpolated, layer fit size-weighted"), flags.stdout)
    XCTAssertNotEqual(plain.showers, flags.showers)
    // Each setting alone changes the showers too.
    XCTAssertNotEqual(try generate(model, "fit", ["--r-layer-fit", "size-weighted"]).showers, plain.showers)
    XCTAssertNotEqual(try generate(model, "lvl", ["--r-level-interpolation"]).showers, plain.showers)
    // The same settings in a copy's sampling.json (keeping the folder's rTopP) give the same showers.
    let copy = dir.file("copy")
    try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
    for f in ["stage1.safetensors", "stage2.safetensors", "spot-rounding.json"] {
      try FileManager.default.copyItem(atPath: model + "/" + f, toPath: copy + "/" + f)
    }
    try #"{"rTopP": 0.99, "rLevelInterpolation": true, "rLayerFit": "size-weighted"}"#
      .write(toFile: copy + "/sampling.json", atomically: true, encoding: .utf8)
    XCTAssertEqual(try generate(copy, "json", []).showers, flags.showers)
    let info = try CLIRunner.run(["info", copy])
    XCTAssertTrue(info.stdout.contains("R levels interpolated, layer fit size-weighted (sampling.json)"), info.stdout)
  }

  func testUnknownLayerFitIsRefusedWithTheChoices() throws {
    guard FileManager.default.fileExists(atPath: model + "/stage2.safetensors") else { throw XCTSkip("no bundled model") }
    let r = try CLIRunner.run(["generate", "--model", model, "--count", "10", "--out", dir.file("x.h5"),
                               "--r-layer-fit", "largest"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("unknown --r-layer-fit 'largest'; use proportional or size-weighted"), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("x.h5")))
  }
}
