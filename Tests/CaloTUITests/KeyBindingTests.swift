import CaloGeometry
import XCTest

@testable import CaloTUI

final class KeyBindingTests: XCTestCase {
  private func state(_ d: DatasetKind = .ds1Photon) -> ViewState {
    ViewState(datasets: DatasetKind.allCases, dataset: d, themeIndex: 0, themeCount: 4)
  }

  func testEveryBindingIsUniqueAndDocumented() {
    var seen = Set<Key>()
    for b in KeyBindings.table {
      XCTAssertFalse(b.help.isEmpty)
      for k in b.keys { XCTAssertTrue(seen.insert(k).inserted, "key \(k.label) bound twice") }
    }
    XCTAssertEqual(Set(KeyBindings.table.map(\.action)).count, Action.allCases.count, "every action has a key")
  }

  func testGenerationKeysRequestWork() {
    var s = state()
    XCTAssertEqual(KeyBindings.handle(.char("g"), state: &s, layerCount: 5, metricRows: 6), [.generateOne, .redraw])
    XCTAssertEqual(KeyBindings.handle(.char("G"), state: &s, layerCount: 5, metricRows: 6), [.generateBatch, .redraw])
    XCTAssertEqual(KeyBindings.handle(.char("x"), state: &s, layerCount: 5, metricRows: 6), [.resetRunning, .redraw])
    XCTAssertEqual(KeyBindings.handle(.char("n"), state: &s, layerCount: 5, metricRows: 6), [.contextChanged, .redraw])
    XCTAssertEqual(s.normalisation, .layerWise)
    XCTAssertEqual(KeyBindings.handle(.char("q"), state: &s, layerCount: 5, metricRows: 6), .quit)
  }

  func testLayerStepsWrap() {
    var s = state()
    XCTAssertEqual(KeyBindings.handle(.char("["), state: &s, layerCount: 5, metricRows: 0), .redraw)
    XCTAssertEqual(s.layerPosition, 4)
    _ = KeyBindings.handle(.char("]"), state: &s, layerCount: 5, metricRows: 0)
    _ = KeyBindings.handle(.pageDown, state: &s, layerCount: 5, metricRows: 0)
    XCTAssertEqual(s.layerPosition, 1)
  }

  func testDatasetCycleResetsEnergyAndLayer() {
    var s = state()
    s.layerPosition = 3
    s.energyMeV = 4096
    XCTAssertEqual(KeyBindings.handle(.char("d"), state: &s, layerCount: 5, metricRows: 0), [.contextChanged, .redraw])
    XCTAssertEqual(s.dataset, .ds1Pion)
    XCTAssertEqual(s.layerPosition, 0)
    XCTAssertEqual(s.energyMeV, 65536)
    _ = KeyBindings.handle(.char("D"), state: &s, layerCount: 5, metricRows: 0)
    _ = KeyBindings.handle(.char("D"), state: &s, layerCount: 5, metricRows: 0)
    XCTAssertEqual(s.dataset, .ds3)
    var single = ViewState(datasets: [.ds2], dataset: .ds2)
    XCTAssertEqual(KeyBindings.handle(.char("d"), state: &single, layerCount: 45, metricRows: 0), .redraw)
    XCTAssertNotNil(single.message)
  }

  func testEnergyStepsDS1AndSlider() {
    var s = state()
    _ = KeyBindings.handle(.right, state: &s, layerCount: 5, metricRows: 0)
    XCTAssertEqual(s.energyMeV, 131072)
    s.energyMeV = DatasetKind.ds1Energies.last!
    XCTAssertEqual(KeyBindings.handle(.char("+"), state: &s, layerCount: 5, metricRows: 0), .redraw, "clamped: no reload")
    var t = state(.ds2)
    let e0 = t.energyMeV
    _ = KeyBindings.handle(.left, state: &t, layerCount: 45, metricRows: 0)
    XCTAssertEqual(t.energyMeV / e0, pow(10, -1.0 / 16), accuracy: 1e-9)
  }

  func testTypedEnergy() {
    var s = state(.ds2)
    XCTAssertEqual(KeyBindings.handle(.char("e"), state: &s, layerCount: 45, metricRows: 0), .redraw)
    for ch in "12.5" { _ = KeyBindings.handle(.char(ch), state: &s, layerCount: 45, metricRows: 0) }
    _ = KeyBindings.handle(.char("q"), state: &s, layerCount: 45, metricRows: 0)  // ignored while typing
    XCTAssertEqual(s.energyInput, "12.5")
    XCTAssertEqual(KeyBindings.handle(.enter, state: &s, layerCount: 45, metricRows: 0), [.contextChanged, .redraw])
    XCTAssertEqual(s.energyMeV, 12500, accuracy: 1e-9)
    XCTAssertNil(s.energyInput)
    // ds1 snaps; out-of-range input is refused with a message and no reload.
    var d = state()
    _ = KeyBindings.handle(.char("e"), state: &d, layerCount: 5, metricRows: 0)
    for ch in "70" { _ = KeyBindings.handle(.char(ch), state: &d, layerCount: 5, metricRows: 0) }
    _ = KeyBindings.handle(.enter, state: &d, layerCount: 5, metricRows: 0)
    XCTAssertEqual(d.energyMeV, 65536)
    _ = KeyBindings.handle(.char("e"), state: &d, layerCount: 5, metricRows: 0)
    for ch in "9000" { _ = KeyBindings.handle(.char(ch), state: &d, layerCount: 5, metricRows: 0) }
    XCTAssertEqual(KeyBindings.handle(.enter, state: &d, layerCount: 5, metricRows: 0), .redraw)
    XCTAssertTrue(d.message?.contains("bad energy") ?? false)
    _ = KeyBindings.handle(.char("e"), state: &d, layerCount: 5, metricRows: 0)
    _ = KeyBindings.handle(.escape, state: &d, layerCount: 5, metricRows: 0)
    XCTAssertNil(d.energyInput)
  }

