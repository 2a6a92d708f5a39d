// Colours as the explorer thinks of them (24-bit RGB or "the terminal's default") and their reduction
// to what a terminal can show: truecolour, the xterm 256 palette, 16 or 8 ANSI colours, or none.
// Pure Swift: used by Terminal (ncurses colour numbers) and by Canvas (ANSI text snapshots).

/// A 24-bit colour.
public struct RGB: Hashable, Sendable {
  public var r: UInt8
  public var g: UInt8
  public var b: UInt8

  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
    self.r = r
    self.g = g
    self.b = b
  }

  /// Parses `#rrggbb` (case-insensitive); nil for anything else.
  public init?(hex: String) {
    guard hex.count == 7, hex.first == "#", let v = UInt32(hex.dropFirst(), radix: 16) else { return nil }
    self.init(UInt8(v >> 16), UInt8((v >> 8) & 0xff), UInt8(v & 0xff))
  }

  /// `#rrggbb`.
  public var hex: String {
    let digits = Array("0123456789abcdef")
    return "#" + [r, g, b].map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }.joined()
  }

  /// Linear interpolation in sRGB space (good enough between the closely spaced stops of a colour map).
  public static func mix(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
    func m(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) + (Double(y) - Double(x)) * t).rounded()) }
    return RGB(m(a.r, b.r), m(a.g, b.g), m(a.b, b.b))
  }

  fileprivate func distance2(_ o: RGB) -> Int {
    // Weighted ("redmean"-free) squared distance; green counts most for perceived brightness.
    let dr = Int(r) - Int(o.r), dg = Int(g) - Int(o.g), db = Int(b) - Int(o.b)
    return 3 * dr * dr + 4 * dg * dg + 2 * db * db
  }
}

/// A cell colour: an RGB value or the terminal's own default foreground/background.
public enum TermColor: Hashable, Sendable {
  case terminalDefault
  case rgb(RGB)
}

/// How many colours the output can show. Ordered: `.none < .ansi8 < ... < .trueColor`.
public enum ColorDepth: Int, Comparable, CaseIterable, Sendable {
  case none = 0, ansi8, ansi16, xterm256, trueColor

  public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }

  /// Parses the `--colors` values: `none`, `8`, `16`, `256`, `truecolor` (also `24bit`).
  public init?(name: String) {
    switch name.lowercased() {
    case "none", "mono", "0": self = .none
    case "8": self = .ansi8
    case "16": self = .ansi16
    case "256": self = .xterm256
    case "truecolor", "truecolour", "24bit", "direct": self = .trueColor
    default: return nil
    }
  }

  /// Depth a terminal reporting `colors` (ncurses `COLORS`) supports; 2^24 means a direct-colour terminfo.
  public init(terminalColors colors: Int) {
    switch colors {
    case (1 << 24)...: self = .trueColor
    case 256...: self = .xterm256
    case 16...: self = .ansi16
    case 8...: self = .ansi8
    default: self = .none
    }
  }

  /// Depth to use given the terminal, the user's `--colors` choice and the `NO_COLOR` convention
  /// (https://no-color.org: any non-empty value disables colour).
  public static func resolve(terminal: ColorDepth, requested: ColorDepth?, environment: [String: String])
    -> ColorDepth
  {
    if let v = environment["NO_COLOR"], !v.isEmpty { return .none }
    guard let requested else { return terminal }
    return min(requested, terminal)
  }
}

/// Standard RGB values of the 16 ANSI colours (xterm defaults).
let ansi16Palette: [RGB] = [
  RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
  RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
  RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0), RGB(255, 255, 0),
  RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
]

private let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

/// RGB of xterm-256 palette entry `i`.
func xterm256RGB(_ i: Int) -> RGB {
  if i < 16 { return ansi16Palette[i] }
  if i >= 232 {
    let v = UInt8(8 + 10 * (i - 232))
    return RGB(v, v, v)
  }
  let k = i - 16
  return RGB(UInt8(cubeLevels[k / 36]), UInt8(cubeLevels[(k / 6) % 6]), UInt8(cubeLevels[k % 6]))
}

extension RGB {
  /// Nearest entry of the xterm 256-colour palette (6×6×6 cube or grey ramp; the 16 system colours
  /// are skipped because terminals redefine them).
  public var xterm256Index: Int {
    func nearestLevel(_ c: UInt8) -> Int {
      var best = 0
      for (i, l) in cubeLevels.enumerated() where abs(l - Int(c)) < abs(cubeLevels[best] - Int(c)) { best = i }
      return best
    }
    let cube = 16 + 36 * nearestLevel(r) + 6 * nearestLevel(g) + nearestLevel(b)
    let avg = (Int(r) + Int(g) + Int(b)) / 3
    let grey = 232 + max(0, min(23, (avg - 3) / 10))
    return distance2(xterm256RGB(grey)) < distance2(xterm256RGB(cube)) ? grey : cube
  }

  /// Nearest of the first `count` (8 or 16) ANSI colours.
  public func ansiIndex(count: Int) -> Int {
    var best = 0
    for i in 1..<count where distance2(ansi16Palette[i]) < distance2(ansi16Palette[best]) { best = i }
    return best
  }

  /// Palette index at `depth` (nil for truecolour and none).
  public func paletteIndex(_ depth: ColorDepth) -> Int? {
    switch depth {
    case .none, .trueColor: return nil
    case .ansi8: return ansiIndex(count: 8)
    case .ansi16: return ansiIndex(count: 16)
    case .xterm256: return xterm256Index
    }
  }
}

extension TermColor {
  /// SGR parameters selecting this colour as foreground (`background: false`) or background;
  /// empty at depth `.none`.
  func sgr(background: Bool, depth: ColorDepth) -> String {
    guard depth != .none else { return "" }
    guard case .rgb(let c) = self else { return background ? "49" : "39" }
    switch depth {
    case .none: return ""
    case .trueColor: return "\(background ? 48 : 38);2;\(c.r);\(c.g);\(c.b)"
    case .xterm256: return "\(background ? 48 : 38);5;\(c.xterm256Index)"
    case .ansi16:
      let i = c.ansiIndex(count: 16)
      return i < 8 ? "\((background ? 40 : 30) + i)" : "\((background ? 100 : 90) + i - 8)"
    case .ansi8: return "\((background ? 40 : 30) + c.ansiIndex(count: 8))"
    }
  }
}
