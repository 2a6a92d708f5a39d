// Screen 6: one shower as the GPT sees it. Left: the shower codes on the stage-1 latent grid (numbers
// when they fit, else colour cells; the next position of a step-by-step sequence is marked). Right:
// the auxiliary R tokens with the values they decode to, then either the candidates of the last step
// with their probabilities (the teaching demo) or, for an encoded reference shower, the
// reconstruction against the original per layer; below, if room, their heatmaps and residual.

import CaloGeometry
import Foundation

enum TokenScreen {
  static let rightWidth = 34

  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    guard let m = s.model, let g = s.geometry else {
      CodebookScreen.noModel(&c, r, s, what: "The token view", look)
      return
    }
    guard let p = s.tokenPanel else {
      c.put("Tokens of \(m.name)", x: r.x, y: r.y, style: look.style(.title))
      ExplorerScreen.message(&c, r.inset(2, 2),
        "No sequence yet: press g to generate a shower, s to draw one token at a time (f finishes), "
          + "r to encode the reference shower shown on screen 1.", look.style(.dim))
      return
    }
    c.put(p.title + "   s step, f finish, r encode ref", x: r.x, y: r.y, style: look.style(.title), maxWidth: r.width)
    let rw = min(rightWidth, r.width / 2)
    let left = Rect(x: r.x, y: r.y + 1, width: r.width - rw - 1, height: r.height - 1)
    let right = Rect(x: left.maxX + 1, y: r.y + 1, width: rw, height: r.height - 1)
    let gridRows = drawGrid(&c, left, p, m, look)
    var y = drawRTokens(&c, right, p, look)
    y += 1
    switch p.kind {
    case .stepping: y = drawCandidates(&c, Rect(x: right.x, y: y, width: rw, height: right.maxY - y), p, look)
    case .encoded: y = drawResiduals(&c, Rect(x: right.x, y: y, width: rw, height: right.maxY - y), p, g, look)
    case .generated: break
    }
    // Heatmaps of the encoded shower under the grid when the grid leaves room.
    if p.kind == .encoded, let o = p.original, let rec = p.reconstruction {
      let top = left.y + gridRows + 1
      let area = Rect(x: left.x, y: top, width: left.width, height: left.maxY - top)
      if area.height >= 5 { drawReconstruction(&c, area, o, rec, g, st, s, look) }
    }
  }

  /// Rows and columns the codes are laid out in: 2-d grids as they are; 1-d sequences wrapped.
  static func layout(_ shape: [Int], maxColumns: Int) -> (rows: Int, cols: Int) {
    if shape.count >= 2 { return (shape[0], shape.dropFirst().reduce(1, *)) }
    let n = shape.first ?? 0
    let cols = max(1, min(n, maxColumns))
    return ((n + cols - 1) / cols, cols)
  }

  /// Draws the code grid; returns the rows used (including its caption).
  static func drawGrid(_ c: inout Canvas, _ r: Rect, _ p: TokenPanel, _ m: ModelSummary, _ look: Look) -> Int {
    let t = p.tokens
    let labelW = 4
    let numbered = 5
    let (rows, cols) = layout(t.latentShape, maxColumns: max(1, (r.width - labelW) / numbered))
    let cellW = cols * numbered + labelW <= r.width ? numbered : max(1, min(3, (r.width - labelW) / cols))
    let caption = "codes on the \(CodebookScreen.shapeText(t.latentShape, look)) latent grid"
      + (cellW < numbered ? ", colour = code" : "")
    c.put(caption, x: r.x, y: r.y, style: look.style(.dim), maxWidth: r.width)
    let visible = max(1, r.height - 1)
    let next = t.codes.count  // index of the next code to draw
    let nextRow = next / cols
    let first = rows <= visible ? 0 : max(0, min(nextRow < rows ? nextRow - visible / 2 : 0, rows - visible))
    for row in first..<min(rows, first + visible) {
      let y = r.y + 1 + row - first
      c.put(Charts.pad("\(row)", labelW - 1, right: true), x: r.x, y: y, style: look.style(.dim))
      for col in 0..<cols {
        let i = row * cols + col
        guard i < t.codeCount else { break }
        let x = r.x + labelW + col * cellW
        if i < t.codes.count {
          let code = Int(t.codes[i])
          let pos = Double(code) / Double(max(m.codebookSize - 1, 1))
          let style = i == next - 1 && p.kind == .stepping ? look.style(.highlight)
            : (look.hasColor ? look.mapStyle(0.15 + 0.85 * pos) : .plain)
          if cellW == numbered {
            c.put(Charts.pad("\(code)", cellW - 1, right: true), x: x, y: y, style: style)
          } else {
            let glyph = look.hasColor ? look.glyphs.full : look.glyphs.shades[min(Int(pos * Double(look.glyphs.shades.count)), look.glyphs.shades.count - 1)]
            for k in 0..<max(1, cellW - 1) { c[x + k, y] = Cell(glyph, style) }
          }
        } else if i == next && p.kind == .stepping && t.rTokens.count == t.rTokenCount {
          c.put(Charts.pad("_", max(1, cellW - 1), right: true), x: x, y: y, style: look.style(.highlight))
        } else {
          c.put(Charts.pad(look.unicode ? "·" : ".", max(1, cellW - 1), right: true), x: x, y: y, style: look.style(.dim))
        }
      }
    }
    if rows > visible {
      c.put("rows \(first)-\(min(rows, first + visible) - 1) of \(rows)", x: r.maxX - 16, y: r.y, style: look.style(.dim))
    }
    return 1 + min(rows, visible)
  }

  /// The R tokens as "name  digits → value" lines; returns the next free row.
  static func drawRTokens(_ c: inout Canvas, _ r: Rect, _ p: TokenPanel, _ look: Look) -> Int {
    let t = p.tokens
    let arrow = look.unicode ? "→" : "->"
    let times = look.unicode ? "×" : "x"
    c.put("R tokens: \(t.valueNames.count) value\(t.valueNames.count == 1 ? "" : "s") \(times) \(t.tokensPerValue) token\(t.tokensPerValue == 1 ? "" : "s")",
          x: r.x, y: r.y, style: look.style(.dim), maxWidth: r.width)
    let maxLines = max(1, min(t.valueNames.count, p.kind == .generated ? r.height - 1 : (r.height - 1) / 2))
    var y = r.y + 1
    for v in 0..<min(t.valueNames.count, maxLines) {
      let digits = t.rTokens.dropFirst(v * t.tokensPerValue).prefix(t.tokensPerValue)
      let hidden = t.valueNames.count > maxLines && v == maxLines - 1
      if hidden {
        c.put("... \(t.valueNames.count - v) more values", x: r.x, y: y, style: look.style(.dim))
        y += 1
        break
      }
      let d = digits.isEmpty ? "-" : digits.map(String.init).joined(separator: " ")
      let value = v < t.values.count ? "\(arrow) " + String(format: "%.4f", t.values[v]) : ""
      let isNext = p.kind == .stepping && t.rTokens.count < t.rTokenCount && v == t.rTokens.count / t.tokensPerValue
      c.put(Charts.pad(t.valueNames[v], 5) + Charts.pad(d, 10) + value, x: r.x, y: y,
            style: isNext ? look.style(.highlight) : look.style(.text), maxWidth: r.width)
      y += 1
    }
    return y
  }

  /// Candidates of the last step with probability bars; returns the next free row.
  static func drawCandidates(_ c: inout Canvas, _ r: Rect, _ p: TokenPanel, _ look: Look) -> Int {
    guard r.height > 1 else { return r.y }
    let t = p.tokens
    let pos = t.filled - 1
    let what = pos < t.rTokenCount ? "R digit \(pos % t.tokensPerValue + 1) of \(t.valueNames[min(pos / t.tokensPerValue, t.valueNames.count - 1)])"
      : "code at grid position \(pos - t.rTokenCount)"
    guard let last = p.lastToken, pos >= 0 else {
      c.put("sequence complete", x: r.x, y: r.y, style: look.style(.dim))
      return r.y + 1
    }
    c.put("token \(pos + 1): \(what)", x: r.x, y: r.y, style: look.style(.title), maxWidth: r.width)
    let pText = p.lastProbability.map { String(format: " (p %.4f)", $0) } ?? ""
    c.put("drew \(last)\(pText); most likely:", x: r.x, y: r.y + 1, style: look.style(.title), maxWidth: r.width)
    let barW = max(4, r.width - 16)
    let peak = Double(p.candidates.first?.probability ?? 1)
    var y = r.y + 2
    for cand in p.candidates where y < r.maxY {
      let mark = cand.token == last ? look.glyphs.marker : " "
      let len = max(0, Int((Double(cand.probability) / max(peak, 1e-12) * Double(barW)).rounded()))
      c.put("\(mark)" + Charts.pad("\(cand.token)", 5, right: true) + String(format: " %6.4f ", cand.probability), x: r.x,
            y: y, style: cand.token == last ? look.style(.highlight) : look.style(.text))
      for k in 0..<min(len, barW) { c[r.x + 15 + k, y] = Cell(look.glyphs.full, look.style(.accent)) }
      y += 1
    }
    if !p.candidates.contains(where: { $0.token == last }), y < r.maxY {
      c.put("(drawn token not in the top \(p.candidates.count))", x: r.x, y: y, style: look.style(.dim),
            maxWidth: r.width)
      y += 1
    }
    return y
  }

  /// Per-layer energy of the reconstruction against the original; returns the next free row.
  static func drawResiduals(_ c: inout Canvas, _ r: Rect, _ p: TokenPanel, _ g: Geometry, _ look: Look) -> Int {
    guard let o = p.original, let rec = p.reconstruction, r.height > 1 else { return r.y }
    let eo = layerEnergies(o, geometry: g), er = layerEnergies(rec, geometry: g)
    c.put("layer   original    recon.  resid.", x: r.x, y: r.y, style: look.style(.dim), maxWidth: r.width)
    var y = r.y + 1
    let rel = g.relevantLayerIndices
    let shown = min(rel.count, r.height - 2)
    for i in 0..<shown {
      let res = eo[i] > 0 ? String(format: "%+.1f%%", 100 * (er[i] - eo[i]) / eo[i]) : "-"
      c.put(Charts.pad("L\(g.layers[rel[i]].id)", 6) + Charts.pad(formatEnergy(eo[i]), 10, right: true)
            + Charts.pad(formatEnergy(er[i]), 10, right: true) + Charts.pad(res, 8, right: true),
            x: r.x, y: y, style: look.style(.text), maxWidth: r.width)
      y += 1
    }
    let to = eo.reduce(0, +), tr = er.reduce(0, +)
    let tot = to > 0 ? String(format: "%+.1f%%", 100 * (tr - to) / to) : "-"
    c.put(Charts.pad(shown < rel.count ? "all \(rel.count)" : "total", 6) + Charts.pad(formatEnergy(to), 10, right: true)
          + Charts.pad(formatEnergy(tr), 10, right: true) + Charts.pad(tot, 8, right: true), x: r.x, y: y,
          style: look.style(.title), maxWidth: r.width)
    return y + 1
  }

  /// The selected layer of the original, the reconstruction and |reconstruction − original|.
  static func drawReconstruction(_ c: inout Canvas, _ r: Rect, _ o: [Float], _ rec: [Float], _ g: Geometry,
                                 _ st: ViewState, _ s: ExplorerSnapshot, _ look: Look)
  {
    let l = ExplorerScreen.layerIndex(g, st.layerPosition)
    let res = zip(o, rec).map { abs($1 - $0) }
    let panels: [(String, [Float])] = [("original", o), ("reconstruction", rec), ("|recon - orig|", res)]
    let pw = (r.width - 2) / 3
    let scale = LogScale(covering: panels.map { ExplorerScreen.slice($0.1, g, l) },
                         threshold: s.context?.dataset.voxelThresholdMeV ?? 0)
    for (i, p) in panels.enumerated() {
      let x = r.x + i * (pw + 1)
      c.put("\(p.0) L\(g.layers[l].id)", x: x, y: r.y, style: look.style(.dim), maxWidth: pw)
      Heatmap.drawLayer(&c, Rect(x: x, y: r.y + 1, width: pw, height: r.height - 2), layer: g.layers[l],
                        values: ExplorerScreen.slice(p.1, g, l), scale: scale, look: look)
    }
    Heatmap.drawLegend(&c, x: r.x, y: r.maxY - 1, width: r.width, scale: scale, look: look)
  }
}
