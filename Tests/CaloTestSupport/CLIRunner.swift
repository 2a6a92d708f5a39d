// Runs the built `calovq` executable for end-to-end tests and captures its output.

import Foundation

/// The result of one `calovq` run.
public struct CLIResult {
  public var status: Int32
  /// True when the process died from a signal (a Swift trap, a crash) rather than exiting.
  public var crashed: Bool
  public var stdout: String
  public var stderr: String
  /// Non-empty lines of stderr.
  public var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

/// Finds and runs the `calovq` binary built next to the test bundle (`swift build` builds it; the test
/// script runs `swift build --build-tests`, which includes it).
public enum CLIRunner {
  /// Path of the built executable, or nil when it has not been built.
  public static func executablePath() -> String? {
    var candidates: [String] = []
    // Linux: .build/<triple>/debug/CaloVQPackageTests.xctest; macOS: ...PackageTests.xctest/Contents/...
    for b in [Bundle.main.bundleURL] + Bundle.allBundles.map(\.bundleURL) {
      var u = b
      for _ in 0..<4 {
        candidates.append(u.appendingPathComponent("calovq").path)
        u = u.deletingLastPathComponent()
      }
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/calovq").path)
    return candidates.first { path in
      var isDir: ObjCBool = false
      return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
        && FileManager.default.isExecutableFile(atPath: path)
    }
  }

  /// Runs `calovq args...` to completion. Output goes through temporary files so that large outputs
  /// cannot block the child on a full pipe.
  public static func run(_ args: [String], currentDirectory: String? = nil) throws -> CLIResult {
    guard let exe = executablePath() else {
      throw NSError(domain: "CLIRunner", code: 1,
                    userInfo: [NSLocalizedDescriptionKey: "calovq is not built; run `swift build` first"])
    }
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let out = tmp.appendingPathComponent("out"), err = tmp.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let oh = try FileHandle(forWritingTo: out), eh = try FileHandle(forWritingTo: err)
    p.standardOutput = oh
    p.standardError = eh
    try p.run()
    p.waitUntilExit()
    try oh.close()
    try eh.close()
    return CLIResult(status: p.terminationStatus, crashed: p.terminationReason == .uncaughtSignal,
                     stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                     stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
  }
}
