// The explorer's worker thread: loads reference samples, asks the ShowerSource for showers, keeps
// running averages and metrics, and publishes immutable snapshots. The UI thread only submits
// requests and reads the latest snapshot, so keys stay responsive while a batch is generated.

import CaloGeometry
import Foundation

/// Configuration of a worker.
public struct WorkerConfig: Sendable {
  /// Reference file per dataset.
  public var referencePaths: [DatasetKind: String]
  public var sourceFactory: ShowerSourceFactory
  public var metricsFactory: MetricsProviderFactory
  /// How many reference showers nearest to the energy form the comparison sample (ds3: half).
  public var referencePool: Int

  public init(referencePaths: [DatasetKind: String],
              sourceFactory: @escaping ShowerSourceFactory = { _, _, sample in ReferenceFileSource(sample: sample) },
              metricsFactory: @escaping MetricsProviderFactory = LayerEnergyMetrics.factory,
              referencePool: Int = 200)
  {
    self.referencePaths = referencePaths
    self.sourceFactory = sourceFactory
    self.metricsFactory = metricsFactory
    self.referencePool = referencePool
  }
}

/// A request from the UI thread.
public enum WorkerRequest: Sendable, Equatable {
  case setContext(ExplorerContext)
  case generate(count: Int)
  case resetRunning
}

/// Background producer of `ExplorerSnapshot`s.
public final class ExplorerWorker: @unchecked Sendable {
  // Guarded by `cond`: queue, busy, published, stopping.
  private let cond = NSCondition()
  private var queue: [WorkerRequest] = []
  private var busy = false
  private var published = ExplorerSnapshot()
  private var stopping = false
  // Worker-thread state (touched only inside `process`).
  private let config: WorkerConfig
  private var samples: [String: ReferenceSample] = [:]
  private var work = WorkState()

  private struct Variant {
    var source: ShowerSource
    var sum: [Double]
    var count = 0
    var timeSum = 0.0
    var last: SourceShower?
    var metrics: any MetricsProvider
  }

  private struct WorkState {
    var context: ExplorerContext?
    var sample: ReferenceSample?
    var referenceShowers: [SourceShower] = []
    var referenceMean: [Float]?
    var referenceCursor = 0
    var variants: [Normalisation: Variant] = [:]
    var error: String?
  }

  public init(config: WorkerConfig) { self.config = config }

  /// Starts the background thread.
  public func start() {
    let t = Thread { [self] in self.loop() }
    t.name = "calovq-explore-worker"
    t.start()
  }

  /// Queues a request. A new context drops queued generation requests (they were for the old one).
  public func submit(_ r: WorkerRequest) {
    cond.lock()
    if case .setContext = r { queue.removeAll { if case .generate = $0 { return true } else { return false } } }
    queue.append(r)
    cond.broadcast()
    cond.unlock()
  }

  /// The latest published snapshot.
  public func snapshot() -> ExplorerSnapshot {
    cond.lock()
    defer { cond.unlock() }
    return published
  }

  /// Blocks until every queued request is done (used by the non-interactive `--keys` path).
  public func waitIdle() {
    cond.lock()
    while busy || !queue.isEmpty { cond.wait() }
    cond.unlock()
  }

  /// Asks the thread to finish after the current request.
  public func stop() {
    cond.lock()
    stopping = true
    cond.broadcast()
    cond.unlock()
  }

  private func loop() {
    while true {
      cond.lock()
      while queue.isEmpty && !stopping { cond.wait() }
      if stopping {
        cond.unlock()
        return
      }
      let r = queue.removeFirst()
      busy = true
      cond.unlock()
      process(r)
      cond.lock()
      busy = false
      cond.broadcast()
      cond.unlock()
    }
  }

  private var contextPending: Bool {
    cond.lock()
    defer { cond.unlock() }
    return stopping || queue.contains { if case .setContext = $0 { return true } else { return false } }
  }

  private func process(_ r: WorkerRequest) {
    switch r {
    case .setContext(let c): load(c)
    case .resetRunning:
      if let c = work.context { resetVariants(c) }
      publish(busy: nil)
    case .generate(let n):
      guard let c = work.context, work.error == nil else { return }
      var last = Date()
      for i in 0..<n {
        if contextPending { break }
        generateOne(c)
        if Date().timeIntervalSince(last) > 0.1 && i + 1 < n {
          publish(busy: "generating \(i + 1)/\(n)")
          last = Date()
        }
      }
      publish(busy: nil)
    }
  }

