// Screen 2: every relevant layer of one shower as small multiples on a shared colour scale; pages
// around the selected layer when they do not all fit.

import CaloGeometry

enum GridScreen {
  static let subjectNames: [Subject: String] = [
    .shower: "last shower", .reference: "reference shower", .generatedMean: "average of drawn showers",
    .referenceMean: "average of reference showers",
  ]

  /// Tile columns and size for `n` tiles in `r` (each tile has one label row), preferring larger discs.
  static func layout(n: Int, in r: Rect) -> (columns: Int, tileW: Int, tileH: Int) {
    var best = (columns: r.width / 9, tileW: 8, tileH: 3, size: -1)
    for k in 1...max(n, 1) {
      let tw = (r.width + 1) / k - 1
      let rows = (n + k - 1) / k
      let th = r.height / rows - 1
      guard tw >= 8, th >= 3 else { continue }
      let size = min(tw, 2 * th)
      if size > best.size { best = (k, tw, th, size) }
    }
    return (best.columns, best.tileW, best.tileH)
  }

  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    guard let g = s.geometry else { return }
    let title = "All layers: \(subjectNames[st.subject]!) (c: change)"
    c.put(title, x: r.x, y: r.y, style: look.style(.title))
    guard let v = s.voxels(st.subject) else {
      ExplorerScreen.message(&c, r.inset(2, 3), "nothing to show yet: press g", look.style(.dim))
      return
    }
    let rel = g.relevantLayerIndices
    let area = Rect(x: r.x, y: r.y + 2, width: r.width, height: r.height - 2)
    let (cols, tw, th) = layout(n: rel.count, in: area)
    let perPage = max(1, cols * max(1, area.height / (th + 1)))
    let page = min(st.layerPosition, rel.count - 1) / perPage
    let shown = Array(rel.enumerated()).dropFirst(page * perPage).prefix(perPage)
    let scale = LogScale(covering: shown.map { ExplorerScreen.slice(v, g, $0.element) },
                         threshold: s.context?.dataset.voxelThresholdMeV ?? 0)
    let used = c.put("layers \(shown.first!.offset + 1)-\(shown.last!.offset + 1) of \(rel.count)  ", x: r.x, y: r.y + 1,
                     style: look.style(.dim))
    Heatmap.drawLegend(&c, x: r.x + used, y: r.y + 1, width: r.width - used, scale: scale, look: look)
    for (k, (pos, l)) in shown.enumerated() {
      let x = area.x + (k % cols) * (tw + 1)
      let y = area.y + (k / cols) * (th + 1)
      let e = ExplorerScreen.slice(v, g, l).reduce(0.0) { $0 + Double($1) }
      c.put(Charts.pad("L\(g.layers[l].id) \(formatEnergy(e))", tw), x: x, y: y,
            style: look.style(pos == st.layerPosition ? .highlight : .dim), maxWidth: tw)
      Heatmap.drawLayer(&c, Rect(x: x, y: y + 1, width: tw, height: th), layer: g.layers[l],
                        values: ExplorerScreen.slice(v, g, l), scale: scale, look: look)
    }
  }
}
