// The one key-binding table of the explorer. Key handling and the help screen are both generated
// from it, so a binding cannot exist without its help line. Handling only changes ViewState and
// returns a Reaction; it never touches the terminal or the data.

import CaloGeometry

/// Everything a key can do.
public enum Action: CaseIterable, Sendable {
  case generateOne, generateBatch, toggleNormalisation, resetRunning
  case nextDataset, previousDataset, lowerEnergy, higherEnergy, typeEnergy
  case stepToken, finishSequence, encodeReference, previousCode, nextCode, previousCodeBlock, nextCodeBlock
  case previousLayer, nextLayer, nextScreen, showShower, showGrid, showProfile, showMetrics, showCodebook, showTokens
  case cycleSubject, rowUp, rowDown, nextTheme, help, quit
}

/// One line of the binding table.
public struct KeyBinding: Sendable {
  public var keys: [Key]
  public var action: Action
  /// Help-screen section.
  public var section: String
  public var help: String
  /// Help line shared by consecutive bindings (one line with the first key of each), e.g. "[ ]".
  public var group: String?
  /// Short label for the function bar; nil keeps the binding out of the bar.
  public var bar: String?

  public init(keys: [Key], action: Action, section: String, help: String, group: String? = nil, bar: String?) {
    self.keys = keys
    self.action = action
    self.section = section
    self.help = help
    self.group = group
    self.bar = bar
  }
}

/// The explorer's key bindings and the key handler generated from them.
public enum KeyBindings {
  /// Showers per `G` batch.
  public static let batchSize = 50
  /// Codes per `<` / `>` jump on the codebook screen.
  public static let codeBlock = 32

