// The help overlay, generated from the key-binding table (one column per section group).

enum HelpScreen {
  static func draw(_ c: inout Canvas, _ r: Rect, _ look: Look) {
    c.fill(r, style: look.style(.text))
    c.put("Keys (any key closes this help)", x: r.x + 1, y: r.y, style: look.style(.title))
    var sections: [String] = []
    for b in KeyBindings.table where !sections.contains(b.section) { sections.append(b.section) }
    // Left column: every section but the last; right column: the last (the longest).
    let colW = (r.width - 3) / 2
    let groups = [Array(sections.dropLast()), [sections.last!]]
    for (gi, group) in groups.enumerated() {
      var y = r.y + 2
      let x = r.x + 1 + gi * (colW + 1)
      for sec in group {
        c.put(sec, x: x, y: y, style: look.style(.title))
        y += 1
        for b in KeyBindings.table where b.section == sec {
          let keys = b.keys.map { $0.label(unicode: look.unicode) }.joined(separator: " ")
          c.put(Charts.pad(keys, 10), x: x, y: y, style: look.style(.key))
          c.put(" " + b.help, x: x + 10, y: y, style: look.style(.text), maxWidth: colW - 10)
          y += 1
        }
        y += 1
      }
    }
    c.put("Bundled sample showers are parameterised (GFlash-style), not GEANT4.", x: r.x + 1, y: r.maxY - 1,
          style: look.style(.dim), maxWidth: r.width - 2)
  }
}
