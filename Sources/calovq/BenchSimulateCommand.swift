import ArgumentParser
import CaloGeometry
import CaloSim
import Foundation

/// `calovq bench simulate`: simulator throughput per dataset (showers/s, official energy spectra).
struct BenchSimulateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Showers per second of the parameterised simulator for each dataset.")

  @Option(help: "Showers per dataset for ds1 and ds2 (ds3 uses a tenth).")
  var count: Int = 4000

  @Option(help: "Worker threads (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Only these datasets (comma-separated); default all four.")
  var datasets: String?

  @Flag(help: "Also write each run to a temporary HDF5 file (gzip) and report the rate including I/O.")
  var withIO = false

  func run() throws {
    guard count > 0, threads > 0 else { throw ValidationError("--count and --threads must be positive") }
    let kinds = try datasets.map { try $0.split(separator: ",").map { try parseDataset(String($0)) } }
      ?? DatasetKind.allCases
    try reportingErrors {
      print("parameterised simulator (GFlash-style, not GEANT4), \(threads) thread(s), official energy spectra")
      for kind in kinds {
        let n = kind == .ds3 ? max(1, count / 10) : count
        let sim = ShowerSimulator(kind: kind, seed: 1)
        let energies = IncidentEnergies.standard(for: kind).sample(count: n, seed: 1)
        _ = sim.showers(energies: Array(energies.prefix(max(1, n / 20))), threads: threads)  // warm-up
        let t0 = Date()
        let s = sim.showers(energies: energies, threads: threads)
        let dt = Date().timeIntervalSince(t0)
        precondition(s.count == n * sim.voxelCount)
        var line = kind.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
          + String(format: " %6d showers  %7.3f s  %9.0f showers/s", n, dt, Double(n) / dt)
        if withIO {
          let path = NSTemporaryDirectory() + "calovq-bench-\(getpid())-\(kind.rawValue).h5"
          defer { try? FileManager.default.removeItem(atPath: path) }
          let r = try simulateShowerFile(simulator: sim, energies: energies, path: path, threads: threads)
          line += String(format: "   with HDF5 write: %9.0f showers/s", r.rate)
        }
        print(line)
      }
    }
  }
}
