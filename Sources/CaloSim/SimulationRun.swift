// Streams a whole simulation run to a CaloChallenge HDF5 file batch by batch: memory stays at one
// batch (100k ds3 showers never sit in memory), the file appears atomically when complete.

import CaloData
import CaloGeometry
import Foundation

/// Progress of a running simulation, reported after every batch.
public struct SimulationProgress: Sendable {
  /// Showers written so far and in total.
  public var done: Int, total: Int
  /// Seconds since the start.
  public var elapsed: Double
  /// Showers per second so far.
  public var rate: Double { elapsed > 0 ? Double(done) / elapsed : 0 }
}

/// Simulates `energies.count` showers with `simulator` and writes them to `path` (gzip, written to a
/// temporary name and renamed when complete). The root attribute `calovq_source` records that the
/// showers are parameterised, not GEANT4; `calovq_seed` and `calovq_dataset` make the file reproducible.
/// - Parameters:
///   - energies: incident energies in MeV. Shape (N).
///   - batchSize: showers per batch (default: ~16 MB of voxels per batch).
/// - Returns: the final progress (count and timing).
@discardableResult
public func simulateShowerFile(simulator: ShowerSimulator, energies: [Double], path: String,
                               batchSize: Int? = nil,
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                               progress: (SimulationProgress) -> Void = { _ in }) throws -> SimulationProgress {
  let v = simulator.voxelCount
  let batch = max(1, batchSize ?? min(2000, (16 << 20) / (v * 4)))
  let writer = try ShowerFileWriter(path: path, voxelCount: v)
  try writer.setAttribute(name: "calovq_source", value: simulatorSourceLabel)
  try writer.setAttribute(name: "calovq_seed", value: String(simulator.seed))
  try writer.setAttribute(name: "calovq_dataset", value: simulator.kind?.rawValue ?? "custom")
  let start = Date()
  var done = 0
  while done < energies.count {
    let n = min(batch, energies.count - done)
    let e = Array(energies[done..<(done + n)])
    let showers = simulator.showers(energies: e, firstIndex: done, threads: threads)
    try writer.append(energies: e, showers: showers)
    done += n
    progress(SimulationProgress(done: done, total: energies.count, elapsed: Date().timeIntervalSince(start)))
  }
  try writer.finish()
  return SimulationProgress(done: done, total: energies.count, elapsed: Date().timeIntervalSince(start))
}
