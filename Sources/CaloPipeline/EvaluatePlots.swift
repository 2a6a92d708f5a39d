// `calovq evaluate --plots DIR`: one SVG per histogram, reference filled and generated as a line,
// log axes for the log-binned histograms. A small hand-written SVG writer (no plotting dependency).

import CaloGeometry
import CaloMetrics
import Foundation

/// Draws one histogram comparison as a standalone SVG document.
///
/// y = fraction of in-range entries per bin (what the separation power compares). For log binnings
/// both axes are logarithmic and empty bins are left out of the drawing.
public func histogramSVG(_ c: HistogramComparison, datasetName: String) -> String {
  let W = 640.0, H = 420.0, left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
  let pw = W - left - right, ph = H - top - bottom
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(W))" height="\(Int(H))" viewBox="0 0 \(Int(W)) \(Int(H))" \
    font-family="sans-serif" font-size="12">
    <rect x="0" y="0" width="\(Int(W))" height="\(Int(H))" fill="white"/>

    """
  let title = "\(c.spec.label), dataset \(datasetName)"
    + (c.separation.map { String(format: ", separation %.4f", $0) } ?? ", separation undefined")
  svg += "<text x=\"\(W / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>\n"
  guard let b = c.binning, let pr = probabilities(c.referenceCounts) else {
    svg += "<text x=\"\(W / 2)\" y=\"\(H / 2)\" text-anchor=\"middle\">no reference entries in range: undefined</text>\n"
    return svg + "</svg>\n"
  }
  let pg = probabilities(c.generatedCounts)
  let logY = b.isLog
  let edges = b.edges
  func xf(_ x: Double) -> Double {
    let t = b.isLog ? (log10(x) - log10(edges.first!)) / (log10(edges.last!) - log10(edges.first!))
      : (x - edges.first!) / (edges.last! - edges.first!)
    return left + t * pw
  }
  let allP = pr + (pg ?? [])
  let yMax = (allP.max() ?? 1) * 1.1
  let positive = allP.filter { $0 > 0 }
  let yMinLog = log10(max(positive.min() ?? 1e-6, 1e-12)) - 0.3, yMaxLog = log10(max(yMax, 1e-12)) + 0.1
  func yf(_ p: Double) -> Double {
    if logY {
      guard p > 0 else { return top + ph }
      return top + ph * (1 - (log10(p) - yMinLog) / (yMaxLog - yMinLog))
    }
    return top + ph * (1 - p / yMax)
  }
  // Reference: filled step area.
  var area = "M \(fmt(xf(edges[0]))) \(fmt(top + ph))"
  for i in 0..<b.count {
    let y = pr[i] > 0 || !logY ? yf(pr[i]) : top + ph
    area += " L \(fmt(xf(edges[i]))) \(fmt(y)) L \(fmt(xf(edges[i + 1]))) \(fmt(y))"
  }
  area += " L \(fmt(xf(edges[b.count]))) \(fmt(top + ph)) Z"
  svg += "<path d=\"\(area)\" fill=\"#9ecae1\" stroke=\"#3182bd\" stroke-width=\"1\"/>\n"
  // Generated: step line.
  if let pg {
    var line = ""
    for i in 0..<b.count {
      let y = yf(pg[i])
      line += (i == 0 ? "M" : " L") + " \(fmt(xf(edges[i]))) \(fmt(y)) L \(fmt(xf(edges[i + 1]))) \(fmt(y))"
    }
    svg += "<path d=\"\(line)\" fill=\"none\" stroke=\"#e6550d\" stroke-width=\"2\"/>\n"
  }
  // Axes, ticks and labels.
  svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"black\"/>\n"
  for t in ticks(lo: edges.first!, hi: edges.last!, log: b.isLog) {
    let x = xf(t)
    svg += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top + ph))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + ph + 5))\" stroke=\"black\"/>"
    svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(top + ph + 18))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
  }
  let yTicks = logY ? ticks(lo: pow(10, yMinLog), hi: pow(10, yMaxLog), log: true) : ticks(lo: 0, hi: yMax, log: false)
  for t in yTicks {
    let y = yf(t)
    svg += "<line x1=\"\(fmt(left - 5))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left))\" y2=\"\(fmt(y))\" stroke=\"black\"/>"
    svg += "<text x=\"\(fmt(left - 8))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
  }
  svg += "<text x=\"\(fmt(left + pw / 2))\" y=\"\(fmt(H - 12))\" text-anchor=\"middle\">\(escape(axisLabel(c.spec)))</text>\n"
  svg += "<text x=\"16\" y=\"\(fmt(top + ph / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(top + ph / 2)))\">fraction of entries</text>\n"
  // Legend.
  let lx = left + pw - 150
  svg += "<rect x=\"\(fmt(lx))\" y=\"\(fmt(top + 8))\" width=\"14\" height=\"10\" fill=\"#9ecae1\" stroke=\"#3182bd\"/>"
  svg += "<text x=\"\(fmt(lx + 20))\" y=\"\(fmt(top + 17))\">reference</text>\n"
  svg += "<line x1=\"\(fmt(lx))\" y1=\"\(fmt(top + 30))\" x2=\"\(fmt(lx + 14))\" y2=\"\(fmt(top + 30))\" stroke=\"#e6550d\" stroke-width=\"2\"/>"
  svg += "<text x=\"\(fmt(lx + 20))\" y=\"\(fmt(top + 34))\">generated</text>\n"
  return svg + "</svg>\n"
}

/// Writes one SVG per defined-or-undefined histogram into `dir` (created if missing); returns the paths.
@discardableResult
public func writeHistogramPlots(_ result: EvaluationResult, to dir: String) throws -> [String] {
  do {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  } catch {
    throw EvaluationOutputError(path: dir, reason: "cannot create the folder (\(error.localizedDescription))")
  }
  var paths: [String] = []
  for c in result.comparisons {
    let path = (dir as NSString).appendingPathComponent("\(c.spec.fileStem)_dataset_\(result.kind.officialName).svg")
    try writeAtomically(Data(histogramSVG(c, datasetName: result.kind.rawValue).utf8), to: path)
    paths.append(path)
  }
  return paths
}

private func probabilities(_ counts: [Int]) -> [Double]? {
  let t = counts.reduce(0, +)
  guard t > 0 else { return nil }
  return counts.map { Double($0) / Double(t) }
}

private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

private func escape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;")
}

private func tickLabel(_ t: Double) -> String {
  if t == 0 { return "0" }
  let a = abs(t)
  return a >= 1e4 || a < 1e-2 ? String(format: "%.0e", t) : String(format: "%g", t)
}

/// About five round ticks on [lo, hi]; decades for log axes.
private func ticks(lo: Double, hi: Double, log: Bool) -> [Double] {
  guard hi > lo else { return [lo] }
  if log {
    let a = Int(floor(log10(lo))), b = Int(ceil(log10(hi)))
    let step = max(1, (b - a) / 6)
    return stride(from: a, through: b, by: step).map { pow(10, Double($0)) }.filter { $0 >= lo * 0.999 && $0 <= hi * 1.001 }
  }
  let raw = (hi - lo) / 5
  let mag = pow(10, floor(log10(raw)))
  let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
  var out: [Double] = []
  var t = ceil(lo / step) * step
  while t <= hi + step * 1e-9 {
    out.append(abs(t) < step * 1e-9 ? 0 : t)
    t += step
  }
  return out
}

private func axisLabel(_ s: HistogramSpec) -> String {
  switch s.feature {
  case .response, .responseAtEnergy: return "E_tot / E_inc"
  case .layerEnergy: return "E (MeV), layer \(s.layer ?? 0)"
  case .voxelEnergy: return "voxel energy (MeV)"
  case .ecEta: return "centre of energy in eta (mm), layer \(s.layer ?? 0)"
  case .ecPhi: return "centre of energy in phi (mm), layer \(s.layer ?? 0)"
  case .widthEta: return "width in eta (mm), layer \(s.layer ?? 0)"
  case .widthPhi: return "width in phi (mm), layer \(s.layer ?? 0)"
  case .ecR: return "centre of energy in r (mm), layer \(s.layer ?? 0)"
  case .widthR: return "width in r (mm), layer \(s.layer ?? 0)"
  case .sparsity: return "sparsity, layer \(s.layer ?? 0)"
  }
}
