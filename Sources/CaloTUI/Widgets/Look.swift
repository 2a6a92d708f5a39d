// How to draw: the theme, the colour depth and whether Unicode glyphs may be used. Widgets ask the
// Look for styles and glyphs so that monochrome and --ascii output stay readable.

/// Drawing capabilities and theme for one frame.
public struct Look: Sendable {
  public var theme: Theme
  public var depth: ColorDepth
  /// False in `--ascii` mode: only printable ASCII glyphs are used.
  public var unicode: Bool

  public init(theme: Theme, depth: ColorDepth, unicode: Bool) {
    self.theme = theme
    self.depth = depth
    self.unicode = unicode
  }

  public var hasColor: Bool { depth != .none }

  /// Style of a UI role; without colour, roles that rely on a background become reverse video.
  public func style(_ role: UIRole) -> CellStyle {
    guard hasColor else { return Theme.fallback[role] ?? .plain }
    return theme.style(role)
  }

  /// Style of a heatmap value at map position `t`.
  public func mapStyle(_ t: Double) -> CellStyle { CellStyle(fg: .rgb(theme.color(at: t))) }

  /// Glyph set for the current mode.
  public var glyphs: Glyphs { unicode ? .unicode : .ascii }
}

/// The glyphs widgets use, in a Unicode and an ASCII variant.
public struct Glyphs: Sendable {
  public var upperHalf: Unicode.Scalar
  public var lowerHalf: Unicode.Scalar
  public var full: Unicode.Scalar
  /// Shades from faint to full for heatmaps without colour.
  public var shades: [Unicode.Scalar]
  /// Inside a layer outline but below threshold, without colour.
  public var emptyVoxel: Unicode.Scalar
  /// Eight bar heights (1/8 … 8/8) for sparklines and vertical bars.
  public var bars: [Unicode.Scalar]
  public var horizontal: Unicode.Scalar
  public var vertical: Unicode.Scalar
  public var marker: Unicode.Scalar
  public var sliderKnob: Unicode.Scalar
  public var sliderTrack: Unicode.Scalar
  public var ellipsis: String
  public var separator: String

  public static let unicode = Glyphs(
    upperHalf: "▀", lowerHalf: "▄", full: "█", shades: ["░", "▒", "▓", "█"], emptyVoxel: "·",
    bars: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], horizontal: "─", vertical: "│", marker: "◆",
    sliderKnob: "●", sliderTrack: "━", ellipsis: "…", separator: " │ ")
  public static let ascii = Glyphs(
    upperHalf: "#", lowerHalf: "#", full: "#", shades: [":", "-", "=", "+", "*", "#", "%", "@"], emptyVoxel: ".",
    bars: [".", ".", ":", ":", "+", "+", "#", "#"], horizontal: "-", vertical: "|", marker: "*",
    sliderKnob: "O", sliderTrack: "=", ellipsis: "...", separator: " | ")
}
