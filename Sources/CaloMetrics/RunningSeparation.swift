// Running separation powers for the explorer: the reference is fixed once, generated batches are added
// while they arrive, and the current values or histograms can be read at any time from any thread.

import CaloGeometry
import Foundation

/// Separation powers of generated showers against a fixed reference, updated batch by batch.
///
/// Thread-safe: `add` may run on a worker thread while the UI calls `current()` / `histograms()`.
/// Example:
///
///     let run = try RunningSeparation(kind: .ds1Photon) { body in
///       try reader.forEachBatch(size: 1000) { try body($0.energies, $0.showers) }
///     }
///     run.add(energies: e, showers: s)
///     for entry in run.current() { print(entry.label, entry.value ?? .nan) }
public final class RunningSeparation: @unchecked Sendable {
  public let reference: ReferenceHistograms
  private var generated: SampleHistograms
  private let extractor: FeatureExtractor
  private let lock = NSLock()

  /// Uses an already built reference.
  public init(reference: ReferenceHistograms) {
    self.reference = reference
    generated = SampleHistograms(reference: reference)
    extractor = FeatureExtractor(kind: reference.kind)
  }

  /// Builds the reference from a replayable batch source (called twice; see `ReferenceHistograms.build`).
  public convenience init(
    kind: DatasetKind,
    reference forEachBatch: ((_ energies: [Double], _ showers: [Float]) throws -> Void) throws -> Void
  ) rethrows {
    self.init(reference: try ReferenceHistograms.build(kind: kind, forEachBatch: forEachBatch))
  }

  /// Adds generated showers. Shapes: energies (N), showers (N·voxels) in MeV, unthresholded.
  public func add(energies: [Double], showers: [Float]) {
    // Features are computed outside the lock so readers are never blocked by the heavy part.
    let t = extractor.features(energies: energies, showers: showers)
    lock.lock()
    defer { lock.unlock() }
    generated.add(table: t, showers: showers)
  }

  /// Generated showers added so far.
  public var generatedCount: Int {
    lock.lock()
    defer { lock.unlock() }
    return generated.count
  }

  /// Current separation power of every histogram (nil = undefined, e.g. nothing generated yet).
  public func current() -> [SeparationEntry] { separations(histograms()) }

  /// Current histograms (edges, reference counts, generated counts, separation) for drawing.
  public func histograms() -> [HistogramComparison] {
    lock.lock()
    let g = generated
    lock.unlock()
    return compare(reference: reference, generated: g)
  }

  /// Forgets the generated showers (keeps the reference).
  public func reset() {
    lock.lock()
    defer { lock.unlock() }
    generated = SampleHistograms(reference: reference)
  }
}
