// Reading and writing the CaloChallenge binning XML (`Bins` / `Bin name pid` / `Layer id r_edges
// n_bin_alpha`). The reader is a small hand-written scanner for exactly this element/attribute subset,
// so CaloGeometry needs no XML library (FoundationXML would pull libxml2 into every binary).
// Not supported, because binning files never use them: DTDs with entities, CDATA, namespaces.

import Foundation

/// A binning XML file that cannot be used, with the line it was found on.
public struct BinningError: Error, CustomStringConvertible, Equatable {
  /// File the text came from, if it came from a file.
  public var source: String?
  /// 1-based line of the problem, when it is tied to one place in the text.
  public var line: Int?
  /// What is wrong.
  public var message: String

  public init(source: String? = nil, line: Int? = nil, message: String) {
    self.source = source
    self.line = line
    self.message = message
  }

  public var description: String {
    var where_ = source.map { "binning file '\($0)'" } ?? "binning XML"
    if let line { where_ += " line \(line)" }
    return "\(where_): \(message). A binning file is <Bins><Bin name=\"...\" pid=\"...\"><Layer id=\"0\" "
      + "r_edges=\"0,5,10\" n_bin_alpha=\"1\"/>...</Bin></Bins>; see sample-data/geometry/."
  }
}

extension Geometry {
  /// Parses a CaloChallenge binning XML and returns the `Bin` for `particle`.
  ///
  /// Rules (those of the official `XMLHandler`): the `Bin` whose `name` equals `particle` is taken
  /// (with `particle == nil` the file must hold exactly one `Bin`); its `Layer` children are read in
  /// document order, which, not the `id` value, fixes the flat voxel layout. `r_edges` is a comma list of
  /// strictly ascending edges in mm (`"0"` alone: a layer without voxels); `n_bin_alpha` ≥ 1. Any other
  /// `Bin` attributes (ds1 `etaMin`/`etaMax`) are kept in `extraAttributes`, in document order.
  ///
  /// - Throws: `BinningError` naming the line and the problem for malformed XML, a missing or
  ///   non-numeric attribute, non-ascending edges, no matching `Bin`, or a `Bin` without layers.
  public init(xml: String, particle: String?, source: String? = nil) throws {
    var scanner = XMLScanner(text: xml, source: source)
    let elements = try scanner.elements()
    func fail(_ line: Int?, _ message: String) -> BinningError {
      BinningError(source: source, line: line, message: message)
    }
    guard let root = elements.first, root.name == "Bins" else {
      throw fail(elements.first?.line, "the root element must be <Bins>, found "
        + (elements.first.map { "<\($0.name)>" } ?? "no element"))
    }
    let bins = root.children.filter { $0.name == "Bin" }
    guard !bins.isEmpty else { throw fail(root.line, "<Bins> holds no <Bin> element") }
    let names = bins.map { $0.attribute("name") ?? "?" }
    let bin: BinningXMLNode
    if let particle {
      guard let b = bins.first(where: { $0.attribute("name") == particle }) else {
        throw fail(nil, "no <Bin name=\"\(particle)\">; the file has "
          + names.map { "'\($0)'" }.joined(separator: ", ") + " (pick one with the particle name)")
      }
      bin = b
    } else {
      guard bins.count == 1 else {
        throw fail(nil, "the file holds \(bins.count) <Bin> elements ("
          + names.map { "'\($0)'" }.joined(separator: ", ") + "); say which particle to use")
      }
      bin = bins[0]
    }
    guard let name = bin.attribute("name") else { throw fail(bin.line, "<Bin> has no 'name' attribute") }
    guard let pidText = bin.attribute("pid") else { throw fail(bin.line, "<Bin> has no 'pid' attribute") }
    guard let pid = Int(pidText.trimmingCharacters(in: .whitespaces)) else {
      throw fail(bin.line, "<Bin> pid '\(pidText)' is not an integer")
    }
    var layers: [Layer] = []
    for el in bin.children where el.name == "Layer" {
      guard let idText = el.attribute("id") else { throw fail(el.line, "<Layer> has no 'id' attribute") }
      guard let id = Int(idText.trimmingCharacters(in: .whitespaces)) else {
        throw fail(el.line, "<Layer> id '\(idText)' is not an integer")
      }
      guard let edgesText = el.attribute("r_edges") else {
        throw fail(el.line, "<Layer id=\"\(id)\"> has no 'r_edges' attribute")
      }
      var edges: [Double] = []
      for part in edgesText.split(separator: ",", omittingEmptySubsequences: false) {
        let t = part.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let x = Double(t), x.isFinite else {
          throw fail(el.line, "<Layer id=\"\(id)\"> r_edges value '\(t)' is not a number")
        }
        edges.append(x)
      }
      for k in 1..<max(edges.count, 1) where !(edges[k] > edges[k - 1]) {
        throw fail(el.line, "<Layer id=\"\(id)\"> r_edges must be strictly ascending, but \(edges[k - 1]) "
          + "is followed by \(edges[k])")
      }
      guard let alphaText = el.attribute("n_bin_alpha") else {
        throw fail(el.line, "<Layer id=\"\(id)\"> has no 'n_bin_alpha' attribute")
      }
      guard let nAlpha = Int(alphaText.trimmingCharacters(in: .whitespaces)), nAlpha >= 1 else {
        throw fail(el.line, "<Layer id=\"\(id)\"> n_bin_alpha '\(alphaText)' is not an integer ≥ 1")
      }
      layers.append(Layer(id: id, rEdges: edges, nAlpha: nAlpha))
    }
    guard !layers.isEmpty else { throw fail(bin.line, "<Bin name=\"\(name)\"> has no <Layer> elements") }
    let extras = bin.attributes.filter { $0.0 != "name" && $0.0 != "pid" }
    self.init(particle: name, pid: pid, layers: layers, extraAttributes: extras)
    guard voxelCount > 0 else { throw fail(bin.line, "<Bin name=\"\(name)\"> has no voxels (every layer is r_edges=\"0\")") }
  }

