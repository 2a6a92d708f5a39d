import CaloGeometry
import XCTest

@testable import CaloTUI

final class HeatmapTests: XCTestCase {
  private let look = Look(theme: ThemeLibrary.builtIn.themes[0], depth: .xterm256, unicode: true)

  func testLogScale() throws {
    let s = try XCTUnwrap(LogScale(covering: [[Float(0), 1, 1000]], threshold: 0.5))
    XCTAssertEqual(s.vmax, 1000)
    XCTAssertEqual(s.vmin, 0.5, "threshold wins over max/10^4")
    XCTAssertNil(s.position(0.1))
    XCTAssertEqual(s.position(1000)!, 1, accuracy: 1e-12)
    XCTAssertEqual(s.position(sqrt(500.0))!, 0.5, accuracy: 1e-12)
    XCTAssertEqual(LogScale(covering: [[Float(1e6)]], threshold: 0)?.vmin ?? 0, 100, accuracy: 1e-9, "4 decades")
    XCTAssertNil(LogScale(covering: [[Float(0.2)]], threshold: 0.5), "nothing above threshold")
  }

  /// A layer with energy in one angular bin lights up the matching direction of the disc only.
  func testDiscPutsAngularBinsInTheirDirection() throws {
    let layer = Layer(id: 1, rEdges: [0, 1, 2, 3, 4], nAlpha: 4)  // bins centred at −3π/4, −π/4, π/4, 3π/4
    for a in 0..<4 {
      var v = [Float](repeating: 0, count: layer.voxelCount)
      for r in 0..<4 { v[a * 4 + r] = 10 }
      let scale = LogScale(covering: [v], threshold: 1)
      let n = 16
      var lit: [(Double, Double)] = []
      for py in 0..<n {
        for px in 0..<n {
          let p = Heatmap.discPixel(px: px, py: py, pw: n, ph: n, aspect: 1, layer: layer, values: v[...], scale: scale)
          if case .value = p { lit.append((Double(px) + 0.5 - 8, 8 - (Double(py) + 0.5))) }
          if px == 0 && py == 0 { XCTAssertEqual(p, .outside, "corners are outside the disc") }
        }
      }
      XCTAssertFalse(lit.isEmpty)
      let centre = layer.alphaCentre(a)
      for (x, y) in lit {
        let d = abs(remainder(atan2(y, x) - centre, 2 * .pi))
        XCTAssertLessThanOrEqual(d, .pi / 4 + 1e-9, "bin \(a): pixel (\(x), \(y)) outside its quadrant")
      }
    }
  }

  func testDiscRingsFollowRadialBins() {
    let layer = Layer(id: 2, rEdges: [0, 5, 100], nAlpha: 2)
    let v: [Float] = [100, 0, 100, 0]  // only the inner ring of both halves
    let scale = LogScale(covering: [v], threshold: 1)
    func p(_ x: Int, _ y: Int) -> Pixel {
      Heatmap.discPixel(px: x, py: y, pw: 20, ph: 20, aspect: 1, layer: layer, values: v[...], scale: scale)
    }
    XCTAssertEqual(p(10, 10), .value(1), "centre: inner ring (rings have equal width per bin)")
    XCTAssertEqual(p(10, 1), .empty, "outer ring is inside the disc but empty")
    XCTAssertEqual(p(0, 0), .outside)
  }

  func testHalfBlockRenderingAndMonochromeFallback() {
    let layer = Layer(id: 1, rEdges: [0, 1, 2], nAlpha: 4)
    let v = [Float](repeating: 50, count: 8)
    let scale = LogScale(covering: [v], threshold: 1)
    var c = Canvas(width: 12, height: 6)
    Heatmap.drawLayer(&c, Rect(x: 0, y: 0, width: 12, height: 6), layer: layer, values: v[...], scale: scale, look: look)
    XCTAssertEqual(c[6, 3].glyph, "▀")
    XCTAssertEqual(c[6, 3].style.fg, .rgb(look.theme.color(at: 1)))
    XCTAssertEqual(c[0, 0].glyph, " ")
    var mono = Canvas(width: 12, height: 6)
    var m = look
    m.depth = .none
    Heatmap.drawLayer(&mono, Rect(x: 0, y: 0, width: 12, height: 6), layer: layer, values: v[...], scale: scale, look: m)
    XCTAssertEqual(mono[6, 3].glyph, "█", "full shade for the maximum")
    XCTAssertEqual(mono[6, 3].style, .plain)
    var ascii = Canvas(width: 12, height: 6)
    m.unicode = false
    Heatmap.drawLayer(&ascii, Rect(x: 0, y: 0, width: 12, height: 6), layer: layer, values: v[...], scale: scale, look: m)
    XCTAssertTrue(ascii.text().unicodeScalars.allSatisfy(\.isASCII))
    XCTAssertTrue(ascii.text().contains("@"))
  }

  func testRadialBarsForUnsegmentedLayers() {
    let layer = Layer(id: 0, rEdges: [0, 5, 10, 30], nAlpha: 1)
    let v: [Float] = [1000, 10, 0]
    let scale = LogScale(covering: [v], threshold: 1)
    var c = Canvas(width: 25, height: 4)
    Heatmap.drawLayer(&c, Rect(x: 0, y: 0, width: 25, height: 4), layer: layer, values: v[...], scale: scale, look: look)
    XCTAssertEqual(c.line(0), "   5 " + String(repeating: "█", count: 20))
    XCTAssertEqual(c.line(1), "  10 " + String(repeating: "█", count: 7), "log(10/1)/log(1000) of 20 cells")
    XCTAssertEqual(c.line(2), "  30 ·")
    XCTAssertEqual(c.line(3), "")
  }

  func testLegendShowsRangeInMeV() throws {
    var c = Canvas(width: 60, height: 1)
    Heatmap.drawLegend(&c, x: 0, y: 0, width: 60, scale: LogScale(vmin: 0.015, vmax: 83.1), look: look)
    XCTAssertTrue(c.line(0).hasSuffix(" 0.015 … 83.1 MeV (log)"), c.line(0))
    XCTAssertEqual(c[0, 0].style.fg, .rgb(look.theme.color(at: 0)))
  }
}
