// The model-backed shower source: a stage-2 GPT draws token sequences (R tokens, then codes on the
// stage-1 latent grid) and the stage-1 VQ-VAE decodes them into showers. Besides plain generation it
// offers what the codebook and token screens need: token sequences of generated showers, encoding a
// reference shower (tokens, reconstruction), the decoded footprint of one code, and a one-token-at-a-
// time sampler for the step-by-step demo. Used only from the explorer's worker thread.

import CaloGeometry
import CaloModel
import CaloPipeline
import Foundation

/// The token sequence of one shower, split into its two parts.
public struct ShowerTokens: Sendable, Equatable {
  /// Auxiliary R tokens (base-1024 digits, most significant first). Shape (valueCount · tokensPerValue),
  /// fewer while a step-by-step sequence is being drawn.
  public var rTokens: [Int32]
  /// Tokens per R value (1 or 2).
  public var tokensPerValue: Int
  /// What each R value is: "R" (global) or "sum", "L0", "L1", ... (layer-wise). Shape (valueCount).
  public var valueNames: [String]
  /// The R value each complete group of digits decodes to (before the layer-wise rescaling to ΣR).
  public var values: [Float]
  /// Shower codes drawn so far, row-major on `latentShape` (fewer while stepping).
  public var codes: [Int32]
  /// The stage-1 latent grid, e.g. [32], [17, 4], [13, 14], [24, 26].
  public var latentShape: [Int]

  /// Number of R tokens of a complete sequence.
  public var rTokenCount: Int { valueNames.count * tokensPerValue }
  /// Number of codes of a complete sequence.
  public var codeCount: Int { latentShape.reduce(1, *) }
  /// Tokens known so far (R tokens + codes).
  public var filled: Int { rTokens.count + codes.count }
  /// Length T of a complete sequence.
  public var length: Int { rTokenCount + codeCount }
}

/// One candidate of the next token and its probability (after temperature/top-k).
public struct TokenCandidate: Sendable, Equatable {
  public var token: Int32
  public var probability: Float
}

/// Errors of model folders, phrased for the user.
public struct ModelSourceError: Error, CustomStringConvertible, Equatable {
  public var description: String
  init(_ d: String) { description = d }
}

/// A `ShowerSource` backed by a model folder (`stage1.safetensors` + `stage2.safetensors`).
public final class ModelShowerSource: ShowerSource {
  public let kind: DatasetKind
  public let normalisation: Normalisation
  public let directory: String
  /// Codes of the stage-1 codebook (K = 1024 for the paper and sample presets).
  public let codebookSize: Int
  public let latentShape: [Int]
  public let gptConfig: GPTConfig
  let codec: any ShowerCodec
  let generator: ShowerGenerator
  /// Base seed: shower i of this source uses derivedSeed(seed, 40, i), so a run is reproducible.
  public let seed: UInt64
  private var drawn: UInt64 = 0

  public var name: String { "model " + modelDisplayName(directory: directory) }
  public var isModel: Bool { true }

  /// Loads `directory`.
  /// - Parameter expected: the dataset the explorer shows; a model of another dataset is an error.
  /// - Throws: `ModelSourceError` / `Stage2Error` / model-file errors with user-facing messages.
  public init(directory: String, expected: DatasetKind? = nil, seed: UInt64 = 1) throws {
    let (codec, gpt) = try loadModelDirectory(directory)
    let cfg = gpt.config
    if let expected, cfg.dataset != expected {
      throw ModelSourceError("model folder '\(directory)' holds a \(cfg.dataset.rawValue) model, not \(expected.rawValue)")
    }
    generator = try ShowerGenerator(codec: codec, gpt: gpt, options: loadModelSampling(directory),
                                    spotRounding: loadModelSpotRounding(directory))
    self.codec = codec
    self.directory = directory
    kind = cfg.dataset
    gptConfig = cfg
    normalisation = ModelShowerSource.normalisation(of: cfg)
    latentShape = codec.latentShape
    codebookSize = (codec as? Stage1Model)?.config.codebookSize ?? cfg.vocabSize
    self.seed = seed
  }

