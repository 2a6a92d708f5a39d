import ArgumentParser
import CaloGeometry
import CaloSim
import Foundation

/// `calovq simulate`: parameterised (GFlash-style) showers in a CaloChallenge geometry, streamed to HDF5.
struct SimulateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Simulate showers with the parameterised (GFlash-style) simulator — not GEANT4.",
    discussion: """
      Writes a CaloChallenge HDF5 file (incident_energies, showers; gzip) in the exact binning of the \
      dataset. Same --seed gives the same file, whatever the number of threads. Incident energies follow \
      the official files unless --energy or --ds1-energies is given: ds1 the 15 energies 2^8…2^22 MeV with \
      the official per-energy proportions, ds2/ds3 log-uniform in 1 GeV – 1 TeV.
      Example: calovq simulate --dataset ds2 --count 10000 --seed 7 --out ds2_sim.h5
      """)

  @Option(help: "Dataset: ds1-photon, ds1-pion, ds2 or ds3.")
  var dataset: String

  @Option(help: "Number of showers.")
  var count: Int

  @Option(help: "Random seed (same seed, same showers).")
  var seed: UInt64 = 7

  @Option(help: "Output HDF5 file (written to a temporary name, renamed when complete).")
  var out: String

  @Option(help: "Fixed incident energy for every shower, in MeV or with a unit: 65536, 10GeV, 1TeV.")
  var energy: String?

  @Option(help: "ds1 only: comma-separated subset of the 15 energies (MeV or with unit), e.g. 1024,65536.")
  var ds1Energies: String?

  @Option(help: "Worker threads (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Multiplier on the GFlash spot count (speed vs. spatial graininess).")
  var spotScale: Double = 1

  @Flag(help: "No progress output.")
  var quiet = false

  func run() throws {
    let kind = try parseDataset(dataset)
    guard count > 0 else { throw ValidationError("--count must be a positive number of showers, got \(count)") }
    guard threads > 0 else { throw ValidationError("--threads must be at least 1") }
    guard spotScale > 0, spotScale.isFinite else { throw ValidationError("--spot-scale must be > 0") }
    guard energy == nil || ds1Energies == nil else {
      throw ValidationError("give either --energy or --ds1-energies, not both")
    }
    var spec = IncidentEnergies.standard(for: kind)
    if let energy {
      let e = try parseEnergy(energy, option: "--energy")
      spec = .fixed(e)
    }
    if let ds1Energies {
      guard kind.isDS1 else { throw ValidationError("--ds1-energies only applies to ds1-photon and ds1-pion") }
      let list = try ds1Energies.split(separator: ",").map { try parseEnergy(String($0), option: "--ds1-energies") }
      for e in list where !DatasetKind.ds1Energies.contains(e) {
        throw ValidationError("\(e) MeV is not a ds1 energy; use powers of two from 256 to 4194304 MeV")
      }
      spec = .ds1(kind: kind, subset: list)
    }
    try reportingErrors {
      let sim = ShowerSimulator(kind: kind, seed: seed, spotScale: spotScale)
      let energies = spec.sample(count: count, seed: seed)
      let tty = isatty(2) != 0
      let result = try simulateShowerFile(simulator: sim, energies: energies, path: out, threads: threads) { p in
        guard !quiet else { return }
        let line = String(format: "simulated %d/%d showers (%.0f showers/s)", p.done, p.total, p.rate)
        FileHandle.standardError.write(Data((tty ? "\r" + line : line + "\n").utf8))
      }
      if !quiet && tty { FileHandle.standardError.write(Data("\n".utf8)) }
      print(String(format: "wrote %@: %d %@ showers, seed %llu, %.1f s (%.0f showers/s)", out, result.done,
                   kind.rawValue, seed, result.elapsed, result.rate))
      print("source: \(simulatorSourceLabel)")
    }
  }
}

/// Parses an energy like `65536`, `65536MeV`, `10GeV`, `1TeV` into MeV.
func parseEnergy(_ text: String, option: String) throws -> Double {
  let t = text.trimmingCharacters(in: .whitespaces).lowercased()
  var factor = 1.0
  var number = Substring(t)
  for (suffix, f) in [("tev", 1e6), ("gev", 1e3), ("mev", 1.0)] where t.hasSuffix(suffix) {
    factor = f
    number = t.dropLast(suffix.count)
    break
  }
  guard let v = Double(number.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else {
    throw ValidationError("\(option): '\(text)' is not a positive energy; write e.g. 65536, 10GeV or 1TeV")
  }
  return v * factor
}
