// Screen 1: one layer of the last shower beside a reference shower of the same energy and the two
// running averages (all on one colour scale), then the longitudinal profiles and the worst metrics.

import CaloGeometry
import Foundation

enum ShowerScreen {
  static let bottomRows = 5

  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    guard let g = s.geometry else { return }
    let l = ExplorerScreen.layerIndex(g, st.layerPosition)
    let layer = g.layers[l]
    let modelWord = s.sourceIsModel ? "generated" : "file"
    let panels: [(String, [Float]?)] = [
      (s.current.map { "shower (\(String(format: "%.2f", $0.timeMs)) ms)" } ?? "shower: press g", s.current?.voxels),
      (s.reference.map { "reference \($0.origin.replacingOccurrences(of: "file ", with: ""))" } ?? "reference",
       s.reference?.voxels),
      ("avg \(modelWord) (\(s.generatedCount))", s.generatedMean),
      ("avg reference (\(s.referenceCount))", s.referenceMean),
    ]
    let gap = 1
    let pw = (r.width - gap * (panels.count - 1)) / panels.count
    let mapH = r.height - 3 - bottomRows
    let scale = LogScale(covering: panels.compactMap { $0.1.map { ExplorerScreen.slice($0, g, l) } },
                         threshold: (s.context?.dataset.voxelThresholdMeV ?? 0))
    for (i, p) in panels.enumerated() {
      let x = r.x + i * (pw + gap)
      c.put(p.0, x: x, y: r.y, style: look.style(.title), maxWidth: pw)
      let area = Rect(x: x, y: r.y + 1, width: pw, height: mapH)
      if let v = p.1 {
        Heatmap.drawLayer(&c, area, layer: layer, values: ExplorerScreen.slice(v, g, l), scale: scale, look: look)
        let e = ExplorerScreen.slice(v, g, l).reduce(0.0) { $0 + Double($1) }
        c.put("E = " + formatEnergy(e), x: x, y: r.y + 1 + mapH, style: look.style(.text), maxWidth: pw)
      } else {
        ExplorerScreen.message(&c, area.inset(1, mapH / 2 - 1), i == 0 ? "press g to draw a shower" : "no data yet",
                               look.style(.dim))
      }
    }
    let ly = r.y + 2 + mapH
    let kind = layer.isAngular ? "\(layer.nAlpha)α × \(layer.nR)r" : "\(layer.nR) radial bins"
    let info = "layer \(layer.id) (\(st.layerPosition + 1)/\(g.relevantLayerIndices.count), \(kind)) [ ] step  "
    let used = c.put(look.unicode ? info : info.replacingOccurrences(of: "α × ", with: "a x "), x: r.x, y: ly,
                     style: look.style(.text))
    Heatmap.drawLegend(&c, x: r.x + used, y: ly, width: r.width - used, scale: scale, look: look)
    drawProfiles(&c, Rect(x: r.x, y: ly + 1, width: r.width, height: bottomRows), s, g, look)
  }

  /// Sparklines of the energy per layer (left) and the metrics rows with the largest separation (right).
  static func drawProfiles(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ g: Geometry, _ look: Look) {
    let n = g.relevantLayerIndices.count
    let labelW = 10
    let cols = max(1, min(4, (r.width / 2 - labelW) / max(n, 1)))
    let series: [(String, [Float]?, UIRole)] = [
      ("shower", s.current?.voxels, .title), ("reference", s.reference?.voxels, .accent),
      ("avg", s.generatedMean, .title), ("avg ref", s.referenceMean, .accent),
    ]
    let profiles = series.map { $0.1.map { layerEnergies($0, geometry: g) } }
    let all = profiles.compactMap { $0 }.map { $0.map(Float.init) }
    let scale = LogScale(covering: all, threshold: 1e-6)
    c.put("energy per layer (log)", x: r.x, y: r.y, style: look.style(.dim))
    for (i, sr) in series.enumerated() {
      let y = r.y + 1 + i
      c.put(Charts.pad(sr.0, labelW - 1), x: r.x, y: y, style: look.style(.dim))
      if let p = profiles[i] {
        Charts.sparkline(&c, x: r.x + labelW, y: y, values: p, columnsPerValue: cols, scale: scale,
                         style: look.style(sr.2), look: look)
      }
    }
    let mx = r.x + labelW + n * cols + 2
    let mw = r.maxX - mx
    guard mw >= 20, let table = s.metrics[s.context?.normalisation ?? .global] else { return }
    c.put(Charts.pad("metric", mw - 8) + Charts.pad("sep", 8, right: true), x: mx, y: r.y, style: look.style(.dim))
    let rows = table.rows.sorted { ($0.separation ?? -1) > ($1.separation ?? -1) }.prefix(r.height - 1)
    for (i, row) in rows.enumerated() {
      let sep = row.separation.map { String(format: "%.4f", $0) } ?? "-"
      c.put(Charts.pad(row.label, mw - 8) + Charts.pad(sep, 8, right: true), x: mx, y: r.y + 1 + i,
            style: look.style(.text))
    }
  }
}
