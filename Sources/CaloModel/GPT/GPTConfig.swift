// Configuration of the Calo-VQ stage-2 conditional GPT (calovq_facts.md §6.1–6.3): sizes, the
// condition, the R tokenizer and the latent length. Plain value type; presets live in GPTPresets.swift.
import CaloGeometry
import Foundation

/// Sizes and conditioning of the stage-2 GPT. Codable: stored as JSON in the model file's metadata.
public struct GPTConfig: Codable, Sendable, Equatable {
  /// How the incident energy enters the GPT (the last `condDim` features of every position).
  public enum Condition: Codable, Sendable, Equatable {
    /// ds1: class = trunc(log2 E_inc − 8) ∈ 0..<classes looked up in a learned (classes, dim) table,
    /// e.g. (15, 3). The reference also creates an unused (dim, dim) projection; we keep it so the
    /// parameter counts match.
    case energyClass(classes: Int, dim: Int)
    /// ds2/ds3: the scalar 2·(log10 E_inc[MeV] − 3)/3 − 1 (1 GeV … 1 TeV → −1 … +1).
    case logEnergy
  }

  /// The CaloChallenge dataset the model generates, e.g. `.ds1Photon`.
  public var dataset: DatasetKind
  /// Preset name this config came from ("paper", "sample", or "custom").
  public var preset: String
  /// Vocabulary shared by R tokens and shower codes (the codebook size K = 1024).
  public var vocabSize: Int
  /// Transformer blocks, e.g. 2.
  public var nLayer: Int
  /// Attention heads per block, e.g. 2 (nEmbd must be a multiple).
  public var nHead: Int
  /// Width of every position's vector, e.g. 64 (token part nEmbd − condDim, then the condition).
  public var nEmbd: Int
  /// Dropout on embeddings, attention probabilities and residual outputs (0.1 in the reference).
  public var dropout: Float
  /// Incident-energy condition.
  public var condition: Condition
  /// R tokenisation (global or layer-wise, bits, rMax).
  public var rTokens: RTokenizer
  /// Number of shower-code positions L (stage-1 latent grid flattened row-major), e.g. 32 or 68.
  public var latentLength: Int
  /// Optional per-value upper bounds for the R constraint of the sampler (valueCount entries,
  /// typically the largest values seen in training). nil: only the quantiser range applies.
  public var rLimits: [Float]?
  /// Optional per-value lower bounds for the same constraint (the smallest values seen in training;
  /// stored since session 16, nil in older files). The constraint keeps each value's leading digit at
  /// or above the bound's: a small GPT leaks probability onto R levels it never saw in training (ds2
  /// global, session 16: 19 % of the draws at 2 GeV spread over R 0–0.85, where training has none
  /// under 0.57), and nucleus sampling cannot cut a floor that flat.
  public var rLowerLimits: [Float]? = nil
  /// Optional per-energy bounds for the same constraint: the leading digits each value took in
  /// training per bin of incident energy (`RSupport`, written by `calovq fit-r-support`; nil in files
  /// without one).
  public var rSupport: RSupport? = nil

  public init(dataset: DatasetKind, preset: String = "custom", vocabSize: Int = 1024, nLayer: Int, nHead: Int,
              nEmbd: Int, dropout: Float = 0.1, condition: Condition, rTokens: RTokenizer, latentLength: Int,
              rLimits: [Float]? = nil) {
    precondition(nLayer > 0 && nHead > 0 && nEmbd % nHead == 0,
                 "GPTConfig: nEmbd (\(nEmbd)) must be a positive multiple of nHead (\(nHead)), nLayer (\(nLayer)) ≥ 1")
    precondition(vocabSize >= RTokenizer.base, "GPTConfig: vocabSize \(vocabSize) cannot hold base-1024 R digits")
    precondition(latentLength > 0, "GPTConfig: latentLength must be positive")
    self.dataset = dataset
    self.preset = preset
    self.vocabSize = vocabSize
    self.nLayer = nLayer
    self.nHead = nHead
    self.nEmbd = nEmbd
    self.dropout = dropout
    self.condition = condition
    self.rTokens = rTokens
    self.latentLength = latentLength
    self.rLimits = rLimits
    precondition(nEmbd > condDim, "GPTConfig: nEmbd \(nEmbd) must exceed the condition width \(condDim)")
  }

  /// Width of the condition features (3 for ds1's embedding, 1 for log-E).
  public var condDim: Int {
    switch condition {
    case let .energyClass(_, dim): return dim
    case .logEnergy: return 1
    }
  }

  /// Width of the token embedding, nEmbd − condDim.
  public var tokenDim: Int { nEmbd - condDim }

  /// Sequence length T = auxiliary R tokens + latent codes (the reference's block size), e.g. 44.
  public var blockSize: Int { rTokens.tokenCount + latentLength }

  /// Head size nEmbd / nHead.
  public var headSize: Int { nEmbd / nHead }

  /// ds1 energy class trunc(log2 E − 8), clamped to the table (E in MeV).
  public func energyClass(_ energy: Double) -> Int {
    guard case let .energyClass(classes, _) = condition else { return 0 }
    let c = Int((Foundation.log2(energy) - 8).rounded(.towardZero))
    return Swift.min(Swift.max(c, 0), classes - 1)
  }

  /// ds2/ds3 scalar condition 2·(log10 E − 3)/3 − 1 (E in MeV), computed in Float32 like the reference.
  public static func logEnergyCondition(_ energy: Double) -> Float {
    2 * (Float(Foundation.log10(energy)) - 3) / 3 - 1
  }

  /// JSON text of this config (stored in model files).
  public func jsonString() -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return String(decoding: try! enc.encode(self), as: UTF8.self)
  }

  /// Parses `jsonString()` output.
  public static func fromJSON(_ text: String) throws -> GPTConfig {
    try JSONDecoder().decode(GPTConfig.self, from: Data(text.utf8))
  }
}
