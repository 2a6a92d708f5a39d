// The explorer's event loop (interactive, over ncurses) and its scripted twin (`--keys ...
// --snapshot`), both driving one ExplorerSession: keys → reactions → worker requests, and frames
// rendered from the latest snapshot.

import CaloGeometry
import Foundation

/// Everything `calovq explore` passes in.
public struct ExplorerOptions: Sendable {
  /// Datasets the picker offers.
  public var datasets: [DatasetKind]
  /// Dataset shown first.
  public var dataset: DatasetKind
  /// Incident energy shown first (MeV); nil for the dataset's default.
  public var energyMeV: Double?
  /// Model variant shown first.
  public var normalisation: Normalisation
  public var worker: WorkerConfig
  public var themes: ThemeLibrary
  public var themeIndex: Int
  /// `--ascii`: no Unicode glyphs.
  public var ascii: Bool
  /// `--colors`; nil = what the terminal supports.
  public var colors: ColorDepth?
  /// Process environment (NO_COLOR, TERM).
  public var environment: [String: String]
  /// The normalisations that have a model, per dataset (empty: unknown, nothing is switched). Moving
  /// to a dataset whose model exists only in the other normalisation switches to it, so `d` lands on
  /// generated showers rather than a replay (ds2 has a layer-wise model only).
  public var modelNormalisations: [DatasetKind: Set<Normalisation>]

  public init(datasets: [DatasetKind], dataset: DatasetKind, energyMeV: Double? = nil,
              normalisation: Normalisation = .global, worker: WorkerConfig,
              themes: ThemeLibrary, themeIndex: Int = 0, ascii: Bool = false, colors: ColorDepth? = nil,
              environment: [String: String] = ProcessInfo.processInfo.environment,
              modelNormalisations: [DatasetKind: Set<Normalisation>] = [:])
  {
    self.datasets = datasets
    self.dataset = dataset
    self.energyMeV = energyMeV
    self.normalisation = normalisation
    self.worker = worker
    self.themes = themes
    self.themeIndex = themeIndex
    self.ascii = ascii
    self.colors = colors
    self.environment = environment
    self.modelNormalisations = modelNormalisations
  }
}

/// UI-thread state of one explorer run: the view state, the worker and the themes.
public final class ExplorerSession {
  public private(set) var state: ViewState
  public let worker: ExplorerWorker
  private let options: ExplorerOptions

  public init(options: ExplorerOptions) {
    self.options = options
    state = ViewState(datasets: options.datasets, dataset: options.dataset, energyMeV: options.energyMeV,
                      themeIndex: options.themeIndex, themeCount: options.themes.themes.count)
    state.normalisation = options.normalisation
    worker = ExplorerWorker(config: options.worker)
  }

  /// Starts the worker on the initial context.
  public func start() {
    worker.start()
    worker.submit(.setContext(state.context))
  }

  /// Handles one key and forwards the resulting requests to the worker.
  @discardableResult
  public func handle(_ key: Key) -> Reaction {
    let snap = worker.snapshot()
    let layers = snap.geometry?.relevantLayerIndices.count ?? 0
    let rows = snap.metrics[state.normalisation]?.rows.count ?? snap.metrics.values.first?.rows.count ?? 0
    let dataset = state.dataset
    let r = KeyBindings.handle(key, state: &state, layerCount: layers, metricRows: rows,
                               codeCount: snap.model?.codebookSize ?? 1024)
    if state.dataset != dataset, let have = options.modelNormalisations[state.dataset],
      !have.contains(state.normalisation), have.contains(state.normalisation.toggled)
    {
      state.message = "no \(state.normalisation.rawValue) model for \(state.dataset.rawValue): showing the "
        + "\(state.normalisation.toggled.rawValue) one (n toggles)"
      state.normalisation = state.normalisation.toggled
    }
    if r.contains(.contextChanged) { worker.submit(.setContext(state.context)) }
    if r.contains(.resetRunning) { worker.submit(.resetRunning) }
    if r.contains(.generateOne) { worker.submit(.generate(count: 1)) }
    if r.contains(.generateBatch) { worker.submit(.generate(count: KeyBindings.batchSize)) }
    if r.contains(.stepToken) { worker.submit(.stepToken) }
    if r.contains(.finishSequence) { worker.submit(.finishSequence) }
    if r.contains(.encodeReference) { worker.submit(.encodeReference) }
    if key == .char("n"), state.energyInput == nil, let name = snap.sourceNames[state.normalisation],
      snap.sourceNames[state.normalisation.toggled]?.hasPrefix("model") == true, !name.hasPrefix("model")
    {
      state.message = "no \(state.normalisation.rawValue) model for \(state.dataset.rawValue): showing reference file rows"
    }
    requestScreenData()
    return r
  }

  /// The codebook screen needs the encoded reference sample and the selected code's footprint; both are
  /// computed once on the worker (it skips requests whose result it already has).
  private func requestScreenData() {
    guard state.screen == .codebook else { return }
    let snap = worker.snapshot()
    if snap.model != nil || snap.context != state.context {
      if snap.codebook?.reference == nil { worker.submit(.encodeReferenceSample) }
      if snap.footprint?.code != state.selectedCode { worker.submit(.footprint(code: state.selectedCode)) }
    }
  }

  /// Renders the current frame.
  public func frame(width: Int, height: Int, depth: ColorDepth) -> Canvas {
    let look = Look(theme: options.themes.themes[state.themeIndex], depth: depth, unicode: !options.ascii)
    return ExplorerScreen.render(snapshot: worker.snapshot(), state: state, look: look, width: width, height: height)
  }
}

/// Entry points of the explorer.
public enum Explorer {
  /// Runs the interactive explorer until `q` (or a signal). The terminal is restored on every exit path.
  public static func run(_ options: ExplorerOptions) throws {
    let term = try Terminal(requestedDepth: options.colors, environment: options.environment)
    defer { term.restore() }
    let session = ExplorerSession(options: options)
    // First frame before any data is loaded: start-up never waits for the reference file.
    term.present(session.frame(width: Int(term.width), height: Int(term.height), depth: term.depth))
    session.start()
    defer { session.worker.stop() }
    var shownVersion = -1
    var dirty = true
    while true {
      let v = session.worker.snapshot().version
      if dirty || v != shownVersion {
        term.present(session.frame(width: Int(term.width), height: Int(term.height), depth: term.depth))
        shownVersion = v
        dirty = false
      }
      guard let key = term.readKey(timeoutMs: 40) else { continue }
      let r = session.handle(key)
      if r.contains(.quit) { break }
      dirty = true
    }
  }

  /// Runs `keys` without a terminal, waiting for the worker after each key, and returns the final frame.
  /// `depth` `.none` draws heatmaps with shade glyphs so that plain text stays meaningful.
  public static func script(_ options: ExplorerOptions, keys: [Key], width: Int, height: Int, depth: ColorDepth)
    -> Canvas
  {
    let session = ExplorerSession(options: options)
    session.start()
    defer { session.worker.stop() }
    session.worker.waitIdle()
    for k in keys {
      if session.handle(k).contains(.quit) { break }
      session.worker.waitIdle()
    }
    return session.frame(width: width, height: height, depth: depth)
  }
}
