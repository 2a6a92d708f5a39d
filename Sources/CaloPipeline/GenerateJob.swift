// `calovq generate` and `calovq merge`: Calo-VQ generation (GPT → R and codes → stage-1 decoder →
// showers in MeV) written as CaloChallenge files, with seeded, shardable incident-energy sampling
// (calovq_facts.md §7.6) and per-shower random streams so shards reproduce one unsharded run.
import CaloData
import CaloGeometry
import CaloModel
import CaloTensor
import Foundation

/// How incident energies are chosen.
public enum EnergySpec: Sendable, Equatable {
  /// The dataset's reference choice: ds1 → `.ds1List`, ds2/ds3 → `.logUniform`.
  case automatic
  /// Every shower at this energy (MeV).
  case fixed(Double)
  /// The 15 ds1 energies 2^8…2^22 MeV in the proportions of the official files, shuffled.
  case ds1List
  /// ds2/ds3: log-uniform in [1 GeV, 1 TeV]; for ds1 models each of the 15 energies equally likely.
  case uniform
}

/// Which part of one logical run this process produces.
public struct Shard: Sendable, Equatable {
  /// 0-based shard index.
  public var index: Int
  /// Number of shards.
  public var count: Int
  public init(index: Int, count: Int) {
    precondition(count >= 1 && index >= 0 && index < count, "shard \(index)/\(count)")
    self.index = index
    self.count = count
  }
  /// Parses "i/n" (0-based i).
  public init?(parsing text: String) {
    let p = text.split(separator: "/")
    guard p.count == 2, let i = Int(p[0]), let n = Int(p[1]), n >= 1, i >= 0, i < n else { return nil }
    self.init(index: i, count: n)
  }
  /// Global shower indices of this shard out of `total`.
  public func range(of total: Int) -> Range<Int> { (total * index / count)..<(total * (index + 1) / count) }
}

/// Incident energies of showers `range` out of a logical run of `total` (MeV). Independent of how the
/// run is sharded or batched: shower g always gets the same energy for the same seed.
public func sampleEnergies(_ spec: EnergySpec, dataset: DatasetKind, total: Int, range: Range<Int>,
                           seed: UInt64) -> [Double] {
  var spec = spec
  if spec == .automatic { spec = dataset.isDS1 ? .ds1List : .uniform }
  switch spec {
  case let .fixed(e):
    return [Double](repeating: e, count: range.count)
  case .uniform:
    return range.map { g in
      var r = RNG(seed: derivedSeed(seed, 10, UInt64(g)))
      if dataset.isDS1 { return DatasetKind.ds1Energies[r.int(below: 15)] }
      let lo = 3 * Foundation.log(10.0), hi = 6 * Foundation.log(10.0)
      return Foundation.exp(lo + (hi - lo) * r.uniformDouble())
    }
  case .ds1List, .automatic:
    // Official counts (photons [10000×11, 5000, 3000, 2000, 1000]) scaled to `total` by largest
    // remainders, then one seeded shuffle of the whole run (cheap even for millions).
    let official = dataset.isDS1 ? dataset.ds1OfficialCounts : DatasetKind.ds1Pion.ds1OfficialCounts
    let sum = official.reduce(0, +)
    var counts = official.map { total * $0 / sum }
    let rema = official.enumerated().map { (i, c) in (total * c % sum, i) }.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
    var left = total - counts.reduce(0, +)
    for (_, i) in rema where left > 0 { counts[i] += 1; left -= 1 }
    var list: [Double] = []
    list.reserveCapacity(total)
    for (k, c) in counts.enumerated() { list += [Double](repeating: DatasetKind.ds1Energies[k], count: c) }
    var r = RNG(seed: derivedSeed(seed, 11, 0))
    for i in stride(from: total - 1, to: 0, by: -1) { list.swapAt(i, r.int(below: i + 1)) }
    return Array(list[range])
  }
}

