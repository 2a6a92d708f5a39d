// The bundled model folders (sample-data/models/<dataset>-<global|layerwise>/) as a user gets them:
// within the size limits, documented, loadable by `calovq generate`, and still producing showers that
// resemble the bundled sample of their dataset. Skipped when no folder is bundled.
import CaloData
import CaloGeometry
import CaloTestSupport
import XCTest

final class BundledModelTests: TempDirTestCase {
  private let sampleData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sample-data").path

  private func folders() throws -> [String] {
    let models = sampleData + "/models"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: models)) ?? []
    let dirs = names.sorted().map { models + "/" + $0 }.filter {
      var isDir: ObjCBool = false
      return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue
    }
    if dirs.isEmpty { throw XCTSkip("no bundled model folders in \(models)") }
    return dirs
  }

  private func size(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: p)[.size]) as? NSNumber)?.intValue ?? 0 }

  func testFoldersAreCompleteAndWithinTheSizeLimits() throws {
    var total = 0
    for d in try folders() {
      let name = (d as NSString).lastPathComponent
      let parts = name.split(separator: "-")
      XCTAssertTrue(["global", "layerwise"].contains(String(parts.last ?? "")), "\(name): <dataset>-<global|layerwise>")
      XCTAssertNotNil(DatasetKind(name: parts.dropLast().joined(separator: "-")), name)
      for f in ["stage1.safetensors", "stage2.safetensors", "MODEL.md"] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/" + f), "\(name) lacks \(f)")
      }
      let bytes = size(d + "/stage1.safetensors") + size(d + "/stage2.safetensors")
      XCTAssertLessThan(bytes, 8 << 20, "\(name): a bundled model stays under 8 MB")
      total += bytes
      let doc = try String(contentsOfFile: d + "/MODEL.md", encoding: .utf8)
      XCTAssertTrue(doc.contains("not GEANT4"), "\(name)/MODEL.md says the training showers are parameterised")
    }
    XCTAssertLessThan(total, 64 << 20, "the models folder stays under 64 MB")
  }

  /// 1000 showers from each bundled model against the bundled 1000-shower sample of its dataset: the
  /// E_tot/E_inc separation must stay far below that of a broken model (statistical noise at this size
  /// is about 0.02; the simulator against itself measured 0.004 with 10k showers).
  func testEachModelGeneratesShowersLikeItsSample() throws {
    for d in try folders() {
      let name = (d as NSString).lastPathComponent
      let kind = DatasetKind(name: name.split(separator: "-").dropLast().joined(separator: "-"))!
      let out = dir.file("\(name).h5")
      let g = try CLIRunner.run(["generate", "--model", d, "--count", "1000", "--seed", "3", "--out", out])
      XCTAssertEqual(g.status, 0, "\(name): \(g.stderr)")
      let r = try ShowerFileReader(path: out, expected: kind)
      XCTAssertEqual(r.count, 1000)
      XCTAssertTrue(r.source?.contains("Calo-VQ model") ?? false)
      let e = try CLIRunner.run(["evaluate", out, sampleData + "/\(kind.rawValue).h5", "--no-fpd"])
      XCTAssertEqual(e.status, 0, e.stderr)
      let line = e.stdout.split(separator: "\n").first { $0.hasPrefix("E_tot/E_inc ") }
      let value = line.flatMap { Double($0.split(separator: " ").last ?? "") }
      XCTAssertNotNil(value, e.stdout)
      XCTAssertLessThan(value ?? 1, 0.08, "\(name): E_tot/E_inc separation against the bundled sample")
    }
  }

  /// `calovq bench generate --model DIR` times each bundled folder with its own weights, sampling options
  /// and spot rounding (the README's ms/shower column); a folder that is not a model gives one error line.
  func testBenchTimesEachModelFolder() throws {
    for d in try folders() {
      let name = (d as NSString).lastPathComponent
      let r = try CLIRunner.run(["bench", "generate", "--model", d, "--batch", "4", "--repeats", "1"])
      XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
      XCTAssertTrue(r.stdout.contains("model folder \(d)"), r.stdout)
      let row = r.stdout.split(separator: "\n").first { $0.hasPrefix(String(name.prefix(18))) }
      let cells = row?.split(separator: " ") ?? []
      XCTAssertEqual(cells.count, 11, "one table row for \(name):\n\(r.stdout)")
      if cells.count == 11 {
        XCTAssertEqual(cells[1], "4")
        XCTAssertGreaterThan(Double(cells[5]) ?? 0, 0, "total ms/shower")
      }
    }
  }

  func testBenchOfAFolderWithoutAModelSaysWhatIsMissing() throws {
    let r = try CLIRunner.run(["bench", "generate", "--model", dir.file("no-model"), "--batch", "4"])
    XCTAssertEqual(r.status, 1, r.stdout)
    XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
    XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("stage1.safetensors"), r.stderr)
  }

  /// `--model` brings its own dataset and GPT, so the random-preset options are refused, not ignored.
  func testBenchOfAFolderRefusesPresetOptions() throws {
    let d = try XCTUnwrap(try folders().first)
    let r = try CLIRunner.run(["bench", "generate", "--model", d, "--dataset", "ds2", "--batch", "4"])
    XCTAssertEqual(r.status, 1, r.stdout)
    XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
    XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("leave out --dataset"), r.stderr)
  }

  /// A dataset with both bundled normalisations opens on the global model, and `n` switches the
  /// explorer to the layer-wise one; the metrics screen then has a generated shower in both columns.
  func testExplorerSwitchesBetweenTheTwoBundledModelsOfADataset() throws {
    let names = try folders().map { ($0 as NSString).lastPathComponent }
    guard let pair = ["ds1-photon", "ds1-pion", "ds2", "ds3"].first(where: { names.contains($0 + "-global") && names.contains($0 + "-layerwise") })
    else { throw XCTSkip("no dataset has both bundled models") }
    func snapshot(_ keys: String) throws -> [String] {
      let out = dir.file("snap-\(keys.filter(\.isLetter)).txt")
      let r = try CLIRunner.run(["explore", "--sample-dir", sampleData, "--dataset", pair, "--keys", keys, "--snapshot", out,
                                 "--size", "100x30"])
      XCTAssertEqual(r.status, 0, r.stderr)
      return try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
    }
    let first = try snapshot("g")
    XCTAssertTrue(first[0].contains("norm global │ model \(pair)-global"), first[0])
    XCTAssertTrue(first.contains { $0.hasPrefix("1 shower generated") }, first.joined(separator: "\n"))
    let both = try snapshot("g n g 4")
    XCTAssertTrue(both[0].contains("norm layer-wise │ model \(pair)-layer"), both[0])
    let row = try XCTUnwrap(both.first { $0.hasPrefix("E_tot/E_inc") }, both.joined(separator: "\n"))
    XCTAssertEqual(row.components(separatedBy: "(1)").count - 1, 2, "one generated shower per model: \(row)")
  }
}
