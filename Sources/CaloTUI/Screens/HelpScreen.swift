// The help overlay, generated from the key-binding table: sections in two balanced columns; bindings
// that share a `group` are one line listing the first key of each.

enum HelpScreen {
  /// Help lines per section: (keys, text), in table order.
  static func lines(unicode: Bool) -> [(section: String, rows: [(keys: String, text: String)])] {
    var out: [(section: String, rows: [(keys: String, text: String)])] = []
    for b in KeyBindings.table {
      if out.last?.section != b.section { out.append((b.section, [])) }
      if let g = b.group, let last = out[out.count - 1].rows.last, last.text == g {
        out[out.count - 1].rows[out[out.count - 1].rows.count - 1].keys += " " + b.keys[0].label(unicode: unicode)
      } else if let g = b.group {
        out[out.count - 1].rows.append((b.keys[0].label(unicode: unicode), g))
      } else {
        out[out.count - 1].rows.append((b.keys.map { $0.label(unicode: unicode) }.joined(separator: " "), b.help))
      }
    }
    return out
  }

  static func draw(_ c: inout Canvas, _ r: Rect, _ look: Look) {
    c.fill(r, style: look.style(.text))
    c.put("Keys (any key closes this help)", x: r.x + 1, y: r.y, style: look.style(.title))
    let sections = lines(unicode: look.unicode)
    // Sections in order over two columns, split where the taller column is shortest (ties: later split).
    let height = sections.map { $0.rows.count + 2 }
    let total = height.reduce(0, +)
    var split = 1, best = Int.max, acc = 0
    for k in 1..<max(sections.count, 2) {
      acc += height[k - 1]
      if max(acc, total - acc) <= best { (split, best) = (k, max(acc, total - acc)) }
    }
    let colW = (r.width - 3) / 2
    // Key column as wide as the longest key list (texts are kept within 30 columns for 80x24).
    let keyW = sections.flatMap { $0.rows.map { $0.keys.unicodeScalars.count } }.max().map { $0 + 1 } ?? 8
    for (gi, group) in [Array(sections[..<split]), Array(sections[split...])].enumerated() {
      var y = r.y + 2
      let x = r.x + 1 + gi * (colW + 1)
      for sec in group {
        c.put(sec.section, x: x, y: y, style: look.style(.title))
        y += 1
        for row in sec.rows {
          c.put(Charts.pad(row.keys, keyW), x: x, y: y, style: look.style(.key))
          c.put(row.text, x: x + keyW, y: y, style: look.style(.text), maxWidth: colW - keyW)
          y += 1
        }
        y += 1
      }
    }
    c.put("Bundled sample showers are parameterised (GFlash-style), not GEANT4.", x: r.x + 1, y: r.maxY - 1,
          style: look.style(.dim), maxWidth: r.width - 2)
  }
}