  /// Global models tokenise one R per shower, layer-wise models one per layer (plus their sum).
  static func normalisation(of cfg: GPTConfig) -> Normalisation {
    if case .global = cfg.rTokens.mode { return .global }
    return .layerWise
  }

  public func nextShower(energyMeV: Double) throws -> SourceShower {
    try nextShowers(energyMeV: energyMeV, count: 1)[0]
  }

  /// `count` showers sampled in one batch (faster per shower than one at a time); the time of each is
  /// the batch time divided by `count`.
  public func nextShowers(energyMeV: Double, count: Int) throws -> [SourceShower] {
    let start = DispatchTime.now().uptimeNanoseconds
    let seeds = (0..<UInt64(count)).map { derivedSeed(seed, 40, drawn + $0) }
    drawn += UInt64(count)
    let energies = [Double](repeating: energyMeV, count: count)
    let tokens = generator.tokens(energies: energies, seeds: seeds)
    let voxels = try showers(tokens: tokens, energies: energies, seeds: seeds)
    let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(count)
    let T = gptConfig.blockSize, V = kind.voxelCount
    return (0..<count).map { i in
      SourceShower(energyMeV: energyMeV, voxels: Array(voxels[(i * V)..<((i + 1) * V)]), timeMs: ms,
                   origin: "\(name) seed \(seeds[i] % 100_000)",
                   tokens: split(tokens[(i * T)..<((i + 1) * T)]))
    }
  }

  /// Showers (N, voxels) in MeV from complete token sequences (N, T) drawn with per-shower `seeds`
  /// (which also seed the model's spot rounding, if it has any).
  func showers(tokens: [Int32], energies: [Double], seeds: [UInt64]) throws -> [Float] {
    let (r, codes) = generator.split(tokens: tokens, count: energies.count)
    if let bad = codes.first(where: { Int($0) >= codebookSize || $0 < 0 }) {
      throw ModelSourceError("the GPT in '\(directory)' drew code \(bad) but its stage 1 has \(codebookSize) codes; "
        + "use the stage1.safetensors the GPT was trained with")
    }
    let u = try codec.decode(codes: codes, energies: energies)
    var out = try codec.assemble(pixelsU: u, r: r, energies: energies)
    generator.roundSpots(&out, energies: energies, seeds: seeds)
    return out
  }

  /// The (possibly partial) sequence `seq` as R tokens with decoded values and codes.
  public func split(_ seq: ArraySlice<Int32>) -> ShowerTokens {
    let rt = gptConfig.rTokens
    let a = Array(seq.prefix(rt.tokenCount))
    let codes = Array(seq.dropFirst(rt.tokenCount))
    var values: [Float] = []
    var v = 0
    while (v + 1) * rt.tokensPerValue <= a.count {
      values.append(rt.decodeValue(a[(v * rt.tokensPerValue)..<((v + 1) * rt.tokensPerValue)], ofValue: v))
      v += 1
    }
    return ShowerTokens(rTokens: a, tokensPerValue: rt.tokensPerValue, valueNames: valueNames, values: values,
                        codes: codes, latentShape: latentShape)
  }

  /// "R", or "sum" (of the layer R values) and the layer names of a layer-wise tokenizer.
  public var valueNames: [String] {
    let rt = gptConfig.rTokens
    guard case let .layerwise(n) = rt.mode else { return ["R"] }
    let g = kind.geometry
    let rel = g.relevantLayerIndices
    let ids = rel.count == n ? rel.map { g.layers[$0].id } : Array(0..<n)
    return ["sum"] + ids.map { "L\($0)" }
  }

