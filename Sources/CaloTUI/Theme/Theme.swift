// Explorer themes: a colour map for heatmaps plus the colours of the UI roles, read from small text
// files in themes/. The format (documented in themes/README.md):
//
//   calovq-theme 1                      first non-comment line: magic word and format version
//   name = viridis                      required; must match the file name
//   map = #440154 #3b528b ... #fde725   required; 2–64 evenly spaced stops, low to high
//   ui.header = #000000 on #87d7ff bold optional per role: [fg] [on bg] [bold|dim|reverse|underline]
//
// `default` stands for the terminal's own colour. Unknown keys, bad colours and duplicates are errors
// that name the file and line.

import Foundation

/// The UI roles a theme colours.
public enum UIRole: String, CaseIterable, Sendable {
  /// Ordinary text.
  case text
  /// Secondary text (units, hints).
  case dim
  /// The top header bar.
  case header
  /// Panel titles.
  case title
  /// Selected item (picker entry, table row).
  case highlight
  /// Key names in the function bar and help.
  case key
  /// Labels next to keys in the function bar.
  case label
  /// Warnings and errors.
  case warning
  /// Voxels inside a layer's outline that are below the readout threshold.
  case empty
  /// Marks and second series in charts (reference values).
  case accent
}

/// A parsed theme.
public struct Theme: Equatable, Sendable {
  public var name: String
  public var description: String
  /// Colour-map stops, evenly spaced from 0 (lowest energy) to 1 (highest).
  public var stops: [RGB]
  /// Style per UI role (roles a file leaves out get `Theme.fallback`).
  public var ui: [UIRole: CellStyle]

  /// Colour of the map at `t` in [0, 1] (clamped), linear between neighbouring stops.
  public func color(at t: Double) -> RGB {
    let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
    let i = min(Int(x), stops.count - 2)
    return RGB.mix(stops[i], stops[i + 1], x - Double(i))
  }

  /// Style of a role.
  public func style(_ role: UIRole) -> CellStyle { ui[role] ?? Theme.fallback[role] ?? .plain }

  /// Role styles used when a file omits a role.
  public static let fallback: [UIRole: CellStyle] = [
    .text: CellStyle(),
    .dim: CellStyle(attributes: .dim),
    .header: CellStyle(attributes: [.reverse, .bold]),
    .title: CellStyle(attributes: .bold),
    .highlight: CellStyle(attributes: .reverse),
    .key: CellStyle(attributes: [.reverse, .bold]),
    .label: CellStyle(),
    .warning: CellStyle(attributes: .bold),
    .empty: CellStyle(),
    .accent: CellStyle(attributes: .bold),
  ]
}

/// A theme file that cannot be used.
public struct ThemeError: Error, CustomStringConvertible, Equatable {
  public var path: String
  public var line: Int
  public var message: String
  public var description: String {
    "invalid theme file '\(path)'" + (line > 0 ? " line \(line)" : "") + ": \(message). "
      + "See themes/README.md for the format."
  }
}