/// Options of one generation run.
public struct GenerateOptions: Sendable {
  /// Showers in the whole logical run (all shards together).
  public var count: Int
  public var energies: EnergySpec = .automatic
  public var seed: UInt64 = 1
  public var shard = Shard(index: 0, count: 1)
  /// Showers per batch (GPT and decoder); the GPT splits further if its cache would exceed ~512 MB.
  public var batchSize = 1000
  public var sampling = SamplingOptions()
  public init(count: Int) { self.count = count }
}

/// Timing and size of a generation run.
public struct GenerateSummary: Sendable {
  public var showers: Int
  public var stage2Seconds: Double
  public var stage1Seconds: Double
  public var totalSeconds: Double
}

/// Stage 2 + stage 1 for a batch: per-shower seeds → tokens → (R, codes) → showers in MeV.
public struct ShowerGenerator {
  public let codec: any ShowerCodec
  public let engine: GPTEngine
  public let options: SamplingOptions
  /// The fast decode path of a VQ-VAE codec (nil for other codecs, which decode through the protocol).
  public let fastDecoder: Stage1Decoder?
  /// Sparsity post-processing of the decoded showers (a model folder's spot-rounding.json); nil = none.
  public let spotRounding: SpotRoundingTable?

  public init(codec: any ShowerCodec, gpt: GPT, options: SamplingOptions = .init(),
              spotRounding: SpotRoundingTable? = nil) throws {
    try requireMatchingStages(codec: codec, gpt: gpt)
    if let t = spotRounding, t.dataset != gpt.config.dataset {
      throw Stage2Error.mismatch("the spot-rounding table is for \(t.dataset.rawValue) but the model is \(gpt.config.dataset.rawValue); "
        + "refit it with `calovq calibrate-sparsity`")
    }
    self.codec = codec
    self.engine = GPTEngine(model: gpt)
    self.options = options
    self.spotRounding = spotRounding
    fastDecoder = (codec as? Stage1Model).flatMap { Stage1Decoder(model: $0) }
  }

  /// Unit pixels (N, voxels) of codes (N, L): the fast decoder when there is one, else the codec.
  public func decode(codes: [Int32], energies: [Double]) throws -> [Float] {
    if let fastDecoder { return fastDecoder.decode(codes: codes, energies: energies) }
    return try codec.decode(codes: codes, energies: energies)
  }

  /// Rows per sampler so its key/value cache stays under ~512 MB.
  public var maxRowsPerSampler: Int { max(1, (512 << 20) / engine.cacheBytesPerSequence) }

  /// Token sequences (N, T) of showers with these energies and per-shower seeds.
  public func tokens(energies: [Double], seeds: [UInt64]) -> [Int32] {
    var out: [Int32] = []
    out.reserveCapacity(energies.count * engine.config.blockSize)
    var lo = 0
    while lo < energies.count {
      let hi = min(energies.count, lo + maxRowsPerSampler)
      out += GPTSampler(engine: engine, energies: Array(energies[lo..<hi]), seeds: Array(seeds[lo..<hi]),
                        options: options).run()
      lo = hi
    }
    return out
  }

  /// Splits sequences into R values (N, nR) and codes (N, L).
  public func split(tokens: [Int32], count n: Int) -> (r: [Float], codes: [Int32]) {
    let cfg = engine.config, T = cfg.blockSize, A = cfg.rTokens.tokenCount
    var aux = [Int32](), codes = [Int32]()
    aux.reserveCapacity(n * A)
    codes.reserveCapacity(n * cfg.latentLength)
    for s in 0..<n {
      aux += tokens[(s * T)..<(s * T + A)]
      codes += tokens[(s * T + A)..<(s * T + T)]
    }
    return (cfg.rTokens.decode(tokens: aux, fit: options.rLayerFit), codes)
  }

  /// Showers (N, voxels) in MeV; also returns the seconds spent in stage 2 and stage 1.
  public func generate(energies: [Double], seeds: [UInt64]) throws -> (showers: [Float], stage2: Double, stage1: Double) {
    let t0 = Date()
    let tk = tokens(energies: energies, seeds: seeds)
    let (r, codes) = split(tokens: tk, count: energies.count)
    let t1 = Date()
    let u = try decode(codes: codes, energies: energies)
    var showers = try codec.assemble(pixelsU: u, r: r, energies: energies)
    roundSpots(&showers, energies: energies, seeds: seeds)
    let t2 = Date()
    return (showers, t1.timeIntervalSince(t0), t2.timeIntervalSince(t1))
  }