  private func load(_ c: ExplorerContext) {
    let old = work.context
    work.context = c
    if let old, old.dataset == c.dataset, old.energyMeV == c.energyMeV, work.error == nil {
      // Only the normalisation changed: keep both variants' running state.
      if work.variants[c.normalisation] == nil { resetVariants(c) }
      publish(busy: nil)
      return
    }
    publish(busy: "loading \(c.dataset.rawValue) reference near \(formatEnergy(c.energyMeV)) ...")
    work.error = nil
    work.sample = nil
    work.variants = [:]
    work.referenceShowers = []
    work.referenceMean = nil
    do {
      guard let path = config.referencePaths[c.dataset] else {
        throw ExplorerDataError("no reference file is configured for \(c.dataset.rawValue); pass --reference FILE")
      }
      guard FileManager.default.fileExists(atPath: path) else {
        throw ExplorerDataError("reference file '\(path)' for \(c.dataset.rawValue) is missing. Create it with "
          + "`calovq simulate` (sample-data/) or pass --reference FILE; press d for another dataset.")
      }
      let sample: ReferenceSample
      if let s = samples[path] { sample = s } else {
        sample = try ReferenceSample(path: path, expected: c.dataset)
        samples[path] = sample
      }
      work.sample = sample
      let pool = c.dataset == .ds3 ? max(1, config.referencePool / 2) : config.referencePool
      let rows = sample.nearestRows(to: c.energyMeV, limit: pool)
      var sum = [Double](repeating: 0, count: sample.geometry.voxelCount)
      for row in rows {
        let v = try sample.shower(row: row)
        for k in v.indices { sum[k] += Double(v[k]) }
        work.referenceShowers.append(SourceShower(energyMeV: sample.energies[row], voxels: v, timeMs: 0,
                                                  origin: "file row \(row)"))
      }
      work.referenceMean = sum.map { Float($0 / Double(max(rows.count, 1))) }
      work.referenceCursor = 0
      resetVariants(c)
    } catch {
      work.error = "\(error)"
    }
    publish(busy: nil)
  }

  private func resetVariants(_ c: ExplorerContext) {
    guard let sample = work.sample else { return }
    let refs = work.referenceShowers
    var fresh: [Normalisation: Variant] = [:]
    for norm in Normalisation.allCases {
      do {
        let src = try work.variants[norm]?.source ?? config.sourceFactory(c.dataset, norm, sample)
        fresh[norm] = Variant(source: src, sum: Array(repeating: 0, count: sample.geometry.voxelCount),
                              metrics: config.metricsFactory(sample.geometry, refs.map(\.voxels), refs.map(\.energyMeV)))
      } catch {
        if norm == c.normalisation { work.error = "\(error)" }
      }
    }
    work.variants = fresh
    work.referenceCursor = 0
  }

  private func generateOne(_ c: ExplorerContext) {
    guard var v = work.variants[c.normalisation] else { return }
    do {
      let s = try v.source.nextShower(energyMeV: c.energyMeV)
      for k in s.voxels.indices { v.sum[k] += Double(s.voxels[k]) }
      v.count += 1
      v.timeSum += s.timeMs
      v.last = s
      v.metrics.add(s.voxels, energyMeV: s.energyMeV)
      work.variants[c.normalisation] = v
      if !work.referenceShowers.isEmpty { work.referenceCursor = (work.referenceCursor + 1) % work.referenceShowers.count }
    } catch {
      work.error = "\(error)"
    }
  }

  private func publish(busy: String?) {
    var s = ExplorerSnapshot()
    s.context = work.context
    s.geometry = work.sample?.geometry
    s.referencePath = work.sample?.path ?? ""
    s.error = work.error
    s.busy = busy
    if let c = work.context, work.sample?.kind == c.dataset {
      if let v = work.variants[c.normalisation] {
        s.sourceName = v.source.name
        s.sourceIsModel = v.source.isModel
        s.current = v.last
        s.generatedCount = v.count
        if v.count > 0 {
          s.generatedMean = v.sum.map { Float($0 / Double(v.count)) }
          s.meanTimeMs = v.timeSum / Double(v.count)
        }
      }
      if !work.referenceShowers.isEmpty { s.reference = work.referenceShowers[work.referenceCursor] }
      s.referenceMean = work.referenceMean
      s.referenceCount = work.referenceShowers.count
      for (n, v) in work.variants where v.count > 0 { s.metrics[n] = v.metrics.table() }
      if s.metrics.isEmpty, let v = work.variants[c.normalisation] { s.metrics[c.normalisation] = v.metrics.table() }
    } else {
      s.geometry = work.context?.dataset.geometry
    }
    cond.lock()
    s.version = published.version + 1
    published = s
    cond.unlock()
  }
}

/// A data problem described in one sentence for the status area.
struct ExplorerDataError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}
