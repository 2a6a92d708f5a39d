// Screen 5: the codebook. Usage of the K codes by generated showers (bars) and by the encoded
// reference sample (markers), perplexity, dead and dominant codes, and the decoded footprint of the
// selected code (a latent grid filled with it) for the selected layer.

import CaloGeometry
import Foundation

enum CodebookScreen {
  static func draw(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    guard let m = s.model, let cb = s.codebook, let g = s.geometry else {
      noModel(&c, r, s, what: "The codebook view", look)
      return
    }
    let code = min(st.selectedCode, cb.size - 1)
    c.put("Codebook of \(m.name): K = \(cb.size), latent \(shapeText(m.latentShape, look))   , . < > select code",
          x: r.x, y: r.y, style: look.style(.title), maxWidth: r.width)
    func stats(_ name: String, _ counts: [Int]?, _ showers: Int) -> String {
      guard let counts, showers > 0 else { return "\(name): -" }
      let used = counts.count - CodebookUsage.dead(counts)
      let p = CodebookUsage.perplexity(counts).map { String(format: "%.1f", $0) } ?? "-"
      let top = CodebookUsage.dominant(counts, k: 3).map { "\($0.code) \(percent($0.share))" }.joined(separator: ", ")
      return "\(name) (\(showers)): used \(used), dead \(counts.count - used), perplexity \(p); top \(top)"
    }
    c.put(stats("generated", cb.generated, cb.generatedShowers), x: r.x, y: r.y + 1, style: look.style(.text),
          maxWidth: r.width)
    let refLine = cb.reference == nil ? "reference: not encoded yet (encoding starts when this screen opens)"
      : stats("reference", cb.reference, cb.referenceShowers)
    c.put(refLine, x: r.x, y: r.y + 2, style: look.style(.text), maxWidth: r.width)

    // Usage histogram: codes merged into as many columns as fit.
    let histH = max(3, min(8, (r.height - 5) / 3))
    let maxCols = r.width - 2
    let perCol = (cb.size + maxCols - 1) / maxCols
    let cols = (cb.size + perCol - 1) / perCol
    func merged(_ counts: [Int]) -> [Double] {
      let n = Double(max(counts.reduce(0, +), 1))
      return (0..<cols).map { k in Double(counts[(k * perCol)..<min(cb.size, (k + 1) * perCol)].reduce(0, +)) / n }
    }
    // Each series on its own scale (its fullest column at the top): a collapsed reference that uses one
    // code would otherwise flatten the generated bars. The shares are in the text lines above.
    let gen = merged(cb.generated)
    let ref = cb.reference.map(merged) ?? []
    let genPeak = max(gen.max() ?? 0, 1e-12), refPeak = max(ref.max() ?? 0, 1e-12)
    let hy = r.y + 3
    c.put("uses per \(perCol == 1 ? "code" : "\(perCol) codes"): bars = generated, \(look.glyphs.marker) = reference "
          + "(each scaled to its maximum)", x: r.x, y: hy, style: look.style(.dim), maxWidth: r.width)
    let chart = Rect(x: r.x + 1, y: hy + 1, width: cols, height: histH)
    let selCol = code / perCol
    Charts.columns(&c, chart, heights: gen.map { $0 > 0 ? $0 / genPeak : nil }, markers: ref.map { $0 > 0 ? $0 / refPeak : nil },
                   columnsPerValue: 1, barStyle: { $0 == selCol ? look.style(.highlight) : look.style(.title) },
                   markerStyle: look.style(.accent), look: look)
    let axisY = chart.maxY
    c.put("0", x: chart.x, y: axisY, style: look.style(.dim))
    let hi = "\(cb.size - 1)"
    c.put(hi, x: chart.x + cols - hi.count, y: axisY, style: look.style(.dim))
    c[chart.x + selCol, axisY] = Cell(look.unicode ? "▲" : "^", look.style(.highlight))

    // The selected code and its footprint.
    let fy = axisY + 1
    guard fy < r.maxY else { return }
    let genShare = share(cb.generated, code), refShare = cb.reference.map { share($0, code) }
    c.put("code \(code): generated \(percent(genShare)) of positions, reference "
          + (refShare.map(percent) ?? "-"), x: r.x, y: fy, style: look.style(.highlight), maxWidth: r.width)
    let area = Rect(x: r.x, y: fy + 1, width: r.width, height: r.maxY - fy - 1)
    guard area.height >= 3 else { return }
    guard let f = s.footprint, f.code == code else {
      c.put("decoding the footprint of code \(code) ...", x: area.x, y: area.y, style: look.style(.dim))
      return
    }
    let l = ExplorerScreen.layerIndex(g, st.layerPosition)
    let mapW = min(area.width / 2, max(2 * area.height, 16))
    let slice = ExplorerScreen.slice(f.voxels, g, l)
    let scale = LogScale(covering: [slice], threshold: s.context?.dataset.voxelThresholdMeV ?? 0)
    Heatmap.drawLayer(&c, Rect(x: area.x, y: area.y, width: mapW, height: area.height), layer: g.layers[l],
                      values: slice, scale: scale, look: look)
    let ix = area.x + mapW + 2, iw = area.maxX - ix
    let total = f.voxels.reduce(0.0) { $0 + Double($1) }
    let info = [
      "footprint: every latent position = code \(code),",
      "decoded at \(formatEnergy(f.energyMeV)) with the energy",
      "ratios R of the reference average",
      "layer \(g.layers[l].id) ([ ] step): \(formatEnergy(slice.reduce(0.0) { $0 + Double($1) }))",
      "shower total \(formatEnergy(total)), \(String(format: "%.1f", f.timeMs)) ms",
    ]
    for (i, t) in info.enumerated() where area.y + i < area.maxY {
      c.put(t, x: ix, y: area.y + i, style: look.style(i < 3 ? .dim : .text), maxWidth: iw)
    }
    let ly = area.y + info.count
    if ly < area.maxY {
      Heatmap.drawLegend(&c, x: ix, y: ly, width: iw, scale: scale, look: look)
    }
    if ly + 1 < area.maxY {
      let prof = layerEnergies(f.voxels, geometry: g)
      c.put("per layer ", x: ix, y: ly + 1, style: look.style(.dim))
      let cols = max(1, min(3, (iw - 10) / max(prof.count, 1)))
      Charts.sparkline(&c, x: ix + 10, y: ly + 1, values: prof, columnsPerValue: cols,
                       scale: LogScale(covering: [prof.map(Float.init)], threshold: 1e-6), style: look.style(.title),
                       look: look)
    }
  }

