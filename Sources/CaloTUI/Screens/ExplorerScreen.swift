// The frame around every screen (header, dataset/energy picker, status line, function bar, help
// overlay, too-small message) and the dispatch to the screen bodies. Screens are functions of
// (snapshot, view state, look) that fill a Canvas; they never compute metrics or touch curses.

import CaloGeometry
import Foundation

public enum ExplorerScreen {
  /// Smallest usable terminal.
  public static let minWidth = 80
  public static let minHeight = 24

  /// Renders one frame of `width` × `height` cells.
  public static func render(snapshot s: ExplorerSnapshot, state: ViewState, look: Look, width: Int, height: Int)
    -> Canvas
  {
    var c = Canvas(width: width, height: height)
    guard width >= minWidth, height >= minHeight else {
      tooSmall(&c, look: look)
      return c
    }
    header(&c, s, state, look)
    picker(&c, state, look)
    let body = Rect(x: 0, y: 2, width: width, height: height - 4)
    if let err = s.error {
      message(&c, body.inset(2, 1), err, look.style(.warning))
    } else if s.geometry == nil || s.context?.dataset != state.dataset {
      message(&c, body.inset(2, 1), s.busy ?? "loading ...", look.style(.dim))
    } else {
      switch state.screen {
      case .shower: ShowerScreen.draw(&c, body, s, state, look)
      case .grid: GridScreen.draw(&c, body, s, state, look)
      case .profile: ProfileScreen.draw(&c, body, s, state, look)
      case .metrics: MetricsScreen.draw(&c, body, s, state, look)
      case .codebook: CodebookScreen.draw(&c, body, s, state, look)
      case .tokens: TokenScreen.draw(&c, body, s, state, look)
      }
    }
    status(&c, y: height - 2, s, state, look)
    Charts.functionBar(&c, y: height - 1, look: look)
    if state.showHelp { HelpScreen.draw(&c, body, look) }
    return c
  }

  static func tooSmall(_ c: inout Canvas, look: Look) {
    let lines = [
      "Terminal too small: \(c.width)x\(c.height).",
      "The explorer needs at least \(minWidth)x\(minHeight).",
      "Enlarge the window, or press q to quit.",
    ]
    for (i, l) in lines.enumerated() {
      let y = max(0, c.height / 2 - 1 + i)
      c.put(l, x: max(0, (c.width - l.count) / 2), y: y, style: look.style(i == 0 ? .warning : .text))
    }
  }

  static func header(_ c: inout Canvas, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    let style = look.style(.header)
    c.fill(Rect(x: 0, y: 0, width: c.width, height: 1), style: style)
    let sep = look.glyphs.separator
    let source = s.sourceName.isEmpty ? "no source" : s.sourceName
    let right = " \(st.screen.title)" + sep + "theme \(look.theme.name) "
    let room = c.width - right.unicodeScalars.count
    // Whole items only: a cut-off "norm globa" reads as a bug; the source name goes first when narrow.
    var left = " CaloVQ"
    for item in [st.dataset.rawValue, formatEnergy(st.energyMeV), "norm \(st.normalisation.rawValue)", source] {
      var next = left + sep + item
      if next.unicodeScalars.count > room {
        // Only the last item (the source) may be shortened, and only if a useful part fits.
        guard item == source, room - (left + sep).unicodeScalars.count >= 12 else { break }
        next = String(String.UnicodeScalarView(next.unicodeScalars.prefix(room - 1))) + look.glyphs.ellipsis
      }
      left = next
    }
    c.put(left, x: 0, y: 0, style: style, maxWidth: room)
    c.put(right, x: room, y: 0, style: style)
  }

  static func picker(_ c: inout Canvas, _ st: ViewState, _ look: Look) {
    var x = c.put("Data ", x: 0, y: 1, style: look.style(.dim))
    for k in DatasetKind.allCases {
      let available = st.datasets.contains(k)
      let style = k == st.dataset ? look.style(.highlight) : look.style(available ? .text : .dim)
      x += c.put(" \(k.rawValue) ", x: x, y: 1, style: style)
    }
    x += 2
    if let typed = st.energyInput {
      c.put("Energy (GeV): \(typed)_   Enter apply, Esc cancel", x: x, y: 1, style: look.style(.highlight))
      return
    }
    x += c.put("E ", x: x, y: 1, style: look.style(.dim))
    let scale = EnergyScale(kind: st.dataset)
    let lo = st.dataset.isDS1 ? DatasetKind.ds1Energies.first! : EnergyScale.minMeV
    let hi = st.dataset.isDS1 ? DatasetKind.ds1Energies.last! : EnergyScale.maxMeV
    x += c.put(formatEnergy(lo) + " ", x: x, y: 1, style: look.style(.dim))
    let valueText = " " + formatEnergy(hi) + "  " + formatEnergy(st.energyMeV)
      + (st.dataset.isDS1 ? " (\(scale.nearestDS1Index(st.energyMeV) + 1)/15)" : "")
    let trackW = max(5, min(30, c.width - x - valueText.count))
    let knob = Int((scale.position(st.energyMeV) * Double(trackW - 1)).rounded())
    for i in 0..<trackW {
      c[x + i, 1] = i == knob ? Cell(look.glyphs.sliderKnob, look.style(.title)) : Cell(look.glyphs.sliderTrack, look.style(.dim))
    }
    x += trackW
    c.put(valueText, x: x, y: 1, style: look.style(.text))
  }

  static func status(_ c: inout Canvas, y: Int, _ s: ExplorerSnapshot, _ st: ViewState, _ look: Look) {
    if let m = st.message {
      c.put(m, x: 0, y: y, style: look.style(.warning))
    } else if let b = s.busy {
      c.put(b, x: 0, y: y, style: look.style(.title))
    } else if let n = s.notice {
      c.put(n, x: 0, y: y, style: look.style(.warning))
    } else if s.error == nil, s.context != nil {
      let noun = s.sourceIsModel ? "generated" : "drawn from file"
      var t = "\(s.generatedCount) shower\(s.generatedCount == 1 ? "" : "s") \(noun)"
      if let ms = s.meanTimeMs { t += String(format: ", %.2f ms/shower", ms) }
      t += look.glyphs.separator + "reference: \(s.referenceCount) showers near \(formatEnergy(st.energyMeV))"
      t += " from \((s.referencePath as NSString).lastPathComponent)"
      c.put(t, x: 0, y: y, style: look.style(.dim))
    }
  }

  /// Word-wrapped message in `rect`.
  static func message(_ c: inout Canvas, _ rect: Rect, _ text: String, _ style: CellStyle) {
    var line = "", y = rect.y
    for w in text.split(separator: " ") {
      if !line.isEmpty && line.count + 1 + w.count > rect.width {
        c.put(line, x: rect.x, y: y, style: style, maxWidth: rect.width)
        y += 1
        line = ""
      }
      line += (line.isEmpty ? "" : " ") + w
    }
    if !line.isEmpty && y < rect.maxY { c.put(line, x: rect.x, y: y, style: style, maxWidth: rect.width) }
  }

  /// The relevant layer shown at `position` (clamped).
  static func layerIndex(_ g: Geometry, _ position: Int) -> Int {
    let rel = g.relevantLayerIndices
    return rel[min(max(position, 0), rel.count - 1)]
  }

  /// The voxels of layer index `l` in a flat shower.
  static func slice(_ v: [Float], _ g: Geometry, _ l: Int) -> ArraySlice<Float> { v[g.offsets[l]..<g.offsets[l + 1]] }
}