extension Theme {
  /// Parses the text of a theme file. `path` is used in error messages and, when it ends in
  /// `.theme`, its base name must equal the `name` key.
  public static func parse(_ text: String, path: String) throws -> Theme {
    func fail(_ line: Int, _ msg: String) -> ThemeError { ThemeError(path: path, line: line, message: msg) }
    var sawMagic = false
    var name: String?
    var description = ""
    var stops: [RGB]?
    var ui: [UIRole: CellStyle] = [:]
    var seen = Set<String>()
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let n = i + 1
      // A '#' also starts colours: only a '#' that is not a colour starts a comment.
      let content = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
      if content.isEmpty { continue }
      if !sawMagic {
        let parts = content.split(separator: " ")
        guard parts.count == 2, parts[0] == "calovq-theme" else {
          throw fail(n, "the first line must be 'calovq-theme 1'")
        }
        guard parts[1] == "1" else { throw fail(n, "format version \(parts[1]) is not supported (only 1)") }
        sawMagic = true
        continue
      }
      guard let eq = content.firstIndex(of: "=") else { throw fail(n, "expected 'key = value', got '\(content)'") }
      let key = content[..<eq].trimmingCharacters(in: .whitespaces)
      let value = content[content.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      guard !seen.contains(key) else { throw fail(n, "'\(key)' is set twice") }
      seen.insert(key)
      switch key {
      case "name":
        guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
          throw fail(n, "name must be letters, digits, '-' or '_'")
        }
        name = value
      case "description":
        description = value
      case "map":
        let toks = value.split(separator: " ", omittingEmptySubsequences: true)
        var s: [RGB] = []
        for t in toks {
          guard let c = RGB(hex: String(t)) else { throw fail(n, "'\(t)' is not a colour; write #rrggbb") }
          s.append(c)
        }
        guard (2...64).contains(s.count) else { throw fail(n, "map needs 2 to 64 colour stops, got \(s.count)") }
        stops = s
      default:
        guard key.hasPrefix("ui."), let role = UIRole(rawValue: String(key.dropFirst(3))) else {
          throw fail(n, "unknown key '\(key)'; use name, description, map or ui.<role> with role one of "
            + UIRole.allCases.map(\.rawValue).joined(separator: ", "))
        }
        ui[role] = try parseStyle(value) { fail(n, $0) }
      }
    }
    guard sawMagic else { throw fail(0, "the file is empty; it must start with 'calovq-theme 1'") }
    guard let name else { throw fail(0, "missing 'name = ...'") }
    guard let stops else { throw fail(0, "missing 'map = #rrggbb #rrggbb ...'") }
    if path.hasSuffix(".theme") {
      let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
      guard base == name else { throw fail(0, "name '\(name)' differs from the file name '\(base).theme'") }
    }
    return Theme(name: name, description: description, stops: stops, ui: ui)
  }

  /// Reads and parses a theme file.
  public static func load(path: String) throws -> Theme {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ThemeError(path: path, line: 0, message: "cannot read the file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw ThemeError(path: path, line: 0, message: "the file is not UTF-8 text")
    }
    return try parse(text, path: path)
  }

  private static func stripComment(_ line: String) -> String {
    var prevIsSpace = true
    for (i, ch) in line.enumerated() {
      if ch == "#" && prevIsSpace {
        // "#rrggbb" is a colour, anything else after whitespace is a comment.
        let rest = line.dropFirst(i)
        let hex = rest.prefix(7)
        let isColour = hex.count == 7 && hex.dropFirst().allSatisfy(\.isHexDigit)
          && (rest.count == 7 || rest.dropFirst(7).first == " ")
        if !isColour { return String(line.prefix(i)) }
      }
      prevIsSpace = ch == " " || ch == "\t"
    }
    return line
  }

  private static func parseStyle(_ value: String, fail: (String) -> ThemeError) throws -> CellStyle {
    var style = CellStyle()
    var expectBackground = false
    var sawForeground = false
    for tok in value.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
      func colour() throws -> TermColor {
        if tok == "default" { return .terminalDefault }
        guard let c = RGB(hex: tok) else { throw fail("'\(tok)' is not a colour (#rrggbb or default)") }
        return .rgb(c)
      }
      switch tok {
      case "on":
        guard !expectBackground else { throw fail("'on' twice") }
        expectBackground = true
      case "bold": style.attributes.insert(.bold)
      case "dim": style.attributes.insert(.dim)
      case "reverse": style.attributes.insert(.reverse)
      case "underline": style.attributes.insert(.underline)
      default:
        if expectBackground {
          style.bg = try colour()
          expectBackground = false
        } else {
          guard !sawForeground else { throw fail("two foreground colours; write 'FG on BG'") }
          style.fg = try colour()
          sawForeground = true
        }
      }
    }
    if expectBackground { throw fail("'on' must be followed by a colour") }
    return style
  }
}
