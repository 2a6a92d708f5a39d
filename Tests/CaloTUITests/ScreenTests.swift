// Screens rendered from real (synthetic, seeded) CaloChallenge files through the same session code
// the interactive explorer uses, checked for the parts a user relies on.

import CaloGeometry
import XCTest

@testable import CaloTUI

/// Replaces wall-clock timings ("0.42 ms") that differ between runs.
func stripTimes(_ s: String) -> String {
  s.replacingOccurrences(of: #"[0-9.]+ ms"#, with: "T ms", options: .regularExpression)
}

final class ScreenTests: XCTestCase {
  private var dir = ""

  override func setUpWithError() throws {
    dir = try Fixtures.tempDir(self)
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5")
  }

  private func render(_ keys: String, _ w: Int = 100, _ h: Int = 30, depth: ColorDepth = .xterm256,
                      ascii: Bool = false, dataset: DatasetKind = .ds1Photon) throws -> Canvas
  {
    Explorer.script(try Fixtures.options(sampleDir: dir, dataset: dataset, ascii: ascii), keys: try Key.parseScript(keys),
                    width: w, height: h, depth: depth)
  }

  func testShowerScreenHasHeatmapsLegendProfileAndMetrics() throws {
    let c = try render("g g ]")
    let t = c.text()
    XCTAssertTrue(c.line(0).hasPrefix(" CaloVQ │ ds1-photon │ 65.5 GeV │ norm global │ file ds1-photon.h5"), c.line(0))
    for s in ["shower (", "reference row", "avg file (2)", "avg reference (12)", "layer 1 (2/5, 10α × 16r)",
              "MeV (log)", "energy per layer", "metric", "2 showers drawn from file", "gGen GBatch"] {
      XCTAssertTrue(t.contains(s), "missing '\(s)' in\n\(t)")
    }
    // Beside the profiles: the metrics with the largest separation power, largest first.
    let seps = t.split(separator: "\n").compactMap { line -> Double? in
      guard let r = line.range(of: #"(E_|EC |width |voxel ).* ([01]\.\d{4})$"#, options: .regularExpression) else { return nil }
      return Double(line[r].split(separator: " ").last!)
    }
    XCTAssertEqual(seps.count, 4, t)
    XCTAssertEqual(seps, seps.sorted(by: >))
    // The discs are drawn with coloured half blocks from the theme's map.
    let blocks = c.cells.filter { $0.glyph == "▀" }
    XCTAssertGreaterThan(blocks.count, 4 * 150, "four discs of half blocks")
    XCTAssertGreaterThan(Set(blocks.map(\.style.fg)).count, 20, "a colour scale, not one colour")
  }

  func testThemeKeyRecoloursTheHeatmap() throws {
    let a = try render("g"), b = try render("g t")
    // Lines that show a generation time are left out: on a loaded machine a longer time string shifts
    // or truncates the rest of its line, which says nothing about the theme.
    let rows = (1..<a.height).filter { !a.line($0).contains(" ms") && !b.line($0).contains(" ms") }
    XCTAssertGreaterThan(rows.count, a.height / 2)
    XCTAssertEqual(rows.map { a.line($0) }, rows.map { b.line($0) }, "same glyphs below the header")
    XCTAssertTrue(b.line(0).contains("theme \(try Fixtures.themes.themes[1].name)"))
    XCTAssertNotEqual(a.cells.map(\.style), b.cells.map(\.style))
  }

  func testGridShowsEveryLayerAndPagesForDS2() throws {
    let t = try render("g 2").text()
    XCTAssertTrue(t.contains("All layers: last shower"))
    for id in [0, 1, 2, 3, 12] { XCTAssertTrue(t.contains("L\(id) "), "tile of layer \(id) in\n\(t)") }
    XCTAssertTrue(t.contains("layers 1-5 of 5"))
    try Fixtures.writeFile(.ds2, to: dir + "/ds2.h5", count: 40)
    let d = try render("g 2", 80, 24, dataset: .ds2).text()
    XCTAssertTrue(d.contains("of 45"), d)
    XCTAssertTrue(d.contains("L0 "))
  }

  func testProfileAndMetricsScreens() throws {
    let p = try render("G 3").text()
    XCTAssertTrue(p.contains("Energy per layer: bars = last shower, ◆ = average of reference showers"), p)
    XCTAssertTrue(p.contains("layer id") && p.contains(" 12"), p)
    XCTAssertTrue(p.contains("◆"))
    let m = try render("G n g 4 Down").text()
    for s in ["sep global", "sep layer-wise", "E_layer L12", "(50)", "(1)", "E_layer L0: bars = drawn showers"] {
      XCTAssertTrue(m.contains(s), "missing '\(s)' in\n\(m)")
    }
  }

  func testMetricValuesStayInTheirColumns() throws {
    XCTAssertEqual(MetricsScreen.value(3.06e-17, "mm"), "0 mm")
    XCTAssertEqual(MetricsScreen.value(-0.042, "mm"), "-0.042 mm")
    XCTAssertEqual(MetricsScreen.value(0.8312, ""), "0.831")
    XCTAssertEqual(MetricsScreen.value(-2e-7, ""), "0")
    let m = try render("G n g 4").text()
    XCTAssertNil(m.range(of: #"mm[-0-9]"#, options: .regularExpression), "a value runs into the next column:\n\(m)")
  }

  func testHelpListsEveryBinding() throws {
    for (w, h) in [(100, 30), (80, 24)] {
      let t = try render("?", w, h).text()
      for b in KeyBindings.table {
        let line = b.group ?? b.help
        XCTAssertTrue(t.contains(line), "help at \(w)x\(h) misses '\(line)'\n\(t)")
      }
      XCTAssertTrue(t.contains("parameterised"))
    }
    // Grouped bindings share one line listing the first key of each.
    XCTAssertTrue(try render("?").text().contains("1 2 3   shower, all layers, profile"))
  }

  func testTooSmallTerminalShowsAMessage() throws {
    let t = try render("g", 79, 24).text()
    XCTAssertTrue(t.contains("Terminal too small: 79x24."))
    XCTAssertTrue(t.contains("at least 80x24"))
    XCTAssertFalse(t.contains("CaloVQ"))
  }

  func testASCIIAndMonochromeModes() throws {
    let a = try render("g 1", 80, 24, depth: .xterm256, ascii: true)
    XCTAssertTrue(a.text().unicodeScalars.allSatisfy(\.isASCII), a.text())
    XCTAssertTrue(a.text().contains("LeftLower") == false)
    let m = try render("g ]", 80, 24, depth: .none)
    XCTAssertTrue(m.text().contains("▓") || m.text().contains("█"), "shade glyphs instead of colours")
    XCTAssertFalse(m.text().contains("▀"))
    XCTAssertTrue(m.ansiText(depth: .none).contains("\u{1b}[0;1;7m"), "header in reverse video")
  }

  func testMissingReferenceIsExplained() throws {
    let t = try render("d g").text()  // ds1-pion has no file in the folder
    XCTAssertTrue(t.contains("ds1-pion.h5' for ds1-pion"), t)
    XCTAssertTrue(t.contains("is missing. Create it with `calovq simulate`"), t)
    XCTAssertTrue(t.contains("gGen"))
  }

  func testGoldenGridScreen() throws {
    let c = try render("g g 2", 80, 24, depth: .none)
    let text = stripTimes(c.text())
    if let out = ProcessInfo.processInfo.environment["CALOVQ_UPDATE_SNAPSHOTS"] {
      try text.write(toFile: out, atomically: true, encoding: .utf8)
    }
    XCTAssertEqual(text, GoldenSnapshots.gridDS1Photon)
  }
}
