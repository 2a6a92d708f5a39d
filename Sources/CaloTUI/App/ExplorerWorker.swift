// The explorer's worker thread: loads reference samples, asks the ShowerSource for showers, keeps
// running averages, metrics and codebook usage, runs the step-by-step sampler and the stage-1
// encoder, and publishes immutable snapshots. The UI thread only submits requests and reads the
// latest snapshot, so keys stay responsive while a batch is generated.

import CaloGeometry
import CaloModel
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
              metricsFactory: @escaping MetricsProviderFactory = SeparationMetrics.factory,
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
  /// Step-by-step demo: draw one token (opens a new sequence when none is open).
  case stepToken
  /// Draw the rest of the open step-by-step sequence and decode it.
  case finishSequence
  /// Encode the reference shower on screen: its tokens, reconstruction and residual.
  case encodeReference
  /// Encode the whole reference sample for the codebook usage (once per context and model).
  case encodeReferenceSample
  /// Decode a latent grid filled with one code.
  case footprint(code: Int)
}

/// Showers per model batch inside a `G` request (between batches the worker publishes progress and
/// checks for a newer context).
let generationChunk = 10

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
    /// Codes drawn in generated showers. Shape (K) when the source is a model.
    var codeUsage: [Int] = []
    var codeShowers = 0
    var referenceUsage: [Int]?
    var referenceUsageShowers = 0
    var stepper: GPTSampler?
    var stepMs = 0.0
    var panel: TokenPanel?
    var footprint: CodeFootprint?

    var model: ModelShowerSource? { source as? ModelShowerSource }
  }

  private struct WorkState {
    var context: ExplorerContext?
    var sample: ReferenceSample?
    var referenceShowers: [SourceShower] = []
    var referenceMean: [Float]?
    var referenceCursor = 0
    var variants: [Normalisation: Variant] = [:]
    var error: String?
    /// One-line outcome of the last request (e.g. "no model"), cleared by the next request.
    var notice: String?
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
    work.notice = nil
    switch r {
    case .setContext(let c): load(c)
    case .resetRunning:
      if let c = work.context { resetVariants(c) }
      publish(busy: nil)
    case .generate(let n):
      guard let c = work.context, work.error == nil else { return }
      var last = Date()
      var done = 0
      while done < n {
        if contextPending { break }
        let k = work.variants[c.normalisation]?.model != nil ? min(generationChunk, n - done) : 1
        generate(c, count: k)
        done += k
        if Date().timeIntervalSince(last) > 0.1 && done < n {
          publish(busy: "generating \(done)/\(n)")
          last = Date()
        }
      }
      publish(busy: nil)
    case .stepToken, .finishSequence:
      guard let c = work.context, work.error == nil else { return }
      step(c, toEnd: r == .finishSequence)
      publish(busy: nil)
    case .encodeReference:
      guard let c = work.context, work.error == nil else { return }
      encodeReference(c)
      publish(busy: nil)
    case .encodeReferenceSample:
      guard let c = work.context, work.error == nil, let v = work.variants[c.normalisation], let m = v.model,
        v.referenceUsage == nil, !work.referenceShowers.isEmpty
      else { return }
      publish(busy: "encoding \(work.referenceShowers.count) reference showers with \(m.name) ...")
      do {
        let codes = try m.encode(work.referenceShowers.map(\.voxels), energies: work.referenceShowers.map(\.energyMeV))
        var usage = [Int](repeating: 0, count: m.codebookSize)
        for k in codes where Int(k) < usage.count { usage[Int(k)] += 1 }
        let n = work.referenceShowers.count  // read before the write access to `work` below begins
        work.variants[c.normalisation]?.referenceUsage = usage
        work.variants[c.normalisation]?.referenceUsageShowers = n
      } catch {
        work.notice = "encoding the reference failed: \(error)"
      }
      publish(busy: nil)
    case .footprint(let code):
      guard let c = work.context, work.error == nil, let v = work.variants[c.normalisation], let m = v.model,
        let like = work.referenceMean
      else { return }
      if let f = v.footprint, f.code == code { return }
      do {
        let start = DispatchTime.now().uptimeNanoseconds
        let voxels = try m.footprint(code: code, energyMeV: c.energyMeV, like: like)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        work.variants[c.normalisation]?.footprint = CodeFootprint(code: code, energyMeV: c.energyMeV, voxels: voxels,
                                                                  timeMs: ms)
      } catch {
        work.notice = "\(error)"
      }
      publish(busy: nil)
    }
  }

  /// The active variant's model, or nil with a notice saying why not.
  private func activeModel(_ c: ExplorerContext, for what: String) -> ModelShowerSource? {
    guard let v = work.variants[c.normalisation] else { return nil }
    guard let m = v.model else {
      work.notice = "\(what) needs a model: \(v.source.name); put one in the models folder or pass --model DIR"
      return nil
    }
    return m
  }

  private func step(_ c: ExplorerContext, toEnd: Bool) {
    guard let m = activeModel(c, for: "step-by-step generation") else { return }
    var v = work.variants[c.normalisation]!
    let start = DispatchTime.now().uptimeNanoseconds
    let sampler: GPTSampler
    if let s = v.stepper, !s.isFinished {
      sampler = s
    } else {
      sampler = m.stepper(energyMeV: c.energyMeV)
      v.stepMs = 0
    }
    var candidates: [TokenCandidate] = []
    var drawnP: Float?
    if toEnd {
      _ = sampler.run()
    } else {
      sampler.step()
      candidates = ModelShowerSource.candidates(sampler, k: 8)
      drawnP = sampler.probabilities(sequence: 0)[Int(sampler.lastTokens[0])]
    }
    v.stepMs += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    let tokens = m.split(sampler.tokens.prefix(sampler.position))
    let T = sampler.length
    var panel = TokenPanel(kind: .stepping, title: "step by step: \(sampler.position)/\(T) tokens at "
                             + formatEnergy(c.energyMeV), tokens: tokens, candidates: candidates,
                           lastToken: toEnd ? nil : sampler.lastTokens.first)
    panel.lastProbability = drawnP
    if sampler.isFinished {
      v.stepper = nil
      work.variants[c.normalisation] = v
      do {
        let voxels = try m.shower(of: sampler)
        let shower = SourceShower(energyMeV: c.energyMeV, voxels: voxels, timeMs: v.stepMs,
                                  origin: "\(m.name) step by step", tokens: tokens)
        record(c, [shower])
        panel.title = "step by step: complete (\(T) tokens), shower decoded and added"
      } catch {
        work.notice = "\(error)"
      }
    } else {
      v.stepper = sampler
      work.variants[c.normalisation] = v
    }
    work.variants[c.normalisation]?.panel = panel
  }

  private func encodeReference(_ c: ExplorerContext) {
    guard let m = activeModel(c, for: "encoding a reference shower") else { return }
    guard !work.referenceShowers.isEmpty else { return }
    let ref = work.referenceShowers[work.referenceCursor]
    do {
      let (tokens, rec) = try m.encodeShower(ref.voxels, energyMeV: ref.energyMeV)
      work.variants[c.normalisation]?.panel = TokenPanel(
        kind: .encoded, title: "reference \(ref.origin) encoded by stage 1", tokens: tokens, candidates: [],
        lastToken: nil, original: ref.voxels, reconstruction: rec)
    } catch {
      work.notice = "\(error)"
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
        let old = work.variants[norm]
        let src = try old?.source ?? config.sourceFactory(c.dataset, norm, sample)
        var v = Variant(source: src, sum: Array(repeating: 0, count: sample.geometry.voxelCount),
                        metrics: config.metricsFactory(c.dataset, refs.map(\.voxels), refs.map(\.energyMeV)))
        // Same context (x): the encoded reference and the footprint stay valid.
        v.referenceUsage = old?.referenceUsage
        v.referenceUsageShowers = old?.referenceUsageShowers ?? 0
        v.footprint = old?.footprint
        fresh[norm] = v
      } catch {
        if norm == c.normalisation { work.error = "\(error)" }
      }
    }
    work.variants = fresh
    work.referenceCursor = 0
  }

  private func generate(_ c: ExplorerContext, count: Int) {
    guard let v = work.variants[c.normalisation] else { return }
    do {
      let showers = try v.source.nextShowers(energyMeV: c.energyMeV, count: count)
      record(c, showers)
      if let last = showers.last, let t = last.tokens {
        work.variants[c.normalisation]?.panel = TokenPanel(
          kind: .generated, title: "last generated shower (\(last.origin))", tokens: t, candidates: [], lastToken: nil)
      }
    } catch {
      work.error = "\(error)"
    }
  }

  /// Adds showers of the active source to the running averages, metrics and code usage.
  private func record(_ c: ExplorerContext, _ showers: [SourceShower]) {
    guard var v = work.variants[c.normalisation] else { return }
    for s in showers {
      for k in s.voxels.indices { v.sum[k] += Double(s.voxels[k]) }
      v.count += 1
      v.timeSum += s.timeMs
      v.last = s
      v.metrics.add(s.voxels, energyMeV: s.energyMeV)
      if let t = s.tokens, let m = v.model {
        if v.codeUsage.count != m.codebookSize { v.codeUsage = Array(repeating: 0, count: m.codebookSize) }
        for k in t.codes where Int(k) < v.codeUsage.count { v.codeUsage[Int(k)] += 1 }
        v.codeShowers += 1
      }
      if !work.referenceShowers.isEmpty { work.referenceCursor = (work.referenceCursor + 1) % work.referenceShowers.count }
    }
    work.variants[c.normalisation] = v
  }

  private func publish(busy: String?) {
    var s = ExplorerSnapshot()
    s.context = work.context
    s.geometry = work.sample?.geometry
    s.referencePath = work.sample?.path ?? ""
    s.error = work.error
    s.busy = busy
    s.notice = work.notice
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
        if let m = v.model {
          s.model = ModelSummary(name: m.name, directory: m.directory, codebookSize: m.codebookSize,
                                 latentShape: m.latentShape, rTokenCount: m.gptConfig.rTokens.tokenCount,
                                 valueNames: m.valueNames)
          s.codebook = CodebookUsage(size: m.codebookSize,
                                     generated: v.codeUsage.isEmpty ? Array(repeating: 0, count: m.codebookSize) : v.codeUsage,
                                     generatedShowers: v.codeShowers, reference: v.referenceUsage,
                                     referenceShowers: v.referenceUsageShowers)
          s.footprint = v.footprint
        }
        s.tokenPanel = v.panel
      }
      for (n, v) in work.variants { s.sourceNames[n] = v.source.name }
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
