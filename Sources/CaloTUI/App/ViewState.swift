// What the user is looking at (screen, layer, theme, picker entries): owned by the UI thread, changed
// only by key handling, read by the screens. Everything computed from data lives in ExplorerSnapshot.

import CaloGeometry

/// The explorer's main screens (`v` cycles, `1`–`6` jump).
public enum ScreenKind: String, CaseIterable, Sendable {
  case shower, grid, profile, metrics, codebook, tokens

  public var title: String {
    switch self {
    case .shower: return "Shower"
    case .grid: return "All layers"
    case .profile: return "Profile"
    case .metrics: return "Metrics"
    case .codebook: return "Codebook"
    case .tokens: return "Tokens"
    }
  }
}

/// Which shower the grid and profile screens show (`c` cycles).
public enum Subject: Int, CaseIterable, Sendable {
  case shower, reference, generatedMean, referenceMean
}

/// What the worker needs to know to produce data: dataset, energy and model variant.
public struct ExplorerContext: Equatable, Sendable {
  public var dataset: DatasetKind
  public var energyMeV: Double
  public var normalisation: Normalisation
}

/// UI state of the explorer.
public struct ViewState: Equatable, Sendable {
  /// Datasets the picker offers (all four by default).
  public var datasets: [DatasetKind]
  public var dataset: DatasetKind
  public var energyMeV: Double
  public var normalisation: Normalisation = .global
  public var screen: ScreenKind = .shower
  /// Position in the geometry's relevant layers (not the layer id).
  public var layerPosition = 0
  public var subject: Subject = .shower
  public var themeIndex: Int
  public var themeCount: Int
  public var showHelp = false
  /// Text typed so far while entering an energy (`e`); nil when not typing.
  public var energyInput: String?
  /// Selected row of the metrics table.
  public var metricRow = 0
  /// Selected code of the codebook screen (0..<K).
  public var selectedCode = 0
  /// One-line message in the status bar (errors of typed input, hints).
  public var message: String?

  public init(datasets: [DatasetKind], dataset: DatasetKind, energyMeV: Double? = nil, themeIndex: Int = 0,
              themeCount: Int = 1)
  {
    self.datasets = datasets
    self.dataset = dataset
    self.energyMeV = energyMeV ?? EnergyScale(kind: dataset).defaultMeV
    self.themeIndex = themeIndex
    self.themeCount = themeCount
  }

  public var context: ExplorerContext { ExplorerContext(dataset: dataset, energyMeV: energyMeV, normalisation: normalisation) }
}
