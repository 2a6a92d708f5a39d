// Text and JSON reports of an evaluation: per-layer separation table like Tables 3/4 of the Calo-VQ paper,
// the dataset-wide histograms, the ds1 per-energy rows, a summary, and FPD/KPD ×10³.

import CaloGeometry
import CaloMetrics
import Foundation

extension EvaluationResult {
  func value(_ f: HistogramFeature, layer: Int? = nil) -> SeparationEntry? {
    separations.first { $0.feature == f && $0.layer == layer }
  }

  /// Worst, best and median separation over the official histograms with a defined value.
  public var summary: (worst: SeparationEntry, best: SeparationEntry, median: Double, defined: Int, undefined: Int)? {
    let official = separations.filter(\.official)
    let defined = official.filter { $0.value != nil }.sorted { $0.value! < $1.value! }
    guard let best = defined.first, let worst = defined.last else { return nil }
    let v = defined.map { $0.value! }
    return (worst, best, percentile(v, 50), defined.count, official.count - defined.count)
  }

  /// The report `calovq evaluate` prints.
  public func report() -> String {
    func f(_ e: SeparationEntry?) -> String {
      guard let e else { return "-" }
      return e.value.map { String(format: "%.4f", $0) } ?? "undef"
    }
    func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
    let layout = FeatureLayout(geometry: kind.geometry)
    var s = "CaloChallenge evaluation, dataset \(kind.rawValue) (\(kind.voxelCount) voxels)\n"
    s += "generated: \(generatedPath) (\(generatedCount) showers)\n"
    s += "reference: \(referencePath) (\(referenceCount) showers)\n"
    s += String(format: "voxels below %.6g MeV set to 0 in both samples\n\n", kind.voxelThresholdMeV)
    s += "Separation power per layer (0 = identical, 1 = disjoint; \"-\" = no angular segmentation,\n"
    s += "\"undef\" = no reference or generated entry in the histogram range)\n"
    let cols = ["E_layer", "EC eta", "width eta", "EC phi", "width phi"]
    s += pad("layer", 5) + cols.map { pad($0, 11) }.joined() + "\n"
    for id in layout.relevantIds {
      let row = [value(.layerEnergy, layer: id), value(.ecEta, layer: id), value(.widthEta, layer: id),
                 value(.ecPhi, layer: id), value(.widthPhi, layer: id)]
      s += pad("\(id)", 5) + row.map { pad(f($0), 11) }.joined() + "\n"
    }
    s += "\n"
    s += "E_tot/E_inc          " + pad(f(value(.response)), 8) + "\n"
    s += "cell (voxel) energy  " + pad(f(value(.voxelEnergy)), 8) + "\n"
    let perE = separations.filter { $0.feature == .responseAtEnergy }
    if !perE.isEmpty {
      s += "\nE_tot/E_inc per incident energy\n"
      for e in perE {
        s += pad(String(format: "%.0f MeV", e.incidentEnergy ?? 0), 12) + "  " + pad(f(e), 8) + "\n"
      }
    }
    s += "\nHelper histograms (not in evaluate.py's separation file)\n"
    s += pad("layer", 5) + ["EC r", "width r", "sparsity"].map { pad($0, 11) }.joined() + "\n"
    for id in layout.relevantIds {
      let row = [value(.ecR, layer: id), value(.widthR, layer: id), value(.sparsity, layer: id)]
      s += pad("\(id)", 5) + row.map { pad(f($0), 11) }.joined() + "\n"
    }
    s += "\n"
    if let m = summary {
      s += "official histograms: \(m.defined) defined, \(m.undefined) undefined\n"
      s += String(format: "worst  %.4f", m.worst.value!) + "  (\(m.worst.label))\n"
      s += String(format: "best   %.4f", m.best.value!) + "  (\(m.best.label))\n"
      s += String(format: "median %.4f\n", m.median)
    } else {
      s += "official histograms: none defined\n"
    }
    if let fpd {
      s += String(format: "FPD (x10^3): %.4f ± %.4f\n", fpd.value * 1e3, fpd.error * 1e3)
    } else {
      s += "FPD (x10^3): not computed\n"
    }
    if let kpd {
      s += String(format: "KPD (x10^3): %.4f ± %.4f\n", kpd.value * 1e3, kpd.error * 1e3)
    } else {
      s += "KPD (x10^3): not computed\n"
    }
    s += "\n" + QualityBar(separations: separations).report()
    if !classifiers.isEmpty { s += "\n" + classifierReport(classifiers) }
    return s
  }

  /// Machine-readable result (what `--json` writes).
  public func json() throws -> Data {
    struct Doc: Encodable {
      var dataset: String
      var generated: String
      var reference: String
      var generatedShowers: Int
      var referenceShowers: Int
      var thresholdMeV: Double
      var separations: [SeparationEntry]
      var fpd: ValueWithError?
      var kpd: ValueWithError?
      var classifiers: [ClassifierResult]?
      var qualityBar: QualityBar
      var timingsSeconds: [String: Double]
    }
    let doc = Doc(dataset: kind.rawValue, generated: generatedPath, reference: referencePath,
                  generatedShowers: generatedCount, referenceShowers: referenceCount,
                  thresholdMeV: kind.voxelThresholdMeV, separations: separations, fpd: fpd, kpd: kpd,
                  classifiers: classifiers.isEmpty ? nil : classifiers, qualityBar: QualityBar(separations: separations),
                  timingsSeconds: Dictionary(timings.map { ($0.phase, $0.seconds) }, uniquingKeysWith: +))
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try enc.encode(doc)
  }
}

/// Writes `data` to `path` through a temporary file renamed into place.
func writeAtomically(_ data: Data, to path: String) throws {
  let tmp = path + ".partial-\(getpid())"
  do {
    try data.write(to: URL(fileURLWithPath: tmp))
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
  } catch {
    try? FileManager.default.removeItem(atPath: tmp)
    throw EvaluationOutputError(path: path, reason: "\(error.localizedDescription)".trimmingCharacters(in: CharacterSet(charactersIn: ". ")))
  }
}

/// An output file could not be written.
public struct EvaluationOutputError: Error, CustomStringConvertible {
  public var path: String
  public var reason: String
  public var description: String {
    "cannot write '\(path)': \(reason). Check that the folder exists and is writable."
  }
}

/// Writes the JSON form of `result` to `path` atomically.
public func writeEvaluationJSON(_ result: EvaluationResult, to path: String) throws {
  try writeAtomically(try result.json(), to: path)
}