  static func share(_ counts: [Int], _ code: Int) -> Double {
    let n = counts.reduce(0, +)
    return n > 0 && code < counts.count ? Double(counts[code]) / Double(n) : 0
  }

  static func percent(_ x: Double) -> String { x == 0 ? "0%" : (x < 0.001 ? "<0.1%" : String(format: "%.1f%%", 100 * x)) }

  static func shapeText(_ shape: [Int], _ look: Look) -> String {
    shape.map(String.init).joined(separator: look.unicode ? "×" : "x")
  }

  /// What to show when the active variant has no model.
  static func noModel(_ c: inout Canvas, _ r: Rect, _ s: ExplorerSnapshot, what: String, _ look: Look) {
    let dataset = s.context?.dataset.rawValue ?? "this dataset"
    let norm = s.context?.normalisation ?? .global
    let folder = s.context.map { ModelLibrary.folderName($0.dataset, norm) } ?? "<dataset>-<global|layerwise>"
    ExplorerScreen.message(&c, r.inset(2, 2),
      "\(what) needs a model. Showers of \(dataset) (\(norm.rawValue)) now come from: \(s.sourceName). "
        + "Put a model folder (stage1.safetensors + stage2.safetensors) in sample-data/models/\(folder)/ "
        + "or pass --model DIR; press n for the other normalisation.", look.style(.dim))
  }
}
