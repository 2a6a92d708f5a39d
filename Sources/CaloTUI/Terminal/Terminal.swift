// The only file that talks to ncursesw. It opens the terminal, maps key codes to `Key`, turns RGB
// cell colours into colour pairs for the terminal's depth (direct colour, 256, 16, 8 or none), and
// paints a Canvas by writing only the cells that differ from the previous frame. It restores the
// terminal on `restore()`, on deinit, and on SIGINT/SIGTERM/SIGHUP.

import CNcurses
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The interactive terminal. Use from the UI thread only.
public final class Terminal {
  /// Current size in cells.
  public private(set) var width: Int32 = 0
  public private(set) var height: Int32 = 0
  /// Colour depth used for painting (terminal capability, `--colors`, NO_COLOR).
  public let depth: ColorDepth
  /// Cells written by the last `present` (for tests of the diffing and for `bench`-style counters).
  public private(set) var lastPaintedCells = 0

  private let win: UnsafeMutablePointer<WINDOW>
  private var previous: Canvas?
  private var pairs: [PairKey: Int32] = [:]
  private var nextPair: Int32 = 1
  private let maxPairs: Int32
  private var restored = false

  private struct PairKey: Hashable {
    var fg: Int32
    var bg: Int32
  }

  /// Opens the terminal on stdin/stdout.
  /// - Throws: `ExplorerError.noTerminal` when stdin/stdout is not a terminal or TERM is unusable.
  public init(requestedDepth: ColorDepth?, environment: [String: String]) throws {
    guard isatty(0) == 1, isatty(1) == 1 else { throw ExplorerError.noTerminal("stdin/stdout is not a terminal") }
    setlocale(LC_ALL, "")  // before curses starts, or UTF-8 glyphs come out as bytes
    guard let out = fdopen(1, "w"), let inp = fdopen(0, "r"),
      newterm(nil, out, inp) != nil
    else {
      throw ExplorerError.noTerminal("TERM='\(environment["TERM"] ?? "")' is not in the terminfo database")
    }
    guard let w = calo_stdscr() else { throw ExplorerError.noTerminal("no standard screen") }
    win = w
    Terminal.installSignalHandlers()
    cbreak()
    noecho()
    nonl()
    keypad(w, true)
    curs_set(0)
    calo_set_escdelay(25)
    var terminalDepth = ColorDepth.none
    if has_colors() {
      start_color()
      use_default_colors()
      terminalDepth = ColorDepth(terminalColors: Int(calo_COLORS()))
    }
    depth = ColorDepth.resolve(terminal: terminalDepth, requested: requestedDepth, environment: environment)
    maxPairs = calo_COLOR_PAIRS()
    updateSize()
  }

  deinit { restore() }

  /// Leaves curses mode and gives the terminal back (idempotent).
  public func restore() {
    guard !restored else { return }
    restored = true
    curs_set(1)
    endwin()
  }

  /// Re-reads the terminal size (after `Key.resize`) and forces a full repaint.
  public func updateSize() {
    var y: Int32 = 0, x: Int32 = 0
    calo_getmaxyx(win, &y, &x)
    height = y
    width = x
    previous = nil
  }

  /// Waits up to `timeoutMs` for a key; nil on timeout.
  public func readKey(timeoutMs: Int32) -> Key? {
    wtimeout(win, timeoutMs)
    var ch: wint_t = 0
    let r = wget_wch(win, &ch)
    if r == ERR { return nil }
    let code = Int32(ch)
    if r == KEY_CODE_YES {
      switch code {
      case KEY_UP: return .up
      case KEY_DOWN: return .down
      case KEY_LEFT: return .left
      case KEY_RIGHT: return .right
      case KEY_PPAGE: return .pageUp
      case KEY_NPAGE: return .pageDown
      case KEY_HOME: return .home
      case KEY_END: return .end
      case KEY_ENTER: return .enter
      case KEY_BACKSPACE: return .backspace
      case KEY_RESIZE:
        updateSize()
        return .resize
      default: return nil
      }
    }
    switch code {
    case 10, 13: return .enter
    case 27: return .escape
    case 8, 127: return .backspace
    case 9: return .tab
    default:
      guard let s = Unicode.Scalar(UInt32(ch)) else { return nil }
      return .char(Character(s))
    }
  }

  /// Paints `canvas`, writing only cells that changed since the last call.
  public func present(_ canvas: Canvas) {
    var changed = canvas.changedCells(since: previous)
    // Colour pairs are a finite resource: when this frame needs more than are free, start over.
    if depth != .none {
      var needed = Set<PairKey>()
      for i in changed { needed.insert(pairKey(canvas.cells[i].style)) }
      let missing = needed.filter { pairs[$0] == nil }.count
      if Int32(missing) + nextPair >= maxPairs {
        pairs.removeAll()
        nextPair = 1
        changed = Array(canvas.cells.indices)
      }
    }
    if previous == nil || previous?.width != canvas.width || previous?.height != canvas.height { werase(win) }
    var cc = cchar_t()
    var wstr: [wchar_t] = [0, 0]
    for i in changed {
      let cell = canvas.cells[i]
      var pair = pairNumber(cell.style)
      wstr[0] = wchar_t(bitPattern: cell.glyph.value)
      _ = setcchar(&cc, wstr, attributes(cell.style.attributes), 0, &pair)
      _ = mvwadd_wch(win, Int32(i / canvas.width), Int32(i % canvas.width), &cc)
    }
    wrefresh(win)
    lastPaintedCells = changed.count
    previous = canvas
  }

  private func colorNumber(_ c: TermColor) -> Int32 {
    guard case .rgb(let rgb) = c else { return -1 }
    switch depth {
    case .none: return -1
    case .trueColor: return Int32(rgb.r) << 16 | Int32(rgb.g) << 8 | Int32(rgb.b)
    default: return Int32(rgb.paletteIndex(depth) ?? -1)
    }
  }

  private func pairKey(_ s: CellStyle) -> PairKey { PairKey(fg: colorNumber(s.fg), bg: colorNumber(s.bg)) }

  private func pairNumber(_ s: CellStyle) -> Int32 {
    guard depth != .none else { return 0 }
    let k = pairKey(s)
    if k.fg == -1 && k.bg == -1 { return 0 }
    if let p = pairs[k] { return p }
    guard nextPair < maxPairs, init_extended_pair(nextPair, k.fg, k.bg) != ERR else { return 0 }
    pairs[k] = nextPair
    nextPair += 1
    return nextPair - 1
  }

  private func attributes(_ a: CellAttributes) -> attr_t {
    var r = attr_t(0)
    if a.contains(.bold) { r |= calo_A_BOLD() }
    if a.contains(.reverse) { r |= calo_A_REVERSE() }
    if a.contains(.underline) { r |= calo_A_UNDERLINE() }
    if a.contains(.dim) { r |= calo_A_DIM() }
    return r
  }

  /// On SIGINT/SIGTERM/SIGHUP: leave curses mode so the shell is usable, then exit 128+signal.
  private static func installSignalHandlers() {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
      signal(sig) { s in
        endwin()
        _exit(128 + s)
      }
    }
  }
}
