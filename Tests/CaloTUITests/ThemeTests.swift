import XCTest

@testable import CaloTUI

final class ThemeTests: XCTestCase {
  func testShippedThemesParse() throws {
    let lib = try Fixtures.themes
    XCTAssertEqual(lib.themes.first?.name, "viridis", "viridis is the default and comes first")
    XCTAssertEqual(Set(lib.themes.map(\.name)), ["viridis", "inferno", "grayscale", "high-contrast"])
    for t in lib.themes {
      XCTAssertGreaterThanOrEqual(t.stops.count, 5, t.name)
      XCTAssertEqual(Set(t.ui.keys), Set(UIRole.allCases), "\(t.name) sets every UI role")
    }
    XCTAssertEqual(try lib.index(of: "inferno"), lib.themes.firstIndex { $0.name == "inferno" })
    XCTAssertThrowsError(try lib.index(of: "nope")) { e in
      XCTAssertTrue("\(e)".contains("viridis"), "lists the available themes: \(e)")
    }
  }

  func testBuiltInMatchesViridisFile() throws {
    let file = try Theme.load(path: Fixtures.repoRoot + "/themes/viridis.theme")
    XCTAssertEqual(file.stops, ThemeLibrary.builtIn.themes[0].stops)
  }

  func testColourMapInterpolates() throws {
    let t = try Theme.parse("calovq-theme 1\nname = x\nmap = #000000 #ff0000 #ffffff\n", path: "mem")
    XCTAssertEqual(t.color(at: 0), RGB(0, 0, 0))
    XCTAssertEqual(t.color(at: 0.25), RGB(128, 0, 0))
    XCTAssertEqual(t.color(at: 0.5), RGB(255, 0, 0))
    XCTAssertEqual(t.color(at: 1), RGB(255, 255, 255))
    XCTAssertEqual(t.color(at: 7), RGB(255, 255, 255), "clamped")
    XCTAssertEqual(t.color(at: .nan), RGB(0, 0, 0))
  }

  func testStyleSyntaxAndComments() throws {
    let t = try Theme.parse("""
      # a comment
      calovq-theme 1   # trailing comment
      name = demo
      map = #000000 #ffffff
      ui.header = #010203 on #a0b0c0 bold underline
      ui.text = default on #000000
      """, path: "mem")
    XCTAssertEqual(t.style(.header), CellStyle(fg: .rgb(RGB(1, 2, 3)), bg: .rgb(RGB(0xa0, 0xb0, 0xc0)),
                                               attributes: [.bold, .underline]))
    XCTAssertEqual(t.style(.text), CellStyle(fg: .terminalDefault, bg: .rgb(RGB(0, 0, 0))))
    XCTAssertEqual(t.style(.title), Theme.fallback[.title], "unset roles fall back")
  }

  func testInvalidFilesAreRejectedWithLineNumbers() {
    let cases: [(String, String, String)] = [
      ("", "mem", "empty"),
      ("calo-theme 1\nname = a\nmap = #000000 #ffffff", "mem", "line 1"),
      ("calovq-theme 2\nname = a", "mem", "version 2"),
      ("calovq-theme 1\nname = a\nmap = #000000 #fffff", "mem", "line 3"),
      ("calovq-theme 1\nname = a\nmap = #000000", "mem", "2 to 64"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\ncolour = #000000", "mem", "unknown key 'colour'"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\nui.sidebar = #000000", "mem", "unknown key 'ui.sidebar'"),
      ("calovq-theme 1\nname = a\nname = b\nmap = #000000 #ffffff", "mem", "set twice"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\nui.text = #000000 #111111", "mem", "two foreground"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\nui.text = #000000 on", "mem", "followed by a colour"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\nui.text = red", "mem", "'red' is not a colour"),
      ("calovq-theme 1\nmap = #000000 #ffffff", "mem", "missing 'name"),
      ("calovq-theme 1\nname = a", "mem", "missing 'map"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff", "/x/b.theme", "differs from the file name"),
      ("calovq-theme 1\nname = a b\nmap = #000000 #ffffff", "mem", "letters, digits"),
      ("calovq-theme 1\nname = a\nmap = #000000 #ffffff\njust words", "mem", "line 4"),
    ]
    for (text, path, expected) in cases {
      XCTAssertThrowsError(try Theme.parse(text, path: path), text) { e in
        XCTAssertTrue("\(e)".contains(expected), "'\(e)' should mention '\(expected)'")
        XCTAssertTrue("\(e)".contains("invalid theme file"), "\(e)")
      }
    }
  }

  func testLibraryReportsTheBrokenFile() throws {
    let dir = try Fixtures.tempDir(self)
    try "calovq-theme 1\nname = good\nmap = #000000 #ffffff\n".write(toFile: dir + "/good.theme", atomically: true,
                                                                    encoding: .utf8)
    XCTAssertEqual(try ThemeLibrary(directory: dir).themes.map(\.name), ["good"])
    try "calovq-theme 1\nname = bad\nmap = #00000g #ffffff\n".write(toFile: dir + "/bad.theme", atomically: true,
                                                                   encoding: .utf8)
    XCTAssertThrowsError(try ThemeLibrary(directory: dir)) { e in
      XCTAssertTrue("\(e)".contains("bad.theme' line 3"), "\(e)")
    }
    XCTAssertThrowsError(try ThemeLibrary(directory: dir + "/none")) { e in
      XCTAssertEqual(e as? ExplorerError, .noThemes(searched: [dir + "/none"]))
    }
  }
}
