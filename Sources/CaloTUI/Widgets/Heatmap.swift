// Per-layer heatmaps in the detector's own (r, α) geometry: a polar disc for angularly segmented
// layers and one bar per radial bin for unsegmented ones, on a logarithmic colour scale.
// Rings are drawn with equal width per radial bin (bin index, not mm): the ds1 bins grow from 2 mm to
// hundreds of mm, so a linear radius would hide the core where most energy sits.

import CaloGeometry
import Foundation

/// A logarithmic mapping of voxel energies (MeV) onto [0, 1].
public struct LogScale: Equatable, Sendable {
  /// Lowest shown energy, MeV: values below it count as empty.
  public var vmin: Double
  /// Highest shown energy, MeV.
  public var vmax: Double
  /// Energies shown span at most this many decades below the maximum.
  public static let decades = 4.0

  public init(vmin: Double, vmax: Double) {
    precondition(vmin > 0 && vmax > vmin, "LogScale needs 0 < vmin < vmax, got \(vmin), \(vmax)")
    self.vmin = vmin
    self.vmax = vmax
  }

  /// The scale covering `values` (several showers or layers share one scale so they compare), from
  /// max(threshold, max/10^4) to the maximum; nil if nothing is above the threshold.
  public init?<S: Sequence>(covering values: [S], threshold: Double) where S.Element == Float {
    var m: Float = 0
    for s in values { for v in s where v > m { m = v } }
    let hi = Double(m)
    guard hi > threshold, hi > 0 else { return nil }
    let lo = max(threshold, hi / pow(10, LogScale.decades), hi * 1e-12)
    self.init(vmin: lo, vmax: lo < hi ? hi : lo * 10)
  }

  /// Position of `v` on the scale in [0, 1], or nil for values below `vmin` (empty).
  public func position(_ v: Double) -> Double? {
    guard v >= vmin else { return nil }
    return min(log(v / vmin) / log(vmax / vmin), 1)
  }
}

/// What one heatmap pixel shows.
enum Pixel: Equatable {
  case outside
  case empty
  case value(Double)
}

/// Heatmap drawing for one calorimeter layer.
public enum Heatmap {
  /// Draws `layer` with its voxel energies `values` (MeV, layer-local order a·nR + r; shape (nAlpha·nR))
  /// into `rect`: a disc if the layer is angularly segmented, radial bars otherwise.
  public static func drawLayer(_ canvas: inout Canvas, _ rect: Rect, layer: Layer, values: ArraySlice<Float>,
                               scale: LogScale?, look: Look)
  {
    guard rect.width > 0, rect.height > 0, layer.isRelevant else { return }
    precondition(values.count == layer.voxelCount,
                 "layer \(layer.id): \(values.count) values for \(layer.nAlpha)x\(layer.nR) voxels")
    if layer.isAngular {
      drawDisc(&canvas, rect, layer: layer, values: values, scale: scale, look: look)
    } else {
      drawBars(&canvas, rect, layer: layer, values: values, scale: scale, look: look)
    }
  }

  /// The value under pixel (px, py) of a `pw` × `ph` pixel grid whose pixels are `aspect` times taller
  /// than wide; the disc is centred and as large as fits.
  static func discPixel(px: Int, py: Int, pw: Int, ph: Int, aspect: Double, layer: Layer,
                        values: ArraySlice<Float>, scale: LogScale?) -> Pixel
  {
    let radius = min(Double(pw), Double(ph) * aspect) / 2
    let x = Double(px) + 0.5 - Double(pw) / 2
    let y = (Double(ph) / 2 - (Double(py) + 0.5)) * aspect  // up is +y (phi)
    let rho = (x * x + y * y).squareRoot() / radius
    guard rho < 1 else { return .outside }
    let ring = min(Int(rho * Double(layer.nR)), layer.nR - 1)
    // alpha bin a covers [−π + a·2π/n, −π + (a+1)·2π/n); x = eta = r cos α, y = phi = r sin α.
    let angle = atan2(y, x)
    let a = min(Int((angle + Double.pi) / (2 * Double.pi) * Double(layer.nAlpha)), layer.nAlpha - 1)
    let v = Double(values[values.startIndex + a * layer.nR + ring])
    guard let scale, let t = scale.position(v) else { return .empty }
    return .value(t)
  }

