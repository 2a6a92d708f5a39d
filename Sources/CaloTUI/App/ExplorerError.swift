// Errors the explorer reports to the user; each message says what is wrong and what to do.

/// A problem starting or scripting the explorer.
public enum ExplorerError: Error, CustomStringConvertible, Equatable {
  case badKey(String)
  case badSize(String)
  case terminalTooSmall(width: Int, height: Int)
  case noTerminal(String)
  case unknownTheme(name: String, available: [String])
  case noThemes(searched: [String])
  case badEnergy(String)

  public var description: String {
    switch self {
    case let .badKey(t):
      return "unknown key '\(t)' in --keys; use single characters or Left, Right, Up, Down, Enter, Esc, Space, "
        + "Backspace, Tab, PgUp, PgDn, Home, End, separated by spaces."
    case let .badSize(s):
      return "bad --size '\(s)'; write COLSxROWS with at least 80x24, e.g. 100x30."
    case let .terminalTooSmall(w, h):
      return "the snapshot size \(w)x\(h) is below the 80x24 minimum; pass e.g. --size 100x30."
    case let .noTerminal(why):
      return "cannot open the terminal (\(why)). Run `calovq explore` in an interactive terminal, or use "
        + "--keys ... --snapshot FILE for a non-interactive render."
    case let .unknownTheme(name, available):
      return "no theme '\(name)'; available: \(available.joined(separator: ", ")). Theme files live in themes/NAME.theme."
    case let .noThemes(searched):
      return "no theme files found (searched \(searched.joined(separator: ", "))); pass --themes-dir DIR."
    case let .badEnergy(s):
      return "bad energy '\(s)'; give the incident energy in GeV: 1 to 1000 for ds2/ds3, 0.128 to 8389 for ds1 "
        + "(it snaps to the nearest of its 15 energies)."
    }
  }
}
