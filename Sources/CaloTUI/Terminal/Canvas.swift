// The in-memory screen every widget draws into: a grid of cells (one Unicode scalar, colours,
// attributes). Terminal diffs canvases to paint only what changed; tests and `--snapshot` turn a
// canvas into plain or ANSI text. Knows nothing about curses. Every glyph is one column wide.

/// Text attributes of a cell.
public struct CellAttributes: OptionSet, Hashable, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }
  public static let bold = CellAttributes(rawValue: 1)
  public static let reverse = CellAttributes(rawValue: 2)
  public static let underline = CellAttributes(rawValue: 4)
  public static let dim = CellAttributes(rawValue: 8)
}

/// Foreground, background and attributes of a cell.
public struct CellStyle: Hashable, Sendable {
  public var fg: TermColor
  public var bg: TermColor
  public var attributes: CellAttributes

  public init(fg: TermColor = .terminalDefault, bg: TermColor = .terminalDefault, attributes: CellAttributes = []) {
    self.fg = fg
    self.bg = bg
    self.attributes = attributes
  }

  public static let plain = CellStyle()
}

/// One terminal cell.
public struct Cell: Hashable, Sendable {
  public var glyph: Unicode.Scalar
  public var style: CellStyle

  public init(_ glyph: Unicode.Scalar = " ", _ style: CellStyle = .plain) {
    self.glyph = glyph
    self.style = style
  }
}

/// A rectangle in cell coordinates (x to the right, y down).
public struct Rect: Hashable, Sendable {
  public var x, y, width, height: Int
  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = max(0, width)
    self.height = max(0, height)
  }
  public var maxX: Int { x + width }
  public var maxY: Int { y + height }
  /// The rectangle shrunk by `dx` columns and `dy` rows on each side.
  public func inset(_ dx: Int, _ dy: Int) -> Rect { Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy) }
}

/// A width × height grid of cells, row-major.
public struct Canvas: Equatable, Sendable {
  public let width: Int
  public let height: Int
  public private(set) var cells: [Cell]

  public init(width: Int, height: Int) {
    precondition(width >= 0 && height >= 0, "canvas \(width)x\(height)")
    self.width = width
    self.height = height
    cells = Array(repeating: Cell(), count: width * height)
  }

  public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

  /// The cell at (x, y); reading outside returns a blank cell, writing outside is ignored (clipping).
  public subscript(x: Int, y: Int) -> Cell {
    get { (x >= 0 && y >= 0 && x < width && y < height) ? cells[y * width + x] : Cell() }
    set { if x >= 0 && y >= 0 && x < width && y < height { cells[y * width + x] = newValue } }
  }

  /// Writes `text` from (x, y) on one line, clipped to `maxWidth` columns and the canvas.
  /// Returns the number of columns written. Scalars outside printable ranges become `?`.
  @discardableResult
  public mutating func put(_ text: String, x: Int, y: Int, style: CellStyle = .plain, maxWidth: Int? = nil) -> Int {
    let limit = maxWidth ?? (width - x)
    var col = 0
    for s in text.unicodeScalars {
      if col >= limit { break }
      let g: Unicode.Scalar = (s.value < 0x20 || (s.value >= 0x7f && s.value < 0xa0)) ? "?" : s
      self[x + col, y] = Cell(g, style)
      col += 1
    }
    return col
  }

  /// Fills `rect` with `glyph` in `style`.
  public mutating func fill(_ rect: Rect, glyph: Unicode.Scalar = " ", style: CellStyle = .plain) {
    for yy in rect.y..<rect.maxY { for xx in rect.x..<rect.maxX { self[xx, yy] = Cell(glyph, style) } }
  }

  /// Changes only the style of the cells in `rect` (keeps glyphs), e.g. to highlight a row.
  public mutating func restyle(_ rect: Rect, style: CellStyle) {
    for yy in rect.y..<rect.maxY { for xx in rect.x..<rect.maxX { self[xx, yy].style = style } }
  }

  /// Row `y` as plain text with trailing spaces removed.
  public func line(_ y: Int) -> String {
    var s = String.UnicodeScalarView()
    for x in 0..<width { s.append(cells[y * width + x].glyph) }
    var str = String(s)
    while str.last == " " { str.removeLast() }
    return str
  }

  /// The whole canvas as plain text, one line per row (trailing spaces removed), ending in a newline.
  public func text() -> String { (0..<height).map(line).joined(separator: "\n") + "\n" }

  /// The canvas as text with ANSI SGR colour/attribute sequences at `depth`, one line per row; each
  /// line ends with a reset so the text can be `cat` to any terminal.
  public func ansiText(depth: ColorDepth) -> String {
    var out = ""
    for y in 0..<height {
      var current: CellStyle? = nil
      for x in 0..<width {
        let c = cells[y * width + x]
        if c.style != current {
          var params = ["0"]
          if c.style.attributes.contains(.bold) { params.append("1") }
          if c.style.attributes.contains(.dim) { params.append("2") }
          if c.style.attributes.contains(.underline) { params.append("4") }
          if c.style.attributes.contains(.reverse) { params.append("7") }
          for p in [c.style.fg.sgr(background: false, depth: depth), c.style.bg.sgr(background: true, depth: depth)]
          where !p.isEmpty { params.append(p) }
          out += "\u{1b}[" + params.joined(separator: ";") + "m"
          current = c.style
        }
        out.unicodeScalars.append(c.glyph)
      }
      out += "\u{1b}[0m\n"
    }
    return out
  }

  /// Indices (y·width + x) of cells that differ from `previous` (all of them if the sizes differ).
  public func changedCells(since previous: Canvas?) -> [Int] {
    guard let previous, previous.width == width, previous.height == height else { return Array(cells.indices) }
    return cells.indices.filter { cells[$0] != previous.cells[$0] }
  }
}
