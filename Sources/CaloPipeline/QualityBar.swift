// The project's quality bar for bundled models (issue 9), computed from an evaluation's separation
// powers: E_tot/E_inc, the per-layer energies (median and worst over layers) and the shower centres
// and widths in η/φ (median and worst over every layer and the four features). A histogram with no
// entry in range has no separation power; it counts as a miss, since nothing shows the model is close.

import CaloMetrics
import Foundation

/// One line of the bar: a measured number against its limit.
public struct QualityBarLine: Sendable, Equatable, Codable {
  public var name: String
  /// nil when no histogram of the group was defined.
  public var value: Double?
  public var limit: Double
  public var met: Bool { value.map { $0 <= limit } ?? false }
}

/// The bar's five lines for one evaluation.
public struct QualityBar: Sendable, Equatable, Codable {
  public var lines: [QualityBarLine]
  /// Undefined histograms among the groups (each one fails its group).
  public var undefined: Int
  public var met: Bool { undefined == 0 && lines.allSatisfy(\.met) }

  /// Limits: E_tot/E_inc ≤ 0.01; E_layer median ≤ 0.01, worst ≤ 0.05; centres and widths median
  /// ≤ 0.03, worst ≤ 0.1.
  public init(separations: [SeparationEntry]) {
    let official = separations.filter(\.official)
    func group(_ fs: Set<HistogramFeature>) -> [SeparationEntry] { official.filter { fs.contains($0.feature) } }
    let response = group([.response])
    let layers = group([.layerEnergy])
    let shapes = group([.ecEta, .ecPhi, .widthEta, .widthPhi])
    undefined = (response + layers + shapes).filter { $0.value == nil }.count
    func values(_ g: [SeparationEntry]) -> [Double] { g.compactMap(\.value) }
    func median(_ g: [SeparationEntry]) -> Double? { values(g).isEmpty ? nil : percentile(values(g), 50) }
    // A group with an undefined histogram reports its worst as undefined: the miss stays visible.
    func worst(_ g: [SeparationEntry]) -> Double? { g.contains { $0.value == nil } ? nil : values(g).max() }
    lines = [
      QualityBarLine(name: "E_tot/E_inc", value: worst(response), limit: 0.01),
      QualityBarLine(name: "E_layer median", value: median(layers), limit: 0.01),
      QualityBarLine(name: "E_layer worst", value: worst(layers), limit: 0.05),
      QualityBarLine(name: "centres+widths median", value: median(shapes), limit: 0.03),
      QualityBarLine(name: "centres+widths worst", value: worst(shapes), limit: 0.1),
    ]
  }

  /// The text block `calovq evaluate` prints.
  public func report() -> String {
    var s = "Quality bar of the bundled models (separation power, lower is better)\n"
    for l in lines {
      let v = l.value.map { String(format: "%.4f", $0) } ?? "undef"
      s += l.name.padding(toLength: 23, withPad: " ", startingAt: 0)
        + String(repeating: " ", count: max(0, 8 - v.count)) + v
        + String(format: "  ≤ %-5g", l.limit) + (l.met ? "  met" : "  MISSED") + "\n"
    }
    if undefined > 0 { s += "\(undefined) histogram(s) of these groups undefined (no entry in range)\n" }
    s += "bar " + (met ? "met" : "not met") + "\n"
    return s
  }
}