  /// Reads and parses a binning XML file (see `init(xml:particle:source:)`).
  /// - Throws: `BinningError` when the file cannot be read or parsed.
  public init(contentsOfFile path: String, particle: String?) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw BinningError(source: path, message: "no such file")
    }
    guard !isDir.boolValue else { throw BinningError(source: path, message: "it is a directory, not a file") }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw BinningError(source: path, message: "cannot read it (permission denied?)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw BinningError(source: path, message: "it is not UTF-8 text")
    }
    try self.init(xml: text, particle: particle, source: path)
  }

  /// The CaloChallenge binning XML of this geometry: one `Bins` root holding this `Bin`.
  ///
  /// Edges are written in their shortest exact decimal form (`5`, `4.65`), so parsing the text gives
  /// back bit-identical `Double`s and `Geometry(xml: g.xml(), particle: g.particle) == g`.
  public func xml() -> String {
    var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    s += "<!-- CaloChallenge 2022 binning written by CaloVQ (calovq geometry). Layer order defines the flat\n"
    s += "     voxel index offset(layer) + alpha*n_r + r; \(voxelCount) voxels. -->\n"
    s += "<Bins>\n"
    var binAttrs = [("pid", String(pid))] + extraAttributes
    binAttrs.append(("name", particle))
    s += "  <Bin " + binAttrs.map { "\($0.0)=\"\(xmlEscape($0.1))\"" }.joined(separator: " ") + ">\n"
    for l in layers {
      let edges = l.rEdges.map(Geometry.formatEdge).joined(separator: ",")
      s += "    <Layer id=\"\(l.id)\" r_edges=\"\(edges)\" n_bin_alpha=\"\(l.nAlpha)\"/>\n"
    }
    s += "  </Bin>\n</Bins>\n"
    return s
  }

  /// `5` for whole numbers, otherwise Swift's shortest round-tripping decimal (`4.65`, `2.325`).
  static func formatEdge(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
  }
}

extension DatasetKind {
  /// The particle name of this dataset's `Bin` in the official binning file (`photon`, `pion`,
  /// `electron`).
  public var particleName: String { geometry.particle }
}

// MARK: - Minimal XML scanner

private func xmlEscape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
    .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

/// An element with its attributes (document order) and child elements; text content is ignored.
struct BinningXMLNode {
  var name: String
  var attributes: [(String, String)]
  var children: [BinningXMLNode]
  var line: Int
  func attribute(_ key: String) -> String? { attributes.first { $0.0 == key }?.1 }
}

/// Turns XML text into an element tree. Accepts the XML declaration, comments, processing
/// instructions and a DOCTYPE line; reports unclosed, mismatched or stray tags with their line.
struct XMLScanner {
  let chars: [Character]
  let source: String?
  var pos = 0
  var line = 1

  init(text: String, source: String?) {
    chars = Array(text)
    self.source = source
  }

  func fail(_ message: String, at line: Int? = nil) -> BinningError {
    BinningError(source: source, line: line ?? self.line, message: message)
  }

