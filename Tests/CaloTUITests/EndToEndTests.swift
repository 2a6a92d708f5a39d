// The built `calovq` binary end to end: scripted snapshots and error messages through a Process,
// and the interactive explorer inside a detached tmux session of fixed size (keys, resize, quit,
// signal), read back with capture-pane. Build first: `swift build` (the tests never call swift run).

import CaloGeometry
import Foundation
import XCTest

final class EndToEndTests: XCTestCase {
  private var dir = ""
  private var binary = ""

  override func setUpWithError() throws {
    binary = ProcessInfo.processInfo.environment["CALOVQ_BIN"] ?? Fixtures.repoRoot + "/.build/debug/calovq"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      XCTFail("\(binary) is missing: run `swift build` before the tests (or set CALOVQ_BIN)")
      throw XCTSkip("no binary")
    }
    dir = try Fixtures.tempDir(self)
    try Fixtures.writeFile(.ds1Photon, to: dir + "/ds1-photon.h5")
  }

  /// Runs `exe` with `args` and returns its exit status and output.
  /// posix_spawn + waitpid rather than Foundation.Process: `tmux new-session` forks a server that
  /// inherits the child's descriptors, and Process then never sees its child finish.
  @discardableResult
  func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws
    -> (status: Int32, out: String, err: String)
  {
    let base = NSTemporaryDirectory() + "calovq-e2e-\(UUID().uuidString)"
    defer {
      try? FileManager.default.removeItem(atPath: base + ".out")
      try? FileManager.default.removeItem(atPath: base + ".err")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // `swift test` may export NO_COLOR; tests that want it say so explicitly.
    var base0 = ProcessInfo.processInfo.environment
    base0.removeValue(forKey: "NO_COLOR")
    let environment = base0.merging(env) { $1 }.map { "\($0)=\($1)" }
    let argv = ([exe] + args).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, argv, envp)
    guard rc == 0 else { throw NSError(domain: "spawn", code: Int(rc)) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let o = FileManager.default.contents(atPath: base + ".out") ?? Data()
    let e = FileManager.default.contents(atPath: base + ".err") ?? Data()
    return (code, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
  }

  // MARK: - Non-interactive path

  func testKeysSnapshotWritesTheFinalScreen() throws {
    let out = dir + "/screen.txt"
    let r = try run(binary, ["explore", "--sample-dir", dir, "--keys", "g g n G", "--snapshot", out, "--size", "90x28"])
    XCTAssertEqual(r.status, 0, r.err)
    let text = try String(contentsOfFile: out, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines.count, 29, "28 rows and a final newline")
    XCTAssertTrue(text.contains("norm layer-wise"))
    XCTAssertTrue(text.contains("50 showers drawn from file"), text)
    XCTAssertTrue(text.contains("MeV (log)"))
    XCTAssertFalse(text.contains("\u{1b}["), "plain text without --ansi")
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".partial-\(getpid())"))

    let ansiOut = dir + "/screen.ansi"
    let a = try run(binary, ["explore", "--sample-dir", dir, "--keys", "g", "--snapshot", ansiOut, "--ansi",
                             "--colors", "truecolor", "--theme", "inferno"])
    XCTAssertEqual(a.status, 0, a.err)
    let ansi = try String(contentsOfFile: ansiOut, encoding: .utf8)
    XCTAssertTrue(ansi.contains("\u{1b}[0;38;2;"), "24-bit colours")
    XCTAssertTrue(ansi.contains("theme inferno"))
    let mono = try run(binary, ["explore", "--sample-dir", dir, "--keys", "g", "--snapshot", ansiOut, "--ansi"],
                       env: ["NO_COLOR": "1"])
    XCTAssertEqual(mono.status, 0, mono.err)
    XCTAssertFalse(try String(contentsOfFile: ansiOut, encoding: .utf8).contains("38;"), "NO_COLOR honoured")
  }

  func testBadInputGivesOneErrorLine() throws {
    let themes = dir + "/themes"
    try FileManager.default.createDirectory(atPath: themes, withIntermediateDirectories: true)
    try "calovq-theme 1\nname = broken\nmap = #000000\n".write(toFile: themes + "/broken.theme", atomically: true,
                                                             encoding: .utf8)
    let cases: [([String], String)] = [
      (["--themes-dir", themes], "invalid theme file '\(themes)/broken.theme' line 3: map needs 2 to 64"),
      (["--theme", "nope"], "no theme 'nope'; available: viridis"),
      (["--keys", "g Lefty"], "unknown key 'Lefty'"),
      (["--size", "70x20"], "below the 80x24 minimum"),
      (["--reference", dir + "/missing.h5"], "cannot open"),
      (["--colors", "12"], "unknown --colors '12'"),
    ]
    for (extra, expected) in cases {
      let r = try run(binary, ["explore", "--sample-dir", dir, "--keys", "g", "--snapshot", dir + "/x.txt"] + extra)
      XCTAssertNotEqual(r.status, 0, "\(extra)")
      XCTAssertTrue(r.err.contains(expected), "\(extra): stderr was \(r.err)")
      XCTAssertFalse(r.err.contains("Fatal error"), r.err)
    }
    let noTTY = try run(binary, ["explore", "--sample-dir", dir])
    XCTAssertEqual(noTTY.status, 1)
    XCTAssertTrue(noTTY.err.contains("not a terminal"), noTTY.err)
  }

  // MARK: - Interactive, inside tmux

  private final class Tmux {
    // The server's socket lives in the test's folder (removed in teardown): tmux leaves a named socket
    // (`-L`) in /tmp/tmux-UID after kill-server.
    let socket: String
    let test: EndToEndTests
    init(_ t: EndToEndTests) { test = t; socket = t.dir + "/tmux.sock" }
    @discardableResult
    func callAsFunction(_ args: String...) throws -> String {
      try test.run("/usr/bin/env", ["tmux", "-S", socket, "-f", "/dev/null"] + args).out
    }
    func capture(escapes: Bool = false) throws -> String {
      escapes ? try self("capture-pane", "-p", "-e", "-t", "e2e") : try self("capture-pane", "-p", "-t", "e2e")
    }
    /// Polls the pane until `predicate` holds on two captures in a row (or `seconds` pass) and returns
    /// the last capture.
    ///
    /// One frame reaches tmux in several writes (a full repaint is larger than curses' output buffer),
    /// so a capture can show a half-painted frame: rows above the cursor new, rows below still old. A
    /// predicate must therefore name what the finished frame shows (not only what disappears), and
    /// holding on two captures 50 ms apart means the frame was not caught mid-paint.
    func wait(_ seconds: Double = 15, until predicate: (String) -> Bool) throws -> String {
      let end = Date().addingTimeInterval(seconds)
      var text = try capture()
      var held = 0
      while Date() < end {
        held = predicate(text) ? held + 1 : 0
        if held == 2 { break }
        usleep(50_000)
        text = try capture()
      }
      return text
    }
  }

  func testInteractiveSessionInTmux() throws {
    guard (try? run("/usr/bin/env", ["which", "tmux"]).status) == 0 else { throw XCTSkip("tmux is not installed") }
    let tmux = Tmux(self)
    defer { _ = try? tmux("kill-server") }
    let exitFile = dir + "/exit.txt"
    let start = Date()
    try tmux("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30",
             "env -u NO_COLOR TERM=tmux-256color \(binary) explore --sample-dir \(dir); echo EXIT=$? > \(exitFile); sleep 60")
    var pane = try tmux.wait { $0.contains("CaloVQ │ ds1-photon") }
    XCTAssertTrue(pane.contains("CaloVQ │ ds1-photon"), "first frame:\n\(pane)")
    print("tmux: first frame after \(String(format: "%.2f", Date().timeIntervalSince(start))) s (incl. tmux start)")

    try tmux("send-keys", "-t", "e2e", "g")
    pane = try tmux.wait { $0.contains("1 shower drawn") && $0.contains("MeV (log)") && $0.contains("metric") }
    XCTAssertTrue(pane.contains("1 shower drawn"), pane)
    XCTAssertTrue(pane.contains("MeV (log)"), "legend:\n\(pane)")
    XCTAssertTrue(pane.contains("E_layer L") || pane.contains("EC "), "metrics table:\n\(pane)")
    XCTAssertGreaterThan(pane.filter { $0 == "█" }.count, 50, "radial bars of layer 0")
    try tmux("send-keys", "-t", "e2e", "]")
    pane = try tmux.wait { $0.contains("layer 1 (2/5") && $0.filter { $0 == "▀" }.count > 200 }
    XCTAssertGreaterThan(pane.filter { $0 == "▀" }.count, 200, "half-block discs of layer 1:\n\(pane)")
    let coloured = try tmux.capture(escapes: true)
    XCTAssertTrue(coloured.contains("\u{1b}[38;5;"), "256-colour SGR in the pane")

    try tmux("send-keys", "-t", "e2e", "n")
    pane = try tmux.wait { $0.contains("norm layer-wise") }
    XCTAssertTrue(pane.contains("norm layer-wise"), pane)
    try tmux("send-keys", "-t", "e2e", "t")
    pane = try tmux.wait { !$0.contains("theme viridis") && $0.contains("theme ") }
    XCTAssertFalse(pane.contains("theme viridis"), pane)
    try tmux("send-keys", "-t", "e2e", "?")
    pane = try tmux.wait { $0.contains("Keys (any key closes this help)") && $0.contains("parameterised") }
    XCTAssertTrue(pane.contains("quit (restores the terminal)"), pane)
    // Escape is a prefix of key sequences: curses waits ESCDELAY (25 ms) for more bytes before it
    // reports it, and the help then disappears row by row as the frame reaches tmux. Wait for the
    // finished frame (help gone and the legend, drawn below the help's first row, back).
    try tmux("send-keys", "-t", "e2e", "Escape")
    pane = try tmux.wait { !$0.contains("Keys (any key") && $0.contains("MeV (log)") && !$0.contains("parameterised") }
    XCTAssertFalse(pane.contains("Keys (any key"), pane)
    XCTAssertTrue(pane.contains("MeV (log)"), pane)

    try tmux("resize-window", "-t", "e2e", "-x", "70", "-y", "20")
    pane = try tmux.wait { $0.contains("Terminal too small: 70x20.") }
    XCTAssertTrue(pane.contains("Terminal too small: 70x20."), pane)
    try tmux("resize-window", "-t", "e2e", "-x", "120", "-y", "35")
    pane = try tmux.wait { $0.contains("CaloVQ │") && $0.contains("MeV (log)") && $0.contains("qQuit") }
    XCTAssertEqual(pane.split(separator: "\n", omittingEmptySubsequences: false).first?.count ?? 0 >= 100, true)
    XCTAssertTrue(pane.contains("MeV (log)"), pane)

    try tmux("send-keys", "-t", "e2e", "q")
    pane = try tmux.wait { !$0.contains("CaloVQ │") }
    let end = Date().addingTimeInterval(5)
    while !FileManager.default.fileExists(atPath: exitFile) && Date() < end { usleep(50_000) }
    XCTAssertEqual(try? String(contentsOfFile: exitFile, encoding: .utf8), "EXIT=0\n")
    XCTAssertFalse(pane.contains("CaloVQ │"), "the explorer's screen is gone after q:\n\(pane)")
  }

  func testModelBackedGenerationInTmux() throws {
    guard (try? run("/usr/bin/env", ["which", "tmux"]).status) == 0 else { throw XCTSkip("tmux is not installed") }
    let model = try Fixtures.writeModel(.ds1Photon, layerwise: false, to: dir + "/tiny-model")
    let tmux = Tmux(self)
    defer { _ = try? tmux("kill-server") }
    let exitFile = dir + "/exit.txt"
    try tmux("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30",
             "env -u NO_COLOR TERM=tmux-256color \(binary) explore --sample-dir \(dir) --model \(model); "
               + "echo EXIT=$? > \(exitFile); sleep 60")
    var pane = try tmux.wait { $0.contains("CaloVQ │ ds1-photon") && $0.contains("model tiny-model") }
    XCTAssertTrue(pane.contains("norm global │ model tiny-model"), "model in the header:\n\(pane)")
    try tmux("send-keys", "-t", "e2e", "g")
    pane = try tmux.wait { $0.contains("1 shower generated") && $0.contains("ms/shower") && $0.contains("MeV (log)") }
    XCTAssertTrue(pane.contains("1 shower generated"), pane)
    XCTAssertTrue(pane.range(of: #"shower \([0-9.]+ ms\)"#, options: .regularExpression) != nil, "time per shower:\n\(pane)")
    try tmux("send-keys", "-t", "e2e", "6")
    pane = try tmux.wait { $0.contains("codes on the 32 latent grid") && $0.contains("R tokens") }
    XCTAssertTrue(pane.contains("last generated shower (model tiny-model"), pane)
    try tmux("send-keys", "-t", "e2e", "s")
    pane = try tmux.wait { $0.contains("step by step: 1/34 tokens") && $0.contains("most likely:") }
    XCTAssertTrue(pane.contains("token 1: R digit 1 of R"), pane)
    try tmux("send-keys", "-t", "e2e", "q")
    let end = Date().addingTimeInterval(10)
    while !FileManager.default.fileExists(atPath: exitFile) && Date() < end { usleep(50_000) }
    XCTAssertEqual(try? String(contentsOfFile: exitFile, encoding: .utf8), "EXIT=0\n")
  }

  func testSignalRestoresTheTerminal() throws {
    guard (try? run("/usr/bin/env", ["which", "tmux"]).status) == 0 else { throw XCTSkip("tmux is not installed") }
    let tmux = Tmux(self)
    defer { _ = try? tmux("kill-server") }
    let exitFile = dir + "/exit.txt"
    try tmux("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30",
             "\(binary) explore --sample-dir \(dir); echo EXIT=$? > \(exitFile); stty -a > \(dir)/stty.txt; sleep 60")
    XCTAssertTrue(try tmux.wait { $0.contains("CaloVQ │") }.contains("CaloVQ │"))
    // The pane runs a shell whose only child is the explorer.
    let shell = try tmux("list-panes", "-t", "e2e", "-F", "#{pane_pid}").trimmingCharacters(in: .whitespacesAndNewlines)
    let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
    let pid = try XCTUnwrap(children.split(separator: " ").first.flatMap { pid_t($0) }, "explorer pid")
    XCTAssertEqual(kill(pid, SIGTERM), 0)
    let end = Date().addingTimeInterval(5)
    while !FileManager.default.fileExists(atPath: dir + "/stty.txt") && Date() < end { usleep(50_000) }
    XCTAssertEqual(try? String(contentsOfFile: exitFile, encoding: .utf8), "EXIT=143\n")
    let stty = (try? String(contentsOfFile: dir + "/stty.txt", encoding: .utf8)) ?? ""
    XCTAssertTrue(stty.contains(" icanon") && stty.contains(" echo"), "cooked mode restored:\n\(stty)")
    XCTAssertFalse(try tmux.capture().contains("CaloVQ │"))
  }
}
