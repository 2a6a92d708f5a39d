import ArgumentParser
import CaloGeometry
import CaloPipeline
import Foundation

struct BenchEvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Time a full evaluation (histograms, separation, FPD/KPD) of two synthetic files.",
    discussion: """
      Writes a reference and a generated file of random but shower-like synthetic showers (benchmark \
      input, neither GEANT4 nor simulator output) into --dir once and reuses them, then times \
      `calovq evaluate` on the pair. Target: 100k vs 100k ds2 in under 60 s on 2 cores.
      """)

  @Option(help: "Dataset of the synthetic files.")
  var dataset: String = "ds2"

  @Option(help: "Showers per file.")
  var count: Int = 100_000

  @Option(help: "Folder for the synthetic files (kept for reuse).")
  var dir: String = NSTemporaryDirectory() + "calovq-bench-evaluate"

  @Flag(help: "Rewrite the synthetic files even if they exist.")
  var regenerate = false

  func run() throws {
    let kind = try parseDataset(dataset)
    guard count >= 2 else { throw ValidationError("--count must be at least 2, got \(count)") }
    try reportingErrors {
      let (r, total) = try benchEvaluate(kind: kind, count: count, dir: dir, regenerate: regenerate) {
        print($0)
      }
      print("evaluate \(kind.rawValue): \(count) generated vs \(count) reference showers")
      func line(_ name: String, _ s: Double) -> String {
        "  " + name.padding(toLength: 46, withPad: " ", startingAt: 0) + String(format: "%8.2f s", s)
      }
      for (phase, s) in r.timings { print(line(phase, s)) }
      print(line("total", total))
      if let f = r.fpd, let k = r.kpd {
        print(String(format: "  (FPD x10^3 %.4f ± %.4f, KPD x10^3 %.4f ± %.4f)", f.value * 1e3, f.error * 1e3,
                     k.value * 1e3, k.error * 1e3))
      }
    }
  }
}
