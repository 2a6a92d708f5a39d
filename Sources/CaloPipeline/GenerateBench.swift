// `calovq bench generate`: ms/shower of stage 2 (KV-cache GPT sampling), stage 1 (decoder, when a
// codec is available) and total, median of repeats after one warm-up, plus peak memory (maxrss).
// Wall time and CPU time (getrusage user+system of the whole process, all threads) are both
// reported: on a shared, loaded machine wall time includes waiting for a core, CPU time does not.
// Random weights of the requested preset: speed does not depend on training.
import CaloData
import CaloGeometry
import CaloModel
import CaloTensor
import Foundation

/// One line of the generation benchmark.
public struct GenerateBenchRow: Sendable {
  public var label: String
  public var batch: Int
  public var repeats: Int
  /// Median milliseconds per shower of GPT sampling.
  public var stage2Ms: Double
  /// Median milliseconds per shower of decode + assemble (nil without a stage-1 model).
  public var stage1Ms: Double?
  /// GPT GFLOP/s at the median (multiply–adds × 2 with the cache).
  public var stage2GFlops: Double
  /// Peak resident memory of the process so far, MB.
  public var maxRSSMB: Double
  /// Median CPU milliseconds (all threads) per shower of stage 2 and of stage 1.
  public var stage2CPUMs: Double = 0
  public var stage1CPUMs: Double?

  public var totalMs: Double? { stage1Ms.map { $0 + stage2Ms } }

  /// Fixed-width table line.
  public var line: String {
    let s1 = stage1Ms.map { String(format: "%.4f", $0) } ?? "n/a"
    let tot = totalMs.map { String(format: "%.4f", $0) } ?? "n/a"
    let c1 = stage1CPUMs.map { String(format: "%.4f", $0) } ?? "n/a"
    let ctot = stage1CPUMs.map { String(format: "%.4f", $0 + stage2CPUMs) } ?? "n/a"
    return GenerateBenchRow.row([label, "\(batch)", "\(repeats)", String(format: "%.4f", stage2Ms), s1, tot,
                                 String(format: "%.4f", stage2CPUMs), c1, ctot,
                                 String(format: "%.1f", stage2GFlops), String(format: "%.0f", maxRSSMB)])
  }

  /// Column titles matching `line` (wall ms, then CPU ms, per shower).
  public static let header = row(["model", "batch", "reps", "stage2 ms", "stage1 ms", "total ms",
                                  "s2 cpu ms", "s1 cpu ms", "tot cpu ms", "GFLOP/s", "maxrss MB"])

  static func row(_ cells: [String]) -> String {
    let widths = [18, 6, 5, 10, 10, 10, 10, 10, 10, 8, 10]
    return zip(cells, widths).enumerated().map { i, cw in
      let pad = String(repeating: " ", count: max(0, cw.1 - cw.0.count))
      return i == 0 ? cw.0 + pad : pad + cw.0
    }.joined(separator: " ")
  }
}

/// Peak resident set size of this process in MB (getrusage; Linux reports KB).
public func peakMemoryMB() -> Double {
  var u = rusage()
  #if os(Linux)
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_maxrss) / 1024          // KB
  #else
  getrusage(RUSAGE_SELF, &u)
  return Double(u.ru_maxrss) / 1_048_576     // bytes on Darwin
  #endif
}

/// CPU seconds (user + system, all threads) this process used so far.
public func processCPUSeconds() -> Double {
  var u = rusage()
  #if os(Linux)
  getrusage(RUSAGE_SELF.rawValue, &u)
  #else
  getrusage(RUSAGE_SELF, &u)
  #endif
  func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
  return s(u.ru_utime) + s(u.ru_stime)
}

/// Times generation with a random-weight GPT of `config` at each batch size.
/// - Parameters:
///   - codec: a stage-1 model to time the decoder with (nil: stage 1 is reported as n/a).
///   - repeats: timed runs per batch size (after one warm-up); the median is reported.
///   - naiveDecoder: time the codec's own (tape-based) decode instead of the fast `Stage1Decoder`.
public func benchGenerate(config: GPTConfig, label: String, batches: [Int], repeats: Int = 5, lanes: Int = Compute.lanes,
                          codec: (any ShowerCodec)? = nil, naiveDecoder: Bool = false,
                          seed: UInt64 = 7) throws -> [GenerateBenchRow] {
  try benchGenerate(gpt: GPT(config: config, seed: seed), label: label, batches: batches, repeats: repeats,
                    lanes: lanes, codec: codec, naiveDecoder: naiveDecoder, seed: seed)
}

/// Times generation with a given GPT (e.g. a trained model folder's) at each batch size, with the
/// folder's sampling options and spot-rounding table when given: stage 1 then covers decode, assemble
/// and spot rounding, as in `calovq generate`.
public func benchGenerate(gpt: GPT, label: String, batches: [Int], repeats: Int = 5, lanes: Int = Compute.lanes,
                          codec: (any ShowerCodec)? = nil, options: SamplingOptions = .init(),
                          spotRounding: SpotRoundingTable? = nil, naiveDecoder: Bool = false,
                          seed: UInt64 = 7) throws -> [GenerateBenchRow] {
  let config = gpt.config
  let engine = GPTEngine(model: gpt)
  var rows: [GenerateBenchRow] = []
  let gen = try codec.map { try ShowerGenerator(codec: $0, gpt: gpt, options: options, spotRounding: spotRounding) }
  let fast = naiveDecoder ? nil : gen?.fastDecoder
  for b in batches {
    precondition(b >= 1, "batch sizes must be ≥ 1")
    let energies = sampleEnergies(.automatic, dataset: config.dataset, total: b, range: 0..<b, seed: seed)
    var t2: [Double] = [], t1: [Double] = [], c2: [Double] = [], c1: [Double] = []
    for rep in 0...repeats {
      let seeds = (0..<b).map { derivedSeed(seed, UInt64(rep), UInt64($0)) }
      let a = Date(), ac = processCPUSeconds()
      let tokens = GPTSampler(engine: engine, energies: energies, seeds: seeds, options: options, lanes: lanes).run()
      let s2 = Date().timeIntervalSince(a), s2c = processCPUSeconds() - ac
      var s1: Double?, s1c: Double?
      if let codec, let gen {
        let (r, codes) = gen.split(tokens: tokens, count: b)
        let c = Date(), cc = processCPUSeconds()
        let u = try fast?.decode(codes: codes, energies: energies, lanes: lanes) ?? codec.decode(codes: codes, energies: energies)
        var showers = try codec.assemble(pixelsU: u, r: r, energies: energies)
        gen.roundSpots(&showers, energies: energies, seeds: seeds)
        s1 = Date().timeIntervalSince(c)
        s1c = processCPUSeconds() - cc
      }
      if rep > 0 {  // rep 0 is the warm-up
        t2.append(s2); c2.append(s2c)
        if let s1, let s1c { t1.append(s1); c1.append(s1c) }
      }
    }
    func median(_ x: [Double]) -> Double { let s = x.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2]) }
    let m2 = median(t2)
    rows.append(GenerateBenchRow(label: label, batch: b, repeats: repeats, stage2Ms: 1000 * m2 / Double(b),
                                 stage1Ms: t1.isEmpty ? nil : 1000 * median(t1) / Double(b),
                                 stage2GFlops: engine.flopsPerSequence * Double(b) / m2 / 1e9,
                                 maxRSSMB: peakMemoryMB(), stage2CPUMs: 1000 * median(c2) / Double(b),
                                 stage1CPUMs: c1.isEmpty ? nil : 1000 * median(c1) / Double(b)))
  }
  return rows
}