  /// Applies the spot-rounding table, if any, to showers (N, voxels) in MeV. Shower i's uniforms come
  /// from its own stream derivedSeed(seeds[i], 30, 0), apart from the GPT's.
  public func roundSpots(_ showers: inout [Float], energies: [Double], seeds: [UInt64]) {
    spotRounding?.apply(&showers, energies: energies, seeds: seeds.map { derivedSeed($0, 30, 0) })
  }
}

/// Generates `options.count` showers (this shard's part) into `outPath` as a CaloChallenge file with
/// root attribute `calovq_source` = `source`. Shower g uses seed derivedSeed(seed, 20, g), so shards
/// concatenated in order equal the unsharded run.
public func generateShowerFile(generator: ShowerGenerator, options: GenerateOptions, outPath: String,
                               source: String, progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerateSummary {
  guard options.count >= 1 else { throw Stage2Error.badInput("--count must be ≥ 1") }
  guard options.batchSize >= 1 else { throw Stage2Error.badInput("--batch must be ≥ 1") }
  let ds = generator.engine.config.dataset
  if case let .fixed(e) = options.energies {
    guard e.isFinite && e > 0 else { throw Stage2Error.badInput("--energy must be a positive number of MeV, got \(e)") }
  }
  let range = options.shard.range(of: options.count)
  let energies = sampleEnergies(options.energies, dataset: ds, total: options.count, range: range, seed: options.seed)
  let writer = try ShowerFileWriter(path: outPath, voxelCount: ds.voxelCount,
                                    attributes: [ShowerSource.attribute: source])
  let start = Date()
  var s2 = 0.0, s1 = 0.0, done = 0
  var lo = 0
  while lo < range.count {
    let hi = min(range.count, lo + options.batchSize)
    let e = Array(energies[lo..<hi])
    let seeds = (lo..<hi).map { derivedSeed(options.seed, 20, UInt64(range.lowerBound + $0)) }
    let (showers, a, b) = try generator.generate(energies: e, seeds: seeds)
    guard showers.count == e.count * ds.voxelCount else {
      throw Stage2Error.mismatch("stage 1 produced \(showers.count) voxels for \(e.count) showers of \(ds.voxelCount)")
    }
    try writer.append(energies: e, showers: showers)
    s2 += a; s1 += b
    done += e.count
    progress(done, range.count)
    lo = hi
  }
  try writer.finish()
  return GenerateSummary(showers: done, stage2Seconds: s2, stage1Seconds: s1,
                         totalSeconds: Date().timeIntervalSince(start))
}

/// Concatenates CaloChallenge files with equal voxel counts (e.g. shards, in order) into `outPath`.
/// The `calovq_source` attribute is kept when all inputs agree, else the distinct values are joined.
public func mergeShowerFiles(_ inputs: [String], into outPath: String, rowsPerRead: Int = 1000) throws -> Int {
  guard !inputs.isEmpty else { throw Stage2Error.badInput("merge needs at least one input file") }
  let readers = try inputs.map { try ShowerFileReader(path: $0) }
  let v = readers[0].voxelCount
  for r in readers where r.voxelCount != v {
    throw Stage2Error.mismatch("'\(r.path)' has \(r.voxelCount) voxels but '\(readers[0].path)' has \(v); merge files of one dataset")
  }
  var sources: [String] = []
  for r in readers { if let s = r.source, !sources.contains(s) { sources.append(s) } }
  let attrs = sources.isEmpty ? [:] : [ShowerSource.attribute: sources.joined(separator: "; ")]
  let w = try ShowerFileWriter(path: outPath, voxelCount: v, attributes: attrs)
  for r in readers { try r.forEachBatch(size: rowsPerRead) { try w.append($0) } }
  try w.finish()
  return w.count
}

/// A model folder: `stage1.safetensors` (VQ-VAE, loaded through `Stage1Loaders`) and
/// `stage2.safetensors` (GPT).
public func loadModelDirectory(_ dir: String, extraLoaders: [Stage1Loaders.Loader] = []) throws -> (codec: any ShowerCodec, gpt: GPT) {
  try requireModelFiles(dir)
  let gpt = try GPT.load(from: dir + "/stage2.safetensors")
  let codec = try Stage1Loaders.load(dir + "/stage1.safetensors", extra: extraLoaders)
  try requireMatchingStages(codec: codec, gpt: gpt, directory: dir)
  return (codec, gpt)
}

/// The GPT samples the codes and R values that stage 1 decodes, so the two files of a folder must
/// belong together: same dataset, one code per latent position, one R value per normalisation group.
/// A stage1.safetensors copied in from another run (e.g. when pairing a `--decoder-only` refit with its
/// GPT by hand) would otherwise decode without complaint into meaningless showers.
/// `ShowerGenerator` checks the same for a codec and GPT paired in code; `directory` names the folder.
/// - Throws: `Stage2Error.mismatch` listing every disagreement and what to put in the folder.
public func requireMatchingStages(codec: any ShowerCodec, gpt: GPT, directory: String? = nil) throws {
  let c = gpt.config
  var problems: [String] = []
  let positions = codec.latentShape.reduce(1, *)
  if positions != c.latentLength {
    problems.append("stage 1 has \(positions) latent positions, stage 2 samples \(c.latentLength) codes")
  }
  if let m = codec as? Stage1Model {
    if m.config.dataset != c.dataset {
      problems.append("stage 1 is a \(m.config.dataset.rawValue) model, stage 2 a \(c.dataset.rawValue) one")
    }
    if m.rCount != c.rTokens.ratiosPerShower {
      problems.append("stage 1 (\(m.config.norm == .layerwise ? "layer-wise" : "global")) decodes \(m.rCount) R value\(m.rCount == 1 ? "" : "s") "
        + "per shower, stage 2 samples \(c.rTokens.ratiosPerShower)")
    }
    if m.config.codebookSize > c.vocabSize {
      problems.append("stage 1 has \(m.config.codebookSize) codes, stage 2 a vocabulary of \(c.vocabSize)")
    }
  }
  guard problems.isEmpty else {
    let whose = directory.map { "model folder '\($0)': its two stages" } ?? "stage 1 and stage 2"
    throw Stage2Error.mismatch(whose + " do not belong together (" + problems.joined(separator: "; ")
      + "); put the stage1.safetensors this GPT was trained on, or a --decoder-only refit of it, next to its stage2.safetensors")
  }
}

/// The two files of a model folder: stage 1 (codec) and stage 2 (GPT).
public let modelFileNames = ["stage1.safetensors", "stage2.safetensors"]

/// Checks that `dir` holds both model files before anything is loaded.
/// - Throws: `Stage2Error.missingFile` naming the first missing file and what a model folder holds.
public func requireModelFiles(_ dir: String) throws {
  for f in modelFileNames
  where !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(f)) {
    throw Stage2Error.missingFile("model folder '\(dir)' has no \(f); "
      + "a model folder holds stage1.safetensors and stage2.safetensors (from `calovq train stage2 --out DIR`)")
  }
}