  public static let table: [KeyBinding] = [
    KeyBinding(keys: [.char("g")], action: .generateOne, section: "Generate",
               help: "generate one shower", bar: "Gen"),
    KeyBinding(keys: [.char("G")], action: .generateBatch, section: "Generate",
               help: "a batch of \(batchSize) showers", bar: "Batch"),
    KeyBinding(keys: [.char("n")], action: .toggleNormalisation, section: "Generate",
               help: "global / layer-wise model", bar: "Norm"),
    KeyBinding(keys: [.char("x")], action: .resetRunning, section: "Generate",
               help: "clear averages and metrics", bar: nil),
    KeyBinding(keys: [.char("d")], action: .nextDataset, section: "Data",
               help: "next dataset", group: "next / previous dataset", bar: "Data"),
    KeyBinding(keys: [.char("D")], action: .previousDataset, section: "Data", help: "previous dataset",
               group: "next / previous dataset", bar: nil),
    KeyBinding(keys: [.left, .char("-")], action: .lowerEnergy, section: "Data",
               help: "lower energy", group: "energy down / up (also - +)", bar: nil),
    KeyBinding(keys: [.right, .char("+")], action: .higherEnergy, section: "Data",
               help: "higher energy", group: "energy down / up (also - +)", bar: "Energy"),
    KeyBinding(keys: [.char("e")], action: .typeEnergy, section: "Data",
               help: "type energy in GeV (Enter)", bar: nil),
    KeyBinding(keys: [.char("s")], action: .stepToken, section: "Model",
               help: "step by step: draw one token", bar: nil),
    KeyBinding(keys: [.char("f")], action: .finishSequence, section: "Model",
               help: "finish the step-by-step shower", bar: nil),
    KeyBinding(keys: [.char("r")], action: .encodeReference, section: "Model",
               help: "encode the reference shower", bar: nil),
    KeyBinding(keys: [.char(",")], action: .previousCode, section: "Model", help: "previous code",
               group: "select code -1 +1 -\(codeBlock) +\(codeBlock)", bar: nil),
    KeyBinding(keys: [.char(".")], action: .nextCode, section: "Model", help: "next code",
               group: "select code -1 +1 -\(codeBlock) +\(codeBlock)", bar: nil),
    KeyBinding(keys: [.char("<")], action: .previousCodeBlock, section: "Model", help: "code -\(codeBlock)",
               group: "select code -1 +1 -\(codeBlock) +\(codeBlock)", bar: nil),
    KeyBinding(keys: [.char(">")], action: .nextCodeBlock, section: "Model", help: "code +\(codeBlock)",
               group: "select code -1 +1 -\(codeBlock) +\(codeBlock)", bar: nil),
    KeyBinding(keys: [.char("["), .pageUp], action: .previousLayer, section: "View", help: "previous layer",
               group: "layer down / up (PgUp PgDn)", bar: nil),
    KeyBinding(keys: [.char("]"), .pageDown], action: .nextLayer, section: "View", help: "next layer",
               group: "layer down / up (PgUp PgDn)", bar: "Layer"),
    KeyBinding(keys: [.char("v"), .tab], action: .nextScreen, section: "View",
               help: "next screen", bar: "View"),
    KeyBinding(keys: [.char("1")], action: .showShower, section: "View", help: "screen: shower, reference, averages",
               group: "shower, all layers, profile", bar: nil),
    KeyBinding(keys: [.char("2")], action: .showGrid, section: "View", help: "screen: all layers (small multiples)",
               group: "shower, all layers, profile", bar: nil),
    KeyBinding(keys: [.char("3")], action: .showProfile, section: "View", help: "screen: longitudinal profile",
               group: "shower, all layers, profile", bar: nil),
    KeyBinding(keys: [.char("4")], action: .showMetrics, section: "View", help: "screen: running metrics, histograms",
               group: "metrics, codebook, tokens", bar: nil),
    KeyBinding(keys: [.char("5")], action: .showCodebook, section: "View", help: "screen: codebook usage, footprint",
               group: "metrics, codebook, tokens", bar: nil),
    KeyBinding(keys: [.char("6")], action: .showTokens, section: "View", help: "screen: token sequence",
               group: "metrics, codebook, tokens", bar: nil),
    KeyBinding(keys: [.char("c")], action: .cycleSubject, section: "View",
               help: "subject of layers/profile", bar: nil),
    KeyBinding(keys: [.up, .char("k")], action: .rowUp, section: "View", help: "previous metrics row",
               group: "metrics row up / down (k j)", bar: nil),
    KeyBinding(keys: [.down, .char("j")], action: .rowDown, section: "View", help: "next metrics row",
               group: "metrics row up / down (k j)", bar: nil),
    KeyBinding(keys: [.char("t")], action: .nextTheme, section: "View", help: "next colour theme", bar: "Theme"),
    KeyBinding(keys: [.char("?"), .char("h")], action: .help, section: "View", help: "show or hide this help", bar: "Help"),
    KeyBinding(keys: [.char("q")], action: .quit, section: "View", help: "quit (restores the terminal)", bar: "Quit"),
  ]

  /// The binding for `key`, if any.
  public static func binding(for key: Key) -> KeyBinding? { table.first { $0.keys.contains(key) } }

  /// Applies `key` to `state`. `layerCount` is the number of relevant layers of the current dataset,
  /// `metricRows` the rows of the metrics table, `codeCount` the codebook size of the active model.
  public static func handle(_ key: Key, state: inout ViewState, layerCount: Int, metricRows: Int,
                            codeCount: Int = 1024) -> Reaction
  {
    if key == .resize { return .redraw }
    if state.energyInput != nil { return handleTyping(key, state: &state) }
    if state.showHelp {
      // Any key closes the help (htop behaviour); q still quits.
      state.showHelp = false
      return key == .char("q") ? [.quit] : .redraw
    }
    state.message = nil
    guard let b = binding(for: key) else {
      state.message = "key \(key.label) does nothing here; press ? for help"
      return .redraw
    }
    return perform(b.action, state: &state, layerCount: layerCount, metricRows: metricRows, codeCount: codeCount)
  }

