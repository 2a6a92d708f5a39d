// Public entry point: a seeded, thread-safe parameterised (GFlash-style) shower simulator for the
// CaloChallenge geometries. These showers are NOT GEANT4 showers.

import CaloData
import CaloGeometry
import Foundation

/// What every file and screen showing simulator output says about its origin.
public let simulatorSourceLabel = ShowerSource.simulator

/// Simulates showers of one detector model. Immutable and `Sendable`: share one instance across threads.
///
/// Shower `i` of a run with seed `s` is drawn from its own random stream derived from (s, i), so the
/// output is identical whether showers are generated one by one, in batches, or on any number of threads.
public final class ShowerSimulator: Sendable {
  /// The dataset this simulator writes (nil for a custom model).
  public let kind: DatasetKind?
  /// The detector description in use.
  public let model: DetectorModel
  /// The run seed.
  public let seed: UInt64
  let engine: ShowerEngine

  /// A simulator for a CaloChallenge dataset. `spotScale` multiplies the GFlash spot count.
  public convenience init(kind: DatasetKind, seed: UInt64, spotScale: Double = 1) {
    var m = DetectorModel.forDataset(kind)
    m.spotScale = spotScale
    self.init(model: m, seed: seed, kind: kind)
  }

  /// A simulator for any detector model (e.g. a finer custom binning of the Par04 stack).
  public init(model: DetectorModel, seed: UInt64, kind: DatasetKind? = nil) {
    self.model = model
    self.seed = seed
    self.kind = kind
    engine = ShowerEngine(model: model)
  }

  /// Voxels per shower.
  public var voxelCount: Int { engine.voxels }

  /// Shower number `index` of this run at incident energy `energy` MeV. Shape (voxels), MeV.
  public func shower(energy: Double, index: Int) -> [Float] {
    var out = [Float](repeating: 0, count: voxelCount)
    var scratch = ShowerEngine.Scratch(voxels: voxelCount)
    out.withUnsafeMutableBufferPointer { o in
      var rng = SimRNG(seed: seed, stream: UInt64(index))
      engine.simulate(energy: energy, rng: &rng, scratch: &scratch, out: o)
    }
    return out
  }

  /// Showers `firstIndex ..< firstIndex + energies.count` on `threads` threads.
  /// - Parameter energies: incident energies in MeV. Shape (N).
  /// - Returns: voxel energies in MeV, row-major. Shape (N, voxels).
  public func showers(energies: [Double], firstIndex: Int = 0,
                      threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Float] {
    let v = voxelCount, n = energies.count
    var out = [Float](repeating: 0, count: n * v)
    let nThreads = max(1, min(threads, n))
    out.withUnsafeMutableBufferPointer { buf in
      let rows = DisjointRows(base: buf.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: nThreads) { t in
        var scratch = ShowerEngine.Scratch(voxels: v)
        // Strided assignment balances the load: energies are shuffled or log-uniform.
        var i = t
        while i < n {
          var rng = SimRNG(seed: seed, stream: UInt64(firstIndex + i))
          engine.simulate(energy: energies[i], rng: &rng, scratch: &scratch,
                          out: UnsafeMutableBufferPointer(start: rows.base + i * v, count: v))
          i += nThreads
        }
      }
    }
    return out
  }

  /// Depth of the mean EM shower maximum the parameterisation predicts, in X0 from the shower start
  /// (GFlash sampling means without fluctuations). Used to check simulated profiles.
  public func predictedEMShowerMaximum(energy: Double) -> Double {
    LongitudinalProfile.meanTMax(energyMeV: energy, medium: model.em)
  }

  /// Front depth of each slab in X0 and in λ_I, with the slab, front to back.
  public var slabDepths: [(slab: Slab, x0Front: Double, lambdaFront: Double)] {
    engine.slabs.map { ($0.slab, $0.t0, $0.s0) }
  }
}

/// The output buffer shared by the worker threads. Safe because every thread writes only its own rows
/// (shower i goes to row i, and each i belongs to exactly one thread) and the buffer outlives the workers.
private struct DisjointRows: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
}