/// A model folder's name for headers and tables, with its parent's when the folder is called just
/// "model" (the layout `scripts/train-model.sh` writes, runs/NAME/model), so two runs stay distinguishable.
public func modelDisplayName(directory: String) -> String {
  let parts = URL(fileURLWithPath: directory).standardizedFileURL.pathComponents.filter { $0 != "/" }
  guard let last = parts.last else { return directory }
  return last == "model" && parts.count >= 2 ? parts[parts.count - 2] + "/" + last : last
}

/// A model folder may carry `sampling.json`, the sampling settings its evaluation was measured with,
/// e.g. `{"temperature": 1.15, "rTopP": 0.99}`; `calovq generate` and the explorer use them unless told
/// otherwise, so a bundled model generates as its MODEL.md reports. Keys: temperature (> 0), topK (≥ 1),
/// constrainR (true/false), rTopP (0 < p ≤ 1), rLevelInterpolation (true/false), rLayerFit
/// ("proportional" or "size-weighted"); missing keys keep the paper's defaults.
public let modelSamplingFileName = "sampling.json"

/// The sampling settings of model folder `dir` (the paper's defaults when it has no sampling.json).
/// - Throws: `Stage2Error.badInput` naming the file and the problem (unreadable JSON, unknown key,
///   value out of range), so a typo is not silently ignored.
public func loadModelSampling(_ dir: String) throws -> SamplingOptions {
  let path = dir + "/" + modelSamplingFileName
  guard FileManager.default.fileExists(atPath: path) else { return SamplingOptions() }
  func bad(_ why: String) -> Stage2Error {
    .badInput("'\(path)': \(why); fix it (keys: \(samplingKeys.joined(separator: ", "))) or delete it to sample as the paper does")
  }
  guard let data = FileManager.default.contents(atPath: path),
        let dict = try? JSONDecoder().decode([String: SamplingJSONValue].self, from: data) else {
    throw bad("not a JSON object of numbers, booleans and strings")
  }
  if let unknown = dict.keys.sorted().first(where: { !samplingKeys.contains($0) }) { throw bad("unknown key '\(unknown)'") }
  func number(_ key: String) throws -> Double? {
    guard let v = dict[key] else { return nil }
    guard case let .number(n) = v, n.isFinite else { throw bad("\(key) must be a number") }
    return n
  }
  let temperature = try number("temperature") ?? 1
  guard temperature > 0 else { throw bad("temperature must be > 0, got \(temperature)") }
  let topK = try number("topK")
  if let k = topK, k < 1 || k != k.rounded() { throw bad("topK must be a whole number ≥ 1, got \(k)") }
  let rTopP = try number("rTopP")
  if let p = rTopP, !(p > 0 && p <= 1) { throw bad("rTopP must be in (0, 1], got \(p)") }
  func flag(_ key: String) throws -> Bool {
    guard let v = dict[key] else { return false }
    guard case let .bool(b) = v else { throw bad("\(key) must be true or false") }
    return b
  }
  var fit = RTokenizer.LayerFit.proportional
  if let v = dict["rLayerFit"] {
    let names = RTokenizer.LayerFit.allCases.map(\.rawValue)
    guard case let .string(name) = v, let f = RTokenizer.LayerFit(rawValue: name) else {
      throw bad("rLayerFit must be one of \(names.map { "\"\($0)\"" }.joined(separator: ", "))")
    }
    fit = f
  }
  return SamplingOptions(temperature: Float(temperature), topK: topK.map { Int($0) }, constrainR: try flag("constrainR"),
                         rTopP: rTopP.map { Float($0) }, rLevelInterpolation: try flag("rLevelInterpolation"),
                         rLayerFit: fit)
}