  func testHelpClosesOnAnyKeyAndThemesCycle() {
    var s = state()
    _ = KeyBindings.handle(.char("?"), state: &s, layerCount: 5, metricRows: 0)
    XCTAssertTrue(s.showHelp)
    XCTAssertEqual(KeyBindings.handle(.char("g"), state: &s, layerCount: 5, metricRows: 0), .redraw, "g only closes help")
    XCTAssertFalse(s.showHelp)
    for _ in 0..<5 { XCTAssertTrue(KeyBindings.handle(.char("t"), state: &s, layerCount: 5, metricRows: 0).contains(.themeChanged)) }
    XCTAssertEqual(s.themeIndex, 1)
  }

  func testScreensRowsAndUnknownKeys() {
    var s = state()
    for expected in [ScreenKind.grid, .profile, .metrics, .codebook, .tokens, .shower] {
      _ = KeyBindings.handle(.char("v"), state: &s, layerCount: 5, metricRows: 0)
      XCTAssertEqual(s.screen, expected)
    }
    _ = KeyBindings.handle(.char("4"), state: &s, layerCount: 5, metricRows: 3)
    XCTAssertEqual(s.screen, .metrics)
    for _ in 0..<5 { _ = KeyBindings.handle(.down, state: &s, layerCount: 5, metricRows: 3) }
    XCTAssertEqual(s.metricRow, 2)
    _ = KeyBindings.handle(.char("Z"), state: &s, layerCount: 5, metricRows: 3)
    XCTAssertTrue(s.message?.contains("press ? for help") ?? false)
    XCTAssertEqual(KeyBindings.handle(.resize, state: &s, layerCount: 5, metricRows: 3), .redraw)
  }

  func testModelKeysRequestWorkAndSelectCodes() {
    var s = state()
    XCTAssertEqual(KeyBindings.handle(.char("s"), state: &s, layerCount: 5, metricRows: 0), [.stepToken, .redraw])
    XCTAssertEqual(s.screen, .tokens, "stepping shows the token screen")
    XCTAssertEqual(KeyBindings.handle(.char("f"), state: &s, layerCount: 5, metricRows: 0), [.finishSequence, .redraw])
    s.screen = .shower
    XCTAssertEqual(KeyBindings.handle(.char("r"), state: &s, layerCount: 5, metricRows: 0), [.encodeReference, .redraw])
    XCTAssertEqual(s.screen, .tokens)
    // Codes wrap around the codebook size of the active model.
    XCTAssertEqual(KeyBindings.handle(.char(","), state: &s, layerCount: 5, metricRows: 0, codeCount: 1024), .redraw)
    XCTAssertEqual(s.selectedCode, 1023)
    XCTAssertEqual(s.screen, .codebook)
    _ = KeyBindings.handle(.char(">"), state: &s, layerCount: 5, metricRows: 0, codeCount: 1024)
    XCTAssertEqual(s.selectedCode, 31)
    _ = KeyBindings.handle(.char("<"), state: &s, layerCount: 5, metricRows: 0, codeCount: 1024)
    _ = KeyBindings.handle(.char("."), state: &s, layerCount: 5, metricRows: 0, codeCount: 1024)
    XCTAssertEqual(s.selectedCode, 0)
    _ = KeyBindings.handle(.char("<"), state: &s, layerCount: 5, metricRows: 0, codeCount: 40)
    XCTAssertEqual(s.selectedCode, 8)
  }

  func testKeyScripts() throws {
    XCTAssertEqual(try Key.parseScript("g  G Left enter Esc Space ]"),
                   [.char("g"), .char("G"), .left, .enter, .escape, .char(" "), .char("]")])
    XCTAssertThrowsError(try Key.parseScript("g Lefty")) { XCTAssertEqual($0 as? ExplorerError, .badKey("Lefty")) }
  }

  func testEnergyScaleAndFormatting() throws {
    let ds1 = EnergyScale(kind: .ds1Photon)
    XCTAssertEqual(ds1.nearestDS1Index(300), 0)
    XCTAssertEqual(try ds1.typed("4000"), 4_194_304)
    XCTAssertEqual(ds1.position(256), 0)
    let ds3 = EnergyScale(kind: .ds3)
    XCTAssertEqual(ds3.step(1e6, by: 1), 1e6, accuracy: 1e-6)
    XCTAssertEqual(ds3.step(1e3, by: -1), 1e3, accuracy: 1e-9)
    XCTAssertEqual(ds3.position(31622.7766), 0.5, accuracy: 1e-6)
    XCTAssertThrowsError(try ds3.typed("abc"))
    XCTAssertThrowsError(try ds3.typed("0.5"))
    XCTAssertEqual(formatEnergy(65536), "65.5 GeV")
    XCTAssertEqual(formatEnergy(512), "512 MeV")
    XCTAssertEqual(formatEnergy(1e6), "1 TeV")
  }
}