  /// Encodes showers (one voxel array each, MeV) into codes, (N, L) row-major.
  public func encode(_ showers: [[Float]], energies: [Double]) throws -> [Int32] {
    try codec.encode(energies: energies, showers: showers.flatMap { $0 })
  }

  /// A reference shower's tokens (R from its true energy ratios, codes from the encoder) and its
  /// stage-1 reconstruction in MeV (decoded codes × true R × E_inc). Shape of the reconstruction (voxels).
  public func encodeShower(_ voxels: [Float], energyMeV: Double) throws -> (tokens: ShowerTokens, reconstruction: [Float]) {
    let e = [energyMeV]
    let codes = try codec.encode(energies: e, showers: voxels)
    let r = try codec.rValues(energies: e, showers: voxels)
    let rTok = gptConfig.rTokens.encode(ratios: r)
    let u = try codec.decode(codes: codes, energies: e)
    let rec = try codec.assemble(pixelsU: u, r: r, energies: e)
    return (split((rTok + codes)[...]), rec)
  }

  /// What one code looks like: the shower decoded from a latent grid filled with `code`, scaled with
  /// the energy ratios `like` has (e.g. the reference average), in MeV. Shape (voxels).
  public func footprint(code: Int, energyMeV: Double, like: [Float]) throws -> [Float] {
    guard code >= 0 && code < codebookSize else { throw ModelSourceError("code \(code) is outside 0..<\(codebookSize)") }
    let e = [energyMeV]
    let grid = [Int32](repeating: Int32(code), count: latentShape.reduce(1, *))
    let u = try codec.decode(codes: grid, energies: e)
    let r = try codec.rValues(energies: e, showers: like)
    return try codec.assemble(pixelsU: u, r: r, energies: e)
  }

  /// A sampler for one sequence at `energyMeV`, for drawing one token per key press.
  public func stepper(energyMeV: Double) -> GPTSampler {
    let s = derivedSeed(seed, 41, drawn)
    drawn += 1
    return GPTSampler(engine: generator.engine, energies: [energyMeV], seeds: [s], options: generator.options, lanes: 1)
  }

  /// The `k` most likely tokens of the distribution the sampler's last token came from.
  public static func candidates(_ sampler: GPTSampler, k: Int) -> [TokenCandidate] {
    let p = sampler.probabilities(sequence: 0)
    let top = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(k)
    return top.map { TokenCandidate(token: Int32($0), probability: p[$0]) }
  }

  /// The finished sampler's shower in MeV. Shape (voxels).
  func shower(of sampler: GPTSampler) throws -> [Float] {
    try showers(tokens: sampler.tokens, energies: sampler.energies, seeds: sampler.seeds)
  }
}

/// Finds and caches model folders: each `--model DIR` for its own dataset and normalisation, otherwise
/// `<modelsDir>/<dataset>-global` and `<modelsDir>/<dataset>-layerwise`. Datasets or
/// normalisations without a model fall back to replaying the reference file, and say so.
public final class ModelLibrary: @unchecked Sendable {
  /// Folder holding `<dataset>-<global|layerwise>/` model folders (nil: none).
  public let modelsDir: String?
  /// The `--model DIR` folders with the dataset and normalisation their GPTs were trained for, in the
  /// order given: one dataset, at most one per normalisation (so `n` can compare two of one's own).
  public let explicitModels: [(directory: String, kind: DatasetKind, normalisation: Normalisation)]
  /// The first `--model` folder: the explorer opens its dataset and normalisation.
  public var explicit: (directory: String, kind: DatasetKind, normalisation: Normalisation)? { explicitModels.first }
  // Guarded by `lock`: loaded sources by folder (loading is slow; switching energy must not reload).
  private let lock = NSLock()
  private var loaded: [String: ModelShowerSource] = [:]

  /// - Parameter explicit: a model folder; its GPT config is read now so that errors show at start.
  public convenience init(modelsDir: String?, explicit: String? = nil) throws {
    try self.init(modelsDir: modelsDir, explicitModels: explicit.map { [$0] } ?? [])
  }

