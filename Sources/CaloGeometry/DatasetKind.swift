// The four CaloChallenge 2022 datasets and their exact binnings (calochallenge_facts.md §a–b).

/// A CaloChallenge dataset: which particle and which binning.
public enum DatasetKind: String, CaseIterable, Sendable, Codable {
  case ds1Photon = "ds1-photon"
  case ds1Pion = "ds1-pion"
  case ds2 = "ds2"
  case ds3 = "ds3"

  /// Parses the names users type: `ds1-photon`, `1-photons`, `photon`, `ds2`, `2`, ...
  public init?(name: String) {
    switch name.lowercased() {
    case "ds1-photon", "ds1-photons", "1-photons", "1-photon", "ds1photon", "photon", "photons": self = .ds1Photon
    case "ds1-pion", "ds1-pions", "1-pions", "1-pion", "ds1pion", "pion", "pions": self = .ds1Pion
    case "ds2", "2", "dataset2", "dataset-2": self = .ds2
    case "ds3", "3", "dataset3", "dataset-3": self = .ds3
    default: return nil
    }
  }

  /// Voxels per shower.
  public var voxelCount: Int {
    switch self {
    case .ds1Photon: return 368
    case .ds1Pion: return 533
    case .ds2: return 6480
    case .ds3: return 40500
    }
  }

  /// The dataset whose showers have `voxels` columns, if any.
  public init?(voxelCount voxels: Int) {
    guard let k = DatasetKind.allCases.first(where: { $0.voxelCount == voxels }) else { return nil }
    self = k
  }

  /// Name the official evaluate.py takes with `-d`.
  public var officialName: String {
    switch self {
    case .ds1Photon: return "1-photons"
    case .ds1Pion: return "1-pions"
    case .ds2: return "2"
    case .ds3: return "3"
    }
  }

  /// File name of the official binning file for this dataset.
  public var binningFileName: String {
    switch self {
    case .ds1Photon: return "binning_dataset_1_photons.xml"
    case .ds1Pion: return "binning_dataset_1_pions.xml"
    case .ds2: return "binning_dataset_2.xml"
    case .ds3: return "binning_dataset_3.xml"
    }
  }

  /// Is this one of the two ds1 (ATLAS) datasets with 15 discrete incident energies?
  public var isDS1: Bool { self == .ds1Photon || self == .ds1Pion }

  /// Voxel readout threshold in MeV used by the evaluation: voxels with E < threshold are set to 0.
  /// ds1: 1 MeV; ds2/ds3: 0.5 keV / 0.033 sampling fraction = 15.15 keV.
  public var voxelThresholdMeV: Double { isDS1 ? 1.0 : 0.5e-3 / 0.033 }

  /// The ds1 incident energies 2^8 … 2^22 MeV.
  public static let ds1Energies: [Double] = (8...22).map { Double(1 << $0) }

  /// Showers per ds1 energy in the official files (photons 121000, pions 120800 in total).
  public var ds1OfficialCounts: [Int] {
    switch self {
    case .ds1Photon: return Array(repeating: 10000, count: 11) + [5000, 3000, 2000, 1000]
    case .ds1Pion: return Array(repeating: 10000, count: 10) + [9800, 5000, 3000, 2000, 1000]
    default: return []
    }
  }

  /// The exact CaloChallenge binning of this dataset.
  public var geometry: Geometry {
    switch self {
    case .ds1Photon: return Geometry.ds1(particle: "photon", pid: 22, etaMax: "130", filled: [
      0: [0, 5, 10, 30, 50, 100, 200, 400, 600],
      1: [0, 2, 4, 6, 8, 10, 12, 15, 20, 30, 40, 50, 70, 90, 120, 150, 200],
      2: [0, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 130, 160, 200, 250, 300, 350, 400],
      3: [0, 50, 100, 200, 400, 600],
      12: [0, 100, 200, 400, 1000, 2000],
    ], angular: [1, 2])
    case .ds1Pion: return Geometry.ds1(particle: "pion", pid: 211, etaMax: "80", filled: [
      0: [0, 5, 10, 30, 50, 100, 200, 400, 600],
      1: [0, 1, 4, 7, 10, 15, 30, 50, 90, 150, 200],
      2: [0, 5, 10, 20, 30, 50, 80, 130, 200, 300, 400],
      3: [0, 50, 100, 200, 400, 600],
      12: [0, 10, 20, 30, 50, 80, 100, 130, 160, 200, 250, 300, 350, 400, 1000, 2000],
      13: [0, 10, 20, 30, 50, 80, 100, 130, 160, 200, 250, 300, 350, 400, 600, 1000, 2000],
      14: [0, 50, 100, 150, 200, 250, 300, 400, 600, 1000, 2000],
    ], angular: [1, 2, 12, 13])
    case .ds2: return Geometry.cylinder(nR: 9, pitch: 4.65, nAlpha: 16)
    case .ds3: return Geometry.cylinder(nR: 18, pitch: 2.325, nAlpha: 50)
    }
  }
}

extension Geometry {
  /// ds1: 24 layer ids 0–23; the ones not in `filled` are placeholders with edge list "0".
  static func ds1(particle: String, pid: Int, etaMax: String, filled: [Int: [Double]], angular: Set<Int>)
    -> Geometry
  {
    let layers = (0..<24).map { id in
      Layer(id: id, rEdges: filled[id] ?? [0], nAlpha: angular.contains(id) ? 10 : 1)
    }
    return Geometry(particle: particle, pid: pid, layers: layers,
                    extraAttributes: [("etaMin", "0"), ("etaMax", etaMax)])
  }

  /// ds2/ds3: 45 identical layers with `nR` radial bins of `pitch` mm and `nAlpha` angular bins.
  /// Edges are written with the official files' decimals (k·pitch rounded to 1e-9 to kill FP noise).
  static func cylinder(nR: Int, pitch: Double, nAlpha: Int) -> Geometry {
    let edges = (0...nR).map { (Double($0) * pitch * 1e9).rounded() / 1e9 }
    return Geometry(particle: "electron", pid: 11,
                    layers: (0..<45).map { Layer(id: $0, rEdges: edges, nAlpha: nAlpha) })
  }
}