/// A model folder may carry `spot-rounding.json` (`SpotRoundingTable`, fitted on training showers by
/// `calovq calibrate-sparsity`): `calovq generate` and the explorer then spot-round what the model
/// generates, as its evaluation did.
public let modelSpotRoundingFileName = "spot-rounding.json"

/// The spot-rounding table of model folder `dir`, nil when it has none.
/// - Throws: `SpotRoundingError` naming the file for an unreadable or inconsistent table.
public func loadModelSpotRounding(_ dir: String) throws -> SpotRoundingTable? {
  let path = dir + "/" + modelSpotRoundingFileName
  guard FileManager.default.fileExists(atPath: path) else { return nil }
  return try SpotRoundingTable.load(from: path)
}

/// The keys sampling.json may hold.
let samplingKeys = ["temperature", "topK", "constrainR", "rTopP", "rLevelInterpolation", "rLayerFit"]

/// One value of sampling.json. Decoded strictly: JSON true/false is a Bool and never a number, and a
/// number is never a Bool (Foundation's NSNumber bridging would blur the two).
enum SamplingJSONValue: Decodable {
  case bool(Bool), number(Double), string(String), other

  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let b = try? c.decode(Bool.self) { self = .bool(b) }
    else if let n = try? c.decode(Double.self) { self = .number(n) }
    else if let s = try? c.decode(String.self) { self = .string(s) }
    else { self = .other }
  }
}
