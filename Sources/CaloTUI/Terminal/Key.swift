// Keys as the explorer sees them, independent of curses key codes, and the token names used by
// `--keys` scripts ("g g n G", "Left", "Enter", ...).

/// A key press or terminal event.
public enum Key: Hashable, Sendable {
  case char(Character)
  case up, down, left, right, pageUp, pageDown, home, end
  case enter, escape, backspace, tab
  /// The terminal changed size (curses KEY_RESIZE).
  case resize

  /// Parses one `--keys` token: a single character, or a name such as `Left`, `Enter`, `Esc`,
  /// `Space`, `Backspace`, `PgUp` (case-insensitive). Nil for an unknown name.
  public init?(token: String) {
    if token.count == 1 {
      self = .char(token.first!)
      return
    }
    switch token.lowercased() {
    case "up": self = .up
    case "down": self = .down
    case "left": self = .left
    case "right": self = .right
    case "pgup", "pageup": self = .pageUp
    case "pgdn", "pagedown": self = .pageDown
    case "home": self = .home
    case "end": self = .end
    case "enter", "return": self = .enter
    case "esc", "escape": self = .escape
    case "backspace", "bs": self = .backspace
    case "tab": self = .tab
    case "space": self = .char(" ")
    case "resize": self = .resize
    default: return nil
    }
  }

  /// Parses a whole `--keys` script (tokens separated by spaces).
  /// - Throws: `ExplorerError.badKey` naming the first unknown token.
  public static func parseScript(_ script: String) throws -> [Key] {
    try script.split(separator: " ", omittingEmptySubsequences: true).map { tok in
      guard let k = Key(token: String(tok)) else { throw ExplorerError.badKey(String(tok)) }
      return k
    }
  }

  /// How the help screen and function bar name this key (`unicode: false`: ASCII names only).
  public func label(unicode: Bool) -> String {
    guard !unicode else { return label }
    switch self {
    case .up: return "Up"
    case .down: return "Down"
    case .left: return "Left"
    case .right: return "Right"
    default: return label
    }
  }

  /// How the help screen and function bar name this key.
  public var label: String {
    switch self {
    case .char(" "): return "Space"
    case .char(let c): return String(c)
    case .up: return "↑"
    case .down: return "↓"
    case .left: return "←"
    case .right: return "→"
    case .pageUp: return "PgUp"
    case .pageDown: return "PgDn"
    case .home: return "Home"
    case .end: return "End"
    case .enter: return "Enter"
    case .escape: return "Esc"
    case .backspace: return "Bksp"
    case .tab: return "Tab"
    case .resize: return "resize"
    }
  }
}