  /// Performs `action` (also used by tests and scripts).
  public static func perform(_ action: Action, state: inout ViewState, layerCount: Int, metricRows: Int,
                             codeCount: Int = 1024) -> Reaction
  {
    let scale = EnergyScale(kind: state.dataset)
    switch action {
    case .generateOne: return [.generateOne, .redraw]
    case .generateBatch: return [.generateBatch, .redraw]
    case .resetRunning: return [.resetRunning, .redraw]
    case .toggleNormalisation:
      state.normalisation = state.normalisation.toggled
      return [.contextChanged, .redraw]
    case .nextDataset, .previousDataset:
      guard state.datasets.count > 1, let i = state.datasets.firstIndex(of: state.dataset) else {
        state.message = "only \(state.dataset.rawValue) is available (--reference fixes the dataset)"
        return .redraw
      }
      let n = state.datasets.count
      state.dataset = state.datasets[(i + (action == .nextDataset ? 1 : n - 1)) % n]
      state.energyMeV = EnergyScale(kind: state.dataset).defaultMeV
      state.layerPosition = 0
      state.metricRow = 0
      return [.contextChanged, .redraw]
    case .lowerEnergy, .higherEnergy:
      let e = scale.step(state.energyMeV, by: action == .higherEnergy ? 1 : -1)
      guard e != state.energyMeV else { return .redraw }
      state.energyMeV = e
      return [.contextChanged, .redraw]
    case .typeEnergy:
      state.energyInput = ""
      return .redraw
    case .previousLayer, .nextLayer:
      guard layerCount > 0 else { return .redraw }
      state.layerPosition = (state.layerPosition + (action == .nextLayer ? 1 : layerCount - 1)) % layerCount
      return .redraw
    case .nextScreen:
      let all = ScreenKind.allCases
      state.screen = all[(all.firstIndex(of: state.screen)! + 1) % all.count]
      return .redraw
    case .showShower: state.screen = .shower; return .redraw
    case .showGrid: state.screen = .grid; return .redraw
    case .showProfile: state.screen = .profile; return .redraw
    case .showMetrics: state.screen = .metrics; return .redraw
    case .showCodebook: state.screen = .codebook; return .redraw
    case .showTokens: state.screen = .tokens; return .redraw
    case .stepToken:
      state.screen = .tokens
      return [.stepToken, .redraw]
    case .finishSequence:
      state.screen = .tokens
      return [.finishSequence, .redraw]
    case .encodeReference:
      state.screen = .tokens
      return [.encodeReference, .redraw]
    case .previousCode, .nextCode, .previousCodeBlock, .nextCodeBlock:
      let k = max(codeCount, 1)
      let d = [Action.previousCode: -1, .nextCode: 1, .previousCodeBlock: -codeBlock, .nextCodeBlock: codeBlock][action]!
      state.selectedCode = ((state.selectedCode + d) % k + k) % k
      state.screen = .codebook
      return .redraw
    case .cycleSubject:
      state.subject = Subject(rawValue: (state.subject.rawValue + 1) % Subject.allCases.count)!
      return .redraw
    case .rowUp, .rowDown:
      guard metricRows > 0 else { return .redraw }
      state.metricRow = min(max(state.metricRow + (action == .rowDown ? 1 : -1), 0), metricRows - 1)
      return .redraw
    case .nextTheme:
      state.themeIndex = (state.themeIndex + 1) % max(state.themeCount, 1)
      return [.themeChanged, .redraw]
    case .help:
      state.showHelp = true
      return .redraw
    case .quit:
      return .quit
    }
  }

  private static func handleTyping(_ key: Key, state: inout ViewState) -> Reaction {
    var text = state.energyInput ?? ""
    switch key {
    case .escape:
      state.energyInput = nil
      return .redraw
    case .backspace:
      if !text.isEmpty { text.removeLast() }
    case .enter:
      state.energyInput = nil
      do {
        state.energyMeV = try EnergyScale(kind: state.dataset).typed(text)
        state.message = nil
        return [.contextChanged, .redraw]
      } catch {
        state.message = "\(error)"
        return .redraw
      }
    case .char(let c) where (c.isASCII && c.isNumber) || c == "." || c == "e" || c == "E":
      if text.count < 12 { text.append(c) }
    default:
      break
    }
    state.energyInput = text
    return .redraw
  }
}
