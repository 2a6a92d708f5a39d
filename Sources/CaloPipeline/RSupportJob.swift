// `calovq fit-r-support`: the per-energy support of a model's R tokens (CaloModel's `RSupport`),
// fitted on training showers and written into the model folder's stage2.safetensors.
import CaloData
import CaloModel
import Foundation

/// What `fitRSupport` wrote.
public struct RSupportSummary: Sendable {
  public var support: RSupport
  /// Showers the support was fitted on.
  public var showers: Int
  /// (bin, value) cells in which the leading digit 0 is excluded, and all cells.
  public var zeroExcluded: Int
  public var cells: Int
  /// Mean number of allowed leading digits per cell.
  public var meanAllowedDigits: Double
  /// With `emptyRateIterations` > 0: per iteration, the mean and largest |generated − training| rate
  /// of leading digit 0 over the cells where training has both (measured before that iteration's update).
  public var emptyRateGaps: [(mean: Double, worst: Double)] = []
}

/// Fits the R support of `modelDirectory`'s GPT on the first `count` showers (nil: all) of `dataPath`
/// and rewrites its stage2.safetensors with it (same precision; written to a temporary name and
/// renamed, the weights and the other metadata unchanged). It takes effect where the sampler's R
/// constraint is on (`constrainR`, e.g. `{"constrainR": true}` in the folder's sampling.json).
/// With `emptyRateIterations` > 0 it then fits the support's `zeroLogitOffsets`: the GPT draws the R
/// tokens of `emptyRateShowers` showers at the training showers' energies (seeds derivedSeed(seed, 40, i),
/// the same every iteration, under the folder's sampling.json with the R constraint on), and each
/// cell's offset moves by the difference of the training and generated log-odds of an empty value
/// (a step of at most 1.5), in the cells where training has both empty and non-empty values and both
/// sides hold at least 20 showers.
/// - Throws: the loaders' errors; `ShowerFile` errors for a bad data file or one of another dataset.
public func fitRSupport(modelDirectory: String, dataPath: String, count: Int?, binsPerDecade: Int = 4,
                        neighbours: Int = 1, emptyRateIterations: Int = 0, emptyRateShowers: Int = 5000,
                        seed: UInt64 = 1, log: (String) -> Void = { _ in }) throws -> RSupportSummary {
  guard emptyRateIterations >= 0, emptyRateShowers >= 1 else {
    throw Stage2Error.badInput("--empty-rates must be ≥ 0 and --empty-rate-showers ≥ 1")
  }
  guard count.map({ $0 >= 1 }) ?? true else { throw Stage2Error.badInput("--count must be ≥ 1") }
  guard binsPerDecade >= 1, binsPerDecade <= 100 else { throw Stage2Error.badInput("--bins-per-decade must be in 1…100, e.g. 4") }
  guard neighbours >= 0 else { throw Stage2Error.badInput("--neighbours must be ≥ 0, e.g. 1") }
  let (codec, gpt) = try loadModelDirectory(modelDirectory)
  let cfg = gpt.config
  var tokens: [Int32] = [], energies: [Double] = []
  let reader = try ShowerFileReader(path: dataPath, expected: cfg.dataset)
  try reader.forEachBatch(size: 1000, limit: count) { batch in
    tokens += cfg.rTokens.encode(ratios: try codec.rValues(energies: batch.energies, showers: batch.showers))
    energies += batch.energies
  }
  guard !energies.isEmpty else { throw Stage2Error.badInput("'\(dataPath)' holds no showers; pass a training file") }
  var support = RSupport.fit(tokens: tokens, energies: energies, tokenizer: cfg.rTokens, binsPerDecade: binsPerDecade,
                             neighbours: neighbours)
  var gaps: [(mean: Double, worst: Double)] = []
  if emptyRateIterations > 0 {
    var options = try loadModelSampling(modelDirectory)
    options.constrainR = true
    (support, gaps) = try fitEmptyRates(gpt: gpt, support: support, tokens: tokens, energies: energies, options: options,
                                    iterations: emptyRateIterations, showers: emptyRateShowers, seed: seed, log: log)
  }
  let path = modelDirectory + "/stage2.safetensors"
  let half = try SafeTensorsF32.storesFloat16(path)
  let (tensors, meta) = try SafeTensorsF32.read(path)
  var updated = cfg
  updated.rSupport = support
  var newMeta = meta
  newMeta["config"] = updated.jsonString()
  try SafeTensorsF32.write(tensors.keys.sorted().map { ($0, tensors[$0]!.shape, tensors[$0]!.data) }, metadata: newMeta,
                           to: path, float16: half)
  _ = try loadModelDirectory(modelDirectory)   // the rewritten folder must load
  var excluded = 0, allowed = 0
  let cells = support.binCount * cfg.rTokens.valueCount
  for b in 0..<support.binCount {
    for v in 0..<cfg.rTokens.valueCount {
      let a = support.allowedLeadingDigits(bin: b, value: v)
      if !a.zero { excluded += 1 }
      allowed += (a.zero ? 1 : 0) + (a.nonZero?.count ?? 0)
    }
  }
  return RSupportSummary(support: support, showers: energies.count, zeroExcluded: excluded, cells: cells,
                         meanAllowedDigits: Double(allowed) / Double(cells), emptyRateGaps: gaps)
}

