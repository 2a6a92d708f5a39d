// Screen 3: the longitudinal profile (energy per layer) of one subject as bars, with the reference
// average (or, for reference subjects, the drawn-shower average) as markers, on a log axis.

import CaloGeometry
import Foundation

enum ProfileScreen {
  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    guard let g = s.geometry else { return }
    let markerSubject: Subject = (st.subject == .reference || st.subject == .referenceMean) ? .generatedMean : .referenceMean
    c.put("Energy per layer: bars = \(GridScreen.subjectNames[st.subject]!), \(look.glyphs.marker) = "
          + "\(GridScreen.subjectNames[markerSubject]!) (c: change)", x: r.x, y: r.y, style: look.style(.title),
          maxWidth: r.width)
    guard let v = s.voxels(st.subject) else {
      ExplorerScreen.message(&c, r.inset(2, 3), "nothing to show yet: press g", look.style(.dim))
      return
    }
    let bars = layerEnergies(v, geometry: g)
    let marks = s.voxels(markerSubject).map { layerEnergies($0, geometry: g) }
    let scale = LogScale(covering: [bars.map(Float.init), (marks ?? []).map(Float.init)], threshold: 1e-6)
    let axisW = 11
    let n = bars.count
    let cols = max(1, min(6, (r.width - axisW) / max(n, 1)))
    let chart = Rect(x: r.x + axisW, y: r.y + 2, width: n * cols, height: r.height - 4)
    if let scale {
      for (frac, label) in [(1.0, scale.vmax), (0.5, (scale.vmax * scale.vmin).squareRoot()), (0.0, scale.vmin)] {
        let y = chart.maxY - 1 - Int(frac * Double(chart.height - 1))
        c.put(Charts.pad(formatEnergy(label), axisW - 2, right: true), x: r.x, y: y, style: look.style(.dim))
      }
    }
    let rel = g.relevantLayerIndices
    Charts.columns(&c, chart, heights: bars.map { scale?.position($0) }, markers: (marks ?? []).map { scale?.position($0) },
                   columnsPerValue: cols, barStyle: { i in
                     (rel.firstIndex(of: ExplorerScreen.layerIndex(g, st.layerPosition)) == i)
                       ? look.style(.title) : look.style(.text)
                   }, markerStyle: look.style(.accent), look: look)
    // Layer ids under the bars, as many as fit.
    var x = chart.x
    for (i, l) in rel.enumerated() where chart.x + i * cols >= x {
      let label = "\(g.layers[l].id)"
      x = chart.x + i * cols + c.put(label, x: chart.x + i * cols, y: chart.maxY, style: look.style(.dim)) + 1
    }
    c.put("layer id", x: r.x, y: chart.maxY, style: look.style(.dim))
  }
}