  /// - Parameter explicitModels: model folders of one dataset, at most one per normalisation; their GPT
  ///   configs are read now so that errors show at start.
  public init(modelsDir: String?, explicitModels dirs: [String]) throws {
    self.modelsDir = modelsDir
    var found: [(directory: String, kind: DatasetKind, normalisation: Normalisation)] = []
    for dir in dirs {
      try requireModelFiles(dir)
      let cfg = try GPT.load(from: (dir as NSString).appendingPathComponent("stage2.safetensors")).config
      let n = ModelShowerSource.normalisation(of: cfg)
      if let first = found.first, first.kind != cfg.dataset {
        throw ModelSourceError("model folders '\(first.directory)' (\(first.kind.rawValue)) and '\(dir)' "
          + "(\(cfg.dataset.rawValue)) are for different datasets; give the global and the layer-wise model of one dataset")
      }
      if let twin = found.first(where: { $0.normalisation == n }) {
        throw ModelSourceError("model folders '\(twin.directory)' and '\(dir)' are both \(n.rawValue) models; "
          + "give at most one global and one layer-wise model")
      }
      found.append((dir, cfg.dataset, n))
    }
    explicitModels = found
  }

  /// Folder name of a dataset's model: "ds2-global", "ds1-photon-layerwise".
  public static func folderName(_ kind: DatasetKind, _ n: Normalisation) -> String {
    "\(kind.rawValue)-\(n == .global ? "global" : "layerwise")"
  }

  /// The model folder for (`kind`, `n`), if one exists.
  public func directory(for kind: DatasetKind, _ n: Normalisation) -> String? {
    if let e = explicitModels.first(where: { $0.kind == kind && $0.normalisation == n }) { return e.directory }
    guard let modelsDir else { return nil }
    let d = (modelsDir as NSString).appendingPathComponent(ModelLibrary.folderName(kind, n))
    let fm = FileManager.default
    guard modelFileNames.allSatisfy({ fm.fileExists(atPath: (d as NSString).appendingPathComponent($0)) }) else { return nil }
    return d
  }

  /// The normalisation to open `kind` in: the global one when it has a model, else the layer-wise one
  /// when that has a model, else global (reference replay either way). So a bundled layer-wise model
  /// is what `g` draws at start-up, not a replay beside it.
  public func preferredNormalisation(for kind: DatasetKind) -> Normalisation {
    if directory(for: kind, .global) == nil && directory(for: kind, .layerWise) != nil { return .layerWise }
    return .global
  }

  /// The normalisations that have a model, per dataset of `kinds` (`ExplorerOptions.modelNormalisations`).
  public func modelNormalisations(_ kinds: [DatasetKind]) -> [DatasetKind: Set<Normalisation>] {
    Dictionary(uniqueKeysWithValues: kinds.map { k in (k, Set(Normalisation.allCases.filter { directory(for: k, $0) != nil })) })
  }

  /// The model source for (`kind`, `n`), or a reference-file source that names the missing model.
  public func source(_ kind: DatasetKind, _ n: Normalisation, _ sample: ReferenceSample) throws -> ShowerSource {
    guard let dir = directory(for: kind, n) else {
      let f = ReferenceFileSource(sample: sample)
      f.missingModel = ModelLibrary.folderName(kind, n)
      return f
    }
    lock.lock()
    defer { lock.unlock() }
    if let s = loaded[dir] { return s }
    let s = try ModelShowerSource(directory: dir, expected: kind)
    guard s.normalisation == n else {
      throw ModelSourceError("model folder '\(dir)' holds a \(s.normalisation.rawValue) model, expected \(n.rawValue)")
    }
    loaded[dir] = s
    return s
  }

  /// The factory to pass to `WorkerConfig(sourceFactory:)`.
  public var factory: ShowerSourceFactory { { [self] kind, n, sample in try self.source(kind, n, sample) } }
}
