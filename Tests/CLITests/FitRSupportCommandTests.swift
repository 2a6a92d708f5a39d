// `calovq fit-r-support` as a user runs it: on a copy of a bundled model folder and the bundled sample
// file; `calovq info` then reports the support, and bad input gives one error line and changes nothing.
import CaloTestSupport
import XCTest

final class FitRSupportCommandTests: TempDirTestCase {
  private let sampleData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sample-data").path

  override func setUpWithError() throws {
    XCTAssertNotNil(CLIRunner.executablePath(), "calovq is not built; run `swift build` before the tests")
  }

  func testFitsACopyOfABundledModelAndInfoReportsIt() throws {
    let source = sampleData + "/models/ds1-photon-layerwise"
    guard FileManager.default.fileExists(atPath: source + "/stage2.safetensors") else { throw XCTSkip("no bundled ds1-photon-layerwise model") }
    let model = dir.file("model")
    try FileManager.default.copyItem(atPath: source, toPath: model)
    let before = try Data(contentsOf: URL(fileURLWithPath: model + "/stage2.safetensors"))

    let bad = try CLIRunner.run(["fit-r-support", model, "--data", sampleData + "/ds1-photon.h5", "--bins-per-decade", "0"])
    XCTAssertEqual(bad.status, 1, bad.stdout)
    XCTAssertEqual(bad.stderrLines.count, 1, bad.stderr)
    XCTAssertTrue(bad.stderr.hasPrefix("error: ") && bad.stderr.contains("--bins-per-decade"), bad.stderr)
    let wrong = try CLIRunner.run(["fit-r-support", model, "--data", sampleData + "/ds2.h5"])
    XCTAssertEqual(wrong.status, 1, wrong.stdout)
    XCTAssertEqual(wrong.stderrLines.count, 1, wrong.stderr)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model + "/stage2.safetensors")), before, "a refused run writes nothing")

    let r = try CLIRunner.run(["fit-r-support", model, "--data", sampleData + "/ds1-photon.h5", "--empty-rates", "1",
                               "--empty-rate-showers", "300"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("R support from 1000 showers: "), r.stdout)
    XCTAssertEqual(r.stdout.components(separatedBy: "empty rates, ").count - 1, 2, "before and after the round:\n\(r.stdout)")
    XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: model + "/stage2.safetensors")), before)
    let info = try CLIRunner.run(["info", model])
    XCTAssertEqual(info.status, 0, info.stderr)
    XCTAssertTrue(info.stdout.contains("R support: ") && info.stdout.contains("with empty-rate offsets"), info.stdout)
    let g = try CLIRunner.run(["generate", "--model", model, "--count", "20", "--out", dir.file("g.h5"), "--constrain-r"])
    XCTAssertEqual(g.status, 0, g.stderr)
  }
}
