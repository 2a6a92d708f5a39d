// Screen 4: the running metrics table (reference mean, mean of drawn showers, separation power for
// both normalisation variants) and a histogram of the selected feature, drawn over reference.

import Foundation

enum MetricsScreen {
  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    let active = s.context?.normalisation ?? .global
    guard let table = s.metrics[active] ?? s.metrics.values.first else {
      ExplorerScreen.message(&c, r.inset(2, 3), "no metrics yet", look.style(.dim))
      return
    }
    c.put("Running metrics vs reference (\(table.referenceCount) showers); \(table.method)", x: r.x, y: r.y,
          style: look.style(.title), maxWidth: r.width)
    let cols: [(String, Int)] = [("feature", 15), ("ref mean", 11), ("mean", 11), ("sep global", 14),
                                 ("sep layer-wise", 16)]
    var x = r.x
    for (name, w) in cols {
      c.put(Charts.pad(name, w, right: name != "feature"), x: x, y: r.y + 1, style: look.style(.dim))
      x += w
    }
    let histH = min(8, r.height / 3)
    let listH = r.height - 3 - histH - 1
    let first = max(0, min(st.metricRow - listH / 2, table.rows.count - listH))
    for (i, row) in table.rows.enumerated().dropFirst(first).prefix(listH) {
      let y = r.y + 2 + i - first
      func value(_ v: Double) -> String { MetricsScreen.value(v, row.unit) }
      func sep(_ n: Normalisation) -> String {
        guard let t = s.metrics[n], let rr = t.rows.first(where: { $0.label == row.label }), let v = rr.separation
        else { return "-" }
        return String(format: "%.4f", v) + " (\(t.generatedCount))"
      }
      let cells = [row.label, row.referenceMean.map(value) ?? "-", row.generatedMean.map(value) ?? "-",
                   sep(.global), sep(.layerWise)]
      var x = r.x
      let style = i == st.metricRow ? look.style(.highlight) : look.style(.text)
      for (k, (_, w)) in cols.enumerated() {
        // Right-aligned cells keep one blank column before them, so a long value never touches its
        // neighbour (it is cut at the cell instead).
        let cell = k == 0 ? Charts.pad(cells[k], w) : " " + Charts.pad(cells[k], w - 1, right: true)
        x += c.put(cell, x: x, y: y, style: style)
      }
    }
    guard table.rows.indices.contains(st.metricRow), let full = table.rows[st.metricRow].histogram else { return }
    // CaloChallenge histograms have up to 100 bins: neighbours are merged until the chart fits.
    let h = merged(full, maxBins: max(1, r.width - 2))
    let row = table.rows[st.metricRow]
    let hy = r.maxY - histH - 1
    c.put("\(row.label): bars = \(s.sourceIsModel ? "generated" : "drawn") showers, \(look.glyphs.marker) = reference (fraction per bin)", x: r.x,
          y: hy, style: look.style(.title), maxWidth: r.width)
    let peak = max(h.generated.max() ?? 0, h.reference.max() ?? 0, 1e-12)
    let colsPer = max(1, min(3, (r.width - 2) / max(h.generated.count, 1)))
    let chart = Rect(x: r.x + 1, y: hy + 1, width: h.generated.count * colsPer, height: histH - 1)
    Charts.columns(&c, chart, heights: h.generated.map { $0 > 0 ? $0 / peak : nil },
                   markers: h.reference.map { $0 > 0 ? $0 / peak : nil }, columnsPerValue: colsPer,
                   barStyle: { _ in look.style(.title) }, markerStyle: look.style(.accent), look: look)
    func value(_ v: Double) -> String { MetricsScreen.value(v, row.unit) }
    c.put(value(h.edges.first!), x: chart.x, y: chart.maxY, style: look.style(.dim))
    let hiLabel = value(h.edges.last!)
    c.put(hiLabel, x: max(chart.x, chart.maxX - hiLabel.count), y: chart.maxY, style: look.style(.dim))
  }

  /// A feature value with its unit ("1.2 GeV", "3.4 mm", "0.98"). Lengths and ratios under 1e-6 are
  /// rounding noise (a symmetric shower's centre came out as 3.06e-17 mm, too wide for its column) and
  /// print as 0.
  static func value(_ v: Double, _ unit: String) -> String {
    if unit == "MeV" { return formatEnergy(v) }
    let shown = abs(v) < 1e-6 ? "0" : trim3(v)
    return unit.isEmpty ? shown : shown + " " + unit
  }

  /// `h` with groups of neighbouring bins added up so that at most `maxBins` remain.
  static func merged(_ h: FeatureHistogram, maxBins: Int) -> FeatureHistogram {
    let n = h.generated.count
    guard n > maxBins else { return h }
    let k = (n + maxBins - 1) / maxBins
    let groups = stride(from: 0, to: n, by: k).map { $0..<min(n, $0 + k) }
    return FeatureHistogram(edges: groups.map { h.edges[$0.lowerBound] } + [h.edges[n]],
                            generated: groups.map { h.generated[$0].reduce(0, +) },
                            reference: groups.map { h.reference[$0].reduce(0, +) })
  }
}
