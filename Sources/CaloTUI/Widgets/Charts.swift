// Small charts drawn once for every screen: sparklines (one row per series), vertical bar charts
// with optional markers (profile, histograms), the function bar and a text table row.

import CaloGeometry
import Foundation

/// Energy per relevant layer in MeV, in layer order. Shape (relevant layers).
public func layerEnergies(_ voxels: [Float], geometry: Geometry) -> [Double] {
  geometry.relevantLayerIndices.map { l in
    var s = 0.0
    for k in geometry.offsets[l]..<geometry.offsets[l + 1] { s += Double(voxels[k]) }
    return s
  }
}

public enum Charts {
  /// A one-row sparkline: each value takes `columnsPerValue` cells with a bar glyph of height
  /// `scale.position(value)` (blank below the scale).
  public static func sparkline(_ canvas: inout Canvas, x: Int, y: Int, values: [Double], columnsPerValue: Int,
                               scale: LogScale?, style: CellStyle, look: Look)
  {
    let bars = look.glyphs.bars
    for (i, v) in values.enumerated() {
      let glyph: Unicode.Scalar
      if let scale, let t = scale.position(v) {
        glyph = bars[min(Int(t * Double(bars.count - 1) + 0.5), bars.count - 1)]
      } else {
        glyph = " "
      }
      for c in 0..<columnsPerValue { canvas[x + i * columnsPerValue + c, y] = Cell(glyph, style) }
    }
  }

  /// Vertical bars in `rect` (one per value, `columnsPerValue` wide, 1/8-cell resolution), heights from
  /// `position` (0…1 or nil for none); markers (0…1) drawn on top in `markerStyle`.
  public static func columns(_ canvas: inout Canvas, _ rect: Rect, heights: [Double?], markers: [Double?] = [],
                             columnsPerValue: Int, barStyle: (Int) -> CellStyle, markerStyle: CellStyle, look: Look)
  {
    let bars = look.glyphs.bars
    let h = rect.height
    for (i, t) in heights.enumerated() {
      let x0 = rect.x + i * columnsPerValue
      if let t {
        let eighths = Int((t * Double(h * 8)).rounded())
        for row in 0..<h {
          let fill = min(max(eighths - row * 8, 0), 8)
          guard fill > 0 else { break }
          let g = fill == 8 ? look.glyphs.full : bars[fill - 1]
          for c in 0..<columnsPerValue { canvas[x0 + c, rect.maxY - 1 - row] = Cell(g, barStyle(i)) }
        }
      }
      if i < markers.count, let m = markers[i] {
        let row = min(Int(m * Double(h - 1) + 0.5), h - 1)
        for c in 0..<columnsPerValue { canvas[x0 + c, rect.maxY - 1 - row] = Cell(look.glyphs.marker, markerStyle) }
      }
    }
  }

  /// The bottom function bar, generated from the key-binding table (entries with a `bar` label).
  public static func functionBar(_ canvas: inout Canvas, y: Int, look: Look) {
    canvas.fill(Rect(x: 0, y: y, width: canvas.width, height: 1), style: look.style(.label))
    var x = 0
    for b in KeyBindings.table {
      guard let label = b.bar, let key = b.keys.first else { continue }
      let k = key.label(unicode: look.unicode)
      guard x + k.count + label.count + 1 <= canvas.width else { break }
      x += canvas.put(k, x: x, y: y, style: look.style(.key))
      x += canvas.put(label + " ", x: x, y: y, style: look.style(.label))
    }
  }

  /// Left-pads or truncates `s` to exactly `w` columns.
  static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
    let n = s.unicodeScalars.count
    if n >= w { return String(String.UnicodeScalarView(s.unicodeScalars.prefix(w))) }
    let fill = String(repeating: " ", count: w - n)
    return right ? fill + s : s + fill
  }
}