  /// Top-level elements of the document (a well-formed file has exactly one).
  mutating func elements() throws -> [BinningXMLNode] {
    var stack: [BinningXMLNode] = []
    var top: [BinningXMLNode] = []
    while pos < chars.count {
      let c = chars[pos]
      if c != "<" {
        if !c.isWhitespace && stack.isEmpty { throw fail("text '\(c)' outside any element") }
        advance()
        continue
      }
      if starts(with: "<!--") {
        try skip(past: "-->", what: "comment")
      } else if starts(with: "<?") {
        try skip(past: "?>", what: "processing instruction")
      } else if starts(with: "<!") {
        if starts(with: "<![CDATA[") { throw fail("CDATA sections are not supported in binning files") }
        try skip(past: ">", what: "declaration")
      } else if starts(with: "</") {
        let at = line
        advance(2)
        let name = readName()
        skipSpace()
        guard pos < chars.count, chars[pos] == ">" else { throw fail("malformed closing tag </\(name)") }
        advance()
        guard let open = stack.popLast() else { throw fail("closing tag </\(name)> without an opening tag", at: at) }
        guard open.name == name else {
          throw fail("closing tag </\(name)> does not match <\(open.name)> opened on line \(open.line)", at: at)
        }
        if stack.isEmpty { top.append(open) } else { stack[stack.count - 1].children.append(open) }
      } else {
        let at = line
        advance()
        let name = readName()
        guard !name.isEmpty else { throw fail("'<' not followed by an element name") }
        var attrs: [(String, String)] = []
        var selfClosing = false
        while true {
          skipSpace()
          guard pos < chars.count else { throw fail("tag <\(name)> opened on line \(at) is never closed", at: at) }
          if chars[pos] == ">" { advance(); break }
          if starts(with: "/>") { advance(2); selfClosing = true; break }
          let key = readName()
          guard !key.isEmpty else { throw fail("unexpected '\(chars[pos])' in tag <\(name)>") }
          skipSpace()
          guard pos < chars.count, chars[pos] == "=" else { throw fail("attribute '\(key)' of <\(name)> has no value") }
          advance()
          skipSpace()
          guard pos < chars.count, chars[pos] == "\"" || chars[pos] == "'" else {
            throw fail("value of attribute '\(key)' of <\(name)> is not quoted")
          }
          let quote = chars[pos]
          advance()
          var value = ""
          while pos < chars.count, chars[pos] != quote {
            value.append(chars[pos])
            advance()
          }
          guard pos < chars.count else { throw fail("value of attribute '\(key)' is never closed", at: at) }
          advance()
          if attrs.contains(where: { $0.0 == key }) { throw fail("attribute '\(key)' repeated in <\(name)>") }
          attrs.append((key, try unescape(value)))
        }
        let el = BinningXMLNode(name: name, attributes: attrs, children: [], line: at)
        if selfClosing {
          if stack.isEmpty { top.append(el) } else { stack[stack.count - 1].children.append(el) }
        } else {
          stack.append(el)
        }
      }
    }
    if let open = stack.last { throw fail("<\(open.name)> opened on line \(open.line) is never closed", at: open.line) }
    guard top.count <= 1 else { throw fail("more than one root element", at: top[1].line) }
    return top
  }

  private mutating func advance(_ n: Int = 1) {
    for _ in 0..<n where pos < chars.count {
      if chars[pos] == "\n" { line += 1 }
      pos += 1
    }
  }

  private func starts(with s: String) -> Bool {
    var i = pos
    for c in s {
      guard i < chars.count, chars[i] == c else { return false }
      i += 1
    }
    return true
  }

  private mutating func skip(past end: String, what: String) throws {
    let at = line
    while pos < chars.count, !starts(with: end) { advance() }
    guard pos < chars.count else { throw fail("\(what) opened on line \(at) is never closed", at: at) }
    advance(end.count)
  }

  private mutating func skipSpace() { while pos < chars.count, chars[pos].isWhitespace { advance() } }

  private mutating func readName() -> String {
    var s = ""
    while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || "_-.:".contains(chars[pos]) {
      s.append(chars[pos])
      advance()
    }
    return s
  }

  private func unescape(_ s: String) throws -> String {
    guard s.contains("&") else { return s }
    var out = ""
    var rest = Substring(s)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";") else { throw fail("unterminated '&' entity in '\(s)'") }
      let name = rest[rest.index(after: amp)..<semi]
      switch name {
      case "amp": out += "&"
      case "lt": out += "<"
      case "gt": out += ">"
      case "quot": out += "\""
      case "apos": out += "'"
      default: throw fail("unknown entity '&\(name);'")
      }
      rest = rest[rest.index(after: semi)...]
    }
    return out + rest
  }
}
