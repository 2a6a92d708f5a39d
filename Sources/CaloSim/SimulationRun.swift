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
///   - batchSize: showers per batch (default: ~16 MB of voxels, whole HDF5 chunks).
/// - Returns: the final progress (count and timing).
@discardableResult
public func simulateShowerFile(simulator: ShowerSimulator, energies: [Double], path: String,
                               batchSize: Int? = nil,
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                               progress: (SimulationProgress) -> Void = { _ in }) throws -> SimulationProgress {
  let v = simulator.voxelCount
  // Default batch: ~16 MB of voxels, rounded to a multiple of ShowerFileWriter's chunk rows (same formula
  // as there: ~4 MB chunks). A batch ending mid-chunk makes HDF5 compress that chunk, read it back and
  // recompress it with the next batch, which costs more than the simulation itself.
  let chunkRows = max(1, min(1000, (4 << 20) / (v * 4)))
  let batch = max(1, batchSize ?? max(1, min(2000, (16 << 20) / (v * 4)) / chunkRows) * chunkRows)
  let writer = try ShowerFileWriter(path: path, voxelCount: v)
  try writer.setAttribute("calovq_source", simulatorSourceLabel)
  try writer.setAttribute("calovq_seed", String(simulator.seed))
  try writer.setAttribute("calovq_dataset", simulator.kind?.rawValue ?? "custom")
  let start = Date()
  // Pipeline: batch k is compressed and written on a background queue while batch k+1 is simulated
  // (gzip is single-threaded and costs about as much as the simulation for ds2/ds3).
  let pending = PendingWrite(writer: writer)
  let queue = DispatchQueue(label: "calovq.simulate.writer")
  var done = 0
  while done < energies.count {
    let n = min(batch, energies.count - done)
    let e = Array(energies[done..<(done + n)])
    let showers = simulator.showers(energies: e, firstIndex: done, threads: threads)
    try pending.wait()  // the previous batch is on disk; report it, then hand over this one
    if done > 0 { progress(SimulationProgress(done: done, total: energies.count, elapsed: Date().timeIntervalSince(start))) }
    pending.group.enter()
    queue.async {
      pending.run { try pending.writer.append(energies: e, showers: showers) }
    }
    done += n
  }
  try pending.wait()
  progress(SimulationProgress(done: done, total: energies.count, elapsed: Date().timeIntervalSince(start)))
  try writer.finish()
  return SimulationProgress(done: done, total: energies.count, elapsed: Date().timeIntervalSince(start))
}

/// The writer and the error of the one batch being written in the background. Safe to share: at most
/// one write runs at a time (the producer waits on `group` before starting the next) and the producer
/// reads `error` only after that wait.
private final class PendingWrite: @unchecked Sendable {
  let writer: ShowerFileWriter
  let group = DispatchGroup()
  private var error: Error?
  init(writer: ShowerFileWriter) { self.writer = writer }

  func run(_ body: () throws -> Void) {
    do { try body() } catch { self.error = error }
    group.leave()
  }

  /// Waits for the running write and rethrows its error.
  func wait() throws {
    group.wait()
    if let e = error { throw e }
  }
}