  static func drawDisc(_ canvas: inout Canvas, _ rect: Rect, layer: Layer, values: ArraySlice<Float>,
                       scale: LogScale?, look: Look)
  {
    let emptyRGB: TermColor = {
      let s = look.style(.empty)
      if case .rgb = s.bg { return s.bg }
      return .rgb(RGB(38, 38, 38))
    }()
    if look.hasColor && look.unicode {
      // Half blocks: two square pixels per cell (upper = fg of ▀, lower = bg).
      let pw = rect.width, ph = rect.height * 2
      for cy in 0..<rect.height {
        for cx in 0..<pw {
          let top = discPixel(px: cx, py: 2 * cy, pw: pw, ph: ph, aspect: 1, layer: layer, values: values, scale: scale)
          let bottom = discPixel(px: cx, py: 2 * cy + 1, pw: pw, ph: ph, aspect: 1, layer: layer, values: values,
                                 scale: scale)
          func colour(_ p: Pixel) -> TermColor {
            switch p {
            case .outside: return .terminalDefault
            case .empty: return emptyRGB
            case .value(let t): return .rgb(look.theme.color(at: t))
            }
          }
          let cell: Cell
          switch (top, bottom) {
          case (.outside, .outside): cell = Cell(" ")
          case (.outside, _): cell = Cell(look.glyphs.lowerHalf, CellStyle(fg: colour(bottom)))
          default: cell = Cell(look.glyphs.upperHalf, CellStyle(fg: colour(top), bg: colour(bottom)))
          }
          canvas[rect.x + cx, rect.y + cy] = cell
        }
      }
      return
    }
    // One pixel per cell, twice as tall as wide: shade glyphs, coloured when colour is available.
    let g = look.glyphs
    for cy in 0..<rect.height {
      for cx in 0..<rect.width {
        let p = discPixel(px: cx, py: cy, pw: rect.width, ph: rect.height, aspect: 2, layer: layer, values: values,
                          scale: scale)
        switch p {
        case .outside: canvas[rect.x + cx, rect.y + cy] = Cell(" ")
        case .empty: canvas[rect.x + cx, rect.y + cy] = Cell(g.emptyVoxel, look.style(.dim))
        case .value(let t):
          let i = min(Int(t * Double(g.shades.count)), g.shades.count - 1)
          canvas[rect.x + cx, rect.y + cy] = Cell(g.shades[i], look.hasColor ? look.mapStyle(t) : .plain)
        }
      }
    }
  }

  /// One row per radial bin (adjacent bins merged when the rows run out): the bin's upper edge in mm,
  /// then a bar whose length is the log energy.
  static func drawBars(_ canvas: inout Canvas, _ rect: Rect, layer: Layer, values: ArraySlice<Float>,
                       scale: LogScale?, look: Look)
  {
    let rows = min(rect.height, layer.nR)
    let labelW = 5
    let barW = max(rect.width - labelW, 1)
    for row in 0..<rows {
      let r0 = row * layer.nR / rows, r1 = (row + 1) * layer.nR / rows
      var e = 0.0
      for r in r0..<r1 { e += Double(values[values.startIndex + r]) }  // nAlpha = 1: index = r
      let label = String(Int(layer.rEdges[r1].rounded()))
      canvas.put(String(repeating: " ", count: max(0, labelW - 1 - label.count)) + label, x: rect.x, y: rect.y + row,
                 style: look.style(.dim), maxWidth: labelW - 1)
      let x0 = rect.x + labelW
      guard let scale, let t = scale.position(e) else {
        canvas[x0, rect.y + row] = Cell(look.glyphs.emptyVoxel, look.style(.dim))
        continue
      }
      let len = max(1, Int((t * Double(barW)).rounded()))
      for i in 0..<len {
        let ti = len > 1 ? t * Double(i) / Double(len - 1) : t
        canvas[x0 + i, rect.y + row] = Cell(look.glyphs.full, look.hasColor ? look.mapStyle(ti) : .plain)
      }
    }
  }

  /// A colour bar with its range: `▕gradient▏ 0.0123 … 456 MeV (log)`.
  public static func drawLegend(_ canvas: inout Canvas, x: Int, y: Int, width: Int, scale: LogScale?, look: Look) {
    guard let scale else {
      canvas.put("no energy above threshold", x: x, y: y, style: look.style(.dim), maxWidth: width)
      return
    }
    let text = " \(trim3(scale.vmin)) \(look.glyphs.ellipsis) \(trim3(scale.vmax)) MeV (log)"
    let barW = max(4, min(24, width - text.count))
    for i in 0..<barW {
      let t = Double(i) / Double(barW - 1)
      if look.hasColor {
        canvas[x + i, y] = Cell(look.glyphs.full, look.mapStyle(t))
      } else {
        let s = look.glyphs.shades
        canvas[x + i, y] = Cell(s[min(Int(t * Double(s.count)), s.count - 1)])
      }
    }
    canvas.put(text, x: x + barW, y: y, style: look.style(.text), maxWidth: width - barW)
  }
}
