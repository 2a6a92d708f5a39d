import XCTest

@testable import CaloTUI

final class CanvasTests: XCTestCase {
  func testPutClipsAndTextTrimsTrailingSpaces() {
    var c = Canvas(width: 10, height: 2)
    XCTAssertEqual(c.put("hello world", x: 3, y: 0), 7)
    c.put("ab", x: -1, y: 1)
    XCTAssertEqual(c.text(), "   hello w\nb\n")
    XCTAssertEqual(c[20, 20], Cell())  // reads outside are blank, writes are ignored
  }

  func testControlCharactersAreReplaced() {
    var c = Canvas(width: 5, height: 1)
    c.put("a\u{1b}[b", x: 0, y: 0)
    XCTAssertEqual(c.line(0), "a?[b")
  }

  func testChangedCellsOnlyListsDifferences() {
    var a = Canvas(width: 4, height: 3)
    a.put("abcd", x: 0, y: 0)
    var b = a
    b[2, 1] = Cell("x")
    b[1, 0] = Cell("b", CellStyle(attributes: .bold))  // same glyph, new style: also a change
    XCTAssertEqual(b.changedCells(since: a), [1, 6])
    XCTAssertEqual(b.changedCells(since: nil).count, 12)
    XCTAssertEqual(b.changedCells(since: Canvas(width: 3, height: 3)).count, 12)
  }

  func testANSITextAtEachDepth() {
    var c = Canvas(width: 2, height: 1)
    c[0, 0] = Cell("▀", CellStyle(fg: .rgb(RGB(255, 0, 0)), bg: .rgb(RGB(0, 0, 0))))
    c[1, 0] = Cell("x", CellStyle(attributes: [.bold, .reverse]))
    let tc = c.ansiText(depth: .trueColor)
    XCTAssertTrue(tc.hasPrefix("\u{1b}[0;38;2;255;0;0;48;2;0;0;0m▀"), tc)
    XCTAssertTrue(tc.contains("\u{1b}[0;1;7;39;49mx"), tc)
    XCTAssertTrue(c.ansiText(depth: .xterm256).contains("38;5;196;48;5;16m"))
    XCTAssertTrue(c.ansiText(depth: .ansi16).contains("[0;91;40m"))
    XCTAssertTrue(c.ansiText(depth: .ansi8).contains("[0;31;40m"))
    let mono = c.ansiText(depth: .none)
    XCTAssertFalse(mono.contains("38;"))
    XCTAssertTrue(mono.contains("[0;1;7mx"))
  }
}

final class ColorTests: XCTestCase {
  func testHexRoundTripAndRejects() {
    XCTAssertEqual(RGB(hex: "#1A2b3c"), RGB(0x1a, 0x2b, 0x3c))
    XCTAssertEqual(RGB(hex: "#1a2b3c")?.hex, "#1a2b3c")
    for bad in ["1a2b3c", "#1a2b3", "#1a2b3cd", "#gg0000", ""] { XCTAssertNil(RGB(hex: bad), bad) }
  }

  func testPaletteQuantisation() {
    XCTAssertEqual(RGB(255, 0, 0).xterm256Index, 196)
    XCTAssertEqual(RGB(0, 0, 0).xterm256Index, 16)
    XCTAssertEqual(RGB(255, 255, 255).xterm256Index, 231)
    XCTAssertEqual(RGB(128, 128, 128).xterm256Index, 244)  // grey ramp beats the cube
    XCTAssertEqual(RGB(250, 10, 10).ansiIndex(count: 16), 9)
    XCTAssertEqual(RGB(250, 10, 10).ansiIndex(count: 8), 1)
    // Every cube colour maps back to itself.
    for i in 17..<232 { XCTAssertEqual(xterm256RGB(i).xterm256Index, i, "palette entry \(i)") }
  }

  func testDepthResolutionHonoursNoColor() {
    XCTAssertEqual(ColorDepth(terminalColors: 256), .xterm256)
    XCTAssertEqual(ColorDepth(terminalColors: 1 << 24), .trueColor)
    XCTAssertEqual(ColorDepth(terminalColors: 8), .ansi8)
    XCTAssertEqual(ColorDepth.resolve(terminal: .xterm256, requested: nil, environment: ["NO_COLOR": "1"]), .none)
    XCTAssertEqual(ColorDepth.resolve(terminal: .xterm256, requested: nil, environment: ["NO_COLOR": ""]), .xterm256)
    XCTAssertEqual(ColorDepth.resolve(terminal: .xterm256, requested: .trueColor, environment: [:]), .xterm256)
    XCTAssertEqual(ColorDepth.resolve(terminal: .trueColor, requested: .ansi16, environment: [:]), .ansi16)
    XCTAssertEqual(ColorDepth(name: "TrueColor"), .trueColor)
    XCTAssertNil(ColorDepth(name: "12"))
  }
}
