// The themes the explorer can cycle through: every *.theme file of one folder, parsed up front so
// that a broken file is reported at start-up instead of when `t` reaches it.

import Foundation

/// An ordered, non-empty list of themes.
public struct ThemeLibrary: Sendable {
  public private(set) var themes: [Theme]

  public init(themes: [Theme]) {
    precondition(!themes.isEmpty, "a theme library needs at least one theme")
    self.themes = themes
  }

  /// Parses every `*.theme` file in `directory`, sorted by name with `viridis` first (the default).
  /// - Throws: `ThemeError` for the first invalid file, `ExplorerError.noThemes` if there is none.
  public init(directory: String) throws {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    var themes = try names.filter { $0.hasSuffix(".theme") }.sorted().map {
      try Theme.load(path: (directory as NSString).appendingPathComponent($0))
    }
    guard !themes.isEmpty else { throw ExplorerError.noThemes(searched: [directory]) }
    if let v = themes.firstIndex(where: { $0.name == "viridis" }) { themes.insert(themes.remove(at: v), at: 0) }
    self.init(themes: themes)
  }

  /// The folder holding the theme files: the first of `explicit`, `$CALOVQ_THEMES`, `./themes`,
  /// and `themes/` next to or above the executable (`.build/<config>/calovq` → repository root).
  public static func locate(explicit: String?, executablePath: String, environment: [String: String]) -> String? {
    if let explicit { return explicit }
    var candidates: [String] = []
    if let env = environment["CALOVQ_THEMES"], !env.isEmpty { candidates.append(env) }
    candidates.append(FileManager.default.currentDirectoryPath + "/themes")
    var dir = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<5 {
      candidates.append(dir.appendingPathComponent("themes").path)
      dir = dir.deletingLastPathComponent()
    }
    var isDir: ObjCBool = false
    return candidates.first { FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue }
  }

  /// Index of the theme called `name`.
  /// - Throws: `ExplorerError.unknownTheme` listing the available names.
  public func index(of name: String) throws -> Int {
    guard let i = themes.firstIndex(where: { $0.name == name }) else {
      throw ExplorerError.unknownTheme(name: name, available: themes.map(\.name))
    }
    return i
  }

  /// A one-theme library used when no theme folder exists (viridis with attribute-only UI roles).
  public static let builtIn = ThemeLibrary(themes: [
    Theme(name: "viridis", description: "built-in fallback",
          stops: ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30",
                  "#fde725"].compactMap { RGB(hex: $0) },
          ui: [:])
  ])
}