/// Per (bin, value) of `support`: showers and how many of them have leading digit 0, from R tokens
/// (N, tokenCount) or whole sequences (N, T) with `stride` T.
private func emptyCounts(_ tokens: [Int32], stride: Int, energies: [Double], support: RSupport,
                         tokenizer: RTokenizer) -> (zero: [[Double]], all: [[Double]]) {
  let V = tokenizer.valueCount, tpv = tokenizer.tokensPerValue
  var zero = [[Double]](repeating: [Double](repeating: 0, count: V), count: support.binCount), all = zero
  for (s, e) in energies.enumerated() {
    let b = support.bin(forEnergy: e)
    for v in 0..<V {
      all[b][v] += 1
      if tokens[s * stride + v * tpv] == 0 { zero[b][v] += 1 }
    }
  }
  return (zero, all)
}

/// The fixed-point iteration of `fitRSupport`'s empty rates; returns the support with the offsets and
/// the gap before each iteration's update.
private func fitEmptyRates(gpt: GPT, support start: RSupport, tokens: [Int32], energies: [Double], options: SamplingOptions,
                           iterations: Int, showers: Int, seed: UInt64,
                           log: (String) -> Void) throws -> (RSupport, [(mean: Double, worst: Double)]) {
  let cfg = gpt.config, A = cfg.rTokens.tokenCount, V = cfg.rTokens.valueCount
  let target = emptyCounts(tokens, stride: A, energies: energies, support: start, tokenizer: cfg.rTokens)
  let genEnergies = (0..<showers).map { energies[$0 % energies.count] }
  let seeds = (0..<showers).map { derivedSeed(seed, 40, UInt64($0)) }
  var support = start
  var offsets = [[Float]](repeating: [Float](repeating: 0, count: V), count: support.binCount)
  var gaps: [(mean: Double, worst: Double)] = []
  let weights = Dictionary(uniqueKeysWithValues: gpt.parameters.tensors.map { ($0.name!, ($0.shape, $0.data)) })
  // Smoothed log-odds, so a cell that is (almost) never or always empty moves by a bounded step.
  func logOdds(_ k: Double, _ n: Double) -> Double { let f = (k + 0.5) / (n + 1); return Foundation.log(f / (1 - f)) }
  for it in 0...iterations {
    support.zeroLogitOffsets = offsets
    var c = cfg
    c.rSupport = support
    let model = GPT(config: c, seed: 0)
    try model.assign(weights)   // the loaded model's weights (same names and shapes)
    let engine = GPTEngine(model: model)
    let rows = max(1, (512 << 20) / engine.cacheBytesPerSequence)
    var drawn: [Int32] = []
    for lo in stride(from: 0, to: showers, by: rows) {
      let hi = min(showers, lo + rows)
      let sampler = GPTSampler(engine: engine, energies: Array(genEnergies[lo..<hi]), seeds: Array(seeds[lo..<hi]), options: options)
      for _ in 0..<A { sampler.step() }   // only the R tokens matter here
      drawn += sampler.tokens
    }
    let gen = emptyCounts(drawn, stride: cfg.blockSize, energies: genEnergies, support: support, tokenizer: cfg.rTokens)
    var sum = 0.0, worst = 0.0, cells = 0, worstAt = (0, 0)
    for b in 0..<support.binCount {
      for v in 0..<V {
        let k = target.zero[b][v], n = target.all[b][v]
        guard n >= 20, gen.all[b][v] >= 20, k > 0, k < n else { continue }
        let gap = abs(gen.zero[b][v] / gen.all[b][v] - k / n)
        sum += gap; cells += 1
        if gap > worst { worst = gap; worstAt = (b, v) }
        if it < iterations {
          let step = logOdds(k, n) - logOdds(gen.zero[b][v], gen.all[b][v])
          offsets[b][v] += Float(min(1.5, max(-1.5, step)))
        }
      }
    }
    let mean = cells > 0 ? sum / Double(cells) : 0
    gaps.append((mean, worst))
    log(String(format: "empty rates, %@: mean |generated − training| %.4f over %d cells, worst %.4f (bin %d, value %d)",
               it == 0 ? "before" : "after iteration \(it)", mean, cells, worst, worstAt.0, worstAt.1))
  }
  // The last loop pass measured the final offsets without changing them.
  return (support, gaps)
}
