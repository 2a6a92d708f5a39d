// The model-related parts of an ExplorerSnapshot: what the codebook and token screens draw. Plain
// values computed on the worker thread; the statistics helpers are pure functions of the counts.

import Foundation

/// The active model, as the screens need it.
public struct ModelSummary: Sendable, Equatable {
  /// "model ds2-global".
  public var name: String
  public var directory: String
  /// K, the number of codes.
  public var codebookSize: Int
  /// The latent grid, e.g. [32], [17, 4], [13, 14], [24, 26].
  public var latentShape: [Int]
  /// Auxiliary R tokens per sequence.
  public var rTokenCount: Int
  /// "R", or "sum", "L0", ... per tokenised R value.
  public var valueNames: [String]
}

/// How often each code was used: by generated showers and by the encoded reference sample.
public struct CodebookUsage: Sendable, Equatable {
  /// K.
  public var size: Int
  /// Uses per code in generated showers. Shape (K).
  public var generated: [Int]
  public var generatedShowers: Int
  /// Uses per code in the encoded reference sample (nil until encoded). Shape (K).
  public var reference: [Int]?
  public var referenceShowers: Int

  /// exp(entropy) of the usage distribution: the effective number of codes (nil without any use).
  public static func perplexity(_ counts: [Int]) -> Double? {
    let n = Double(counts.reduce(0, +))
    guard n > 0 else { return nil }
    var h = 0.0
    for c in counts where c > 0 {
      let p = Double(c) / n
      h -= p * log(p)
    }
    return exp(h)
  }

  /// Codes never used.
  public static func dead(_ counts: [Int]) -> Int { counts.filter { $0 == 0 }.count }

  /// The `k` most used codes with their share of all uses (ties: lower code first).
  public static func dominant(_ counts: [Int], k: Int) -> [(code: Int, share: Double)] {
    let n = Double(counts.reduce(0, +))
    guard n > 0 else { return [] }
    let order = counts.indices.filter { counts[$0] > 0 }.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
    return order.prefix(k).map { ($0, Double(counts[$0]) / n) }
  }
}

/// A latent grid filled with one code, decoded (the code's "footprint").
public struct CodeFootprint: Sendable, Equatable {
  public var code: Int
  public var energyMeV: Double
  /// Decoded shower in MeV, scaled with the reference average's energy ratios. Shape (voxels).
  public var voxels: [Float]
  public var timeMs: Double
}

/// What the token screen shows: one shower's token sequence and, depending on how it was made, the
/// candidates of the last step or the encoded reference with its reconstruction.
public struct TokenPanel: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// The last shower generated with `g`/`G`.
    case generated
    /// The step-by-step sequence (possibly complete).
    case stepping
    /// A reference shower put through the stage-1 encoder.
    case encoded
  }

  public var kind: Kind
  public var title: String
  public var tokens: ShowerTokens
  /// Most likely candidates of the last drawn token (stepping only), best first.
  public var candidates: [TokenCandidate]
  /// The token drawn at the last step and its probability.
  public var lastToken: Int32?
  public var lastProbability: Float?
  /// Encoded: the reference shower (MeV). Shape (voxels).
  public var original: [Float]?
  /// Encoded: its stage-1 reconstruction (MeV). Shape (voxels).
  public var reconstruction: [Float]?

  public init(kind: Kind, title: String, tokens: ShowerTokens, candidates: [TokenCandidate], lastToken: Int32?,
              original: [Float]? = nil, reconstruction: [Float]? = nil)
  {
    self.kind = kind
    self.title = title
    self.tokens = tokens
    self.candidates = candidates
    self.lastToken = lastToken
    self.original = original
    self.reconstruction = reconstruction
  }
}
