// Named stage-2 GPT presets per dataset and normalisation: `paper` reproduces the reference configs
// (calovq_facts.md §0.1, §6, §10 parameter counts); `sample` is a smaller model for this machine.
import CaloGeometry

/// Preset table of the stage-2 GPT.
///
/// | dataset / R mode | paper (layers/heads/emb) | R tokens | latent L |
/// |---|---|---|---|
/// | ds1 layer-wise (reference) | 2/2/64 | (1+5 or 1+7) × 2, rMax 3 | 32 |
/// | ds1 global (our variant) | 2/2/64 | 1 × 2, rMax 3 | 32 |
/// | ds2 global (reference) | 2/2/64 | 1 × 1 (10 bit), rMax 1.3 | 68 |
/// | ds2 layer-wise (our variant) | 2/2/64 | 46 × 2, rMax 3 | 68 |
/// | ds3 global (reference) | 1/1/16 | 1 × 1 (10 bit), rMax 1.7 | 182 |
/// | ds3 layer-wise (reference) | 1/1/128 | 46 × 2, rMax 3 | 624 |
///
/// `sample` keeps the tokenisation and halves the width (ds1/ds2: 1 block, 2 heads, 32 wide;
/// ds3: as paper; ds3 layer-wise: 1/1/32) so a GPT trains in minutes on two cores. `large` keeps the
/// tokenisation and doubles the width and depth (4 blocks, 4 heads, 128 wide; ds3 global 2/2/32):
/// our addition, for global normalisation, where every layer's energy comes from the shower codes
/// and the paper-size GPT's per-layer energies stopped improving (ds1-pion, session 15).
public enum GPTPresets {
  /// Known preset names.
  public static let names = ["paper", "sample", "large"]

  /// The reference layer-wise mode of a dataset: true for ds1 (the paper) and false for ds2/ds3.
  public static func paperIsLayerwise(_ dataset: DatasetKind) -> Bool { dataset.isDS1 }

  /// Number of layers with their own R in layer-wise mode (ds1: the non-empty layers 5/7; ds2/ds3: 45).
  public static func rLayerCount(_ dataset: DatasetKind) -> Int {
    switch dataset {
    case .ds1Photon: return 5
    case .ds1Pion: return 7
    case .ds2, .ds3: return 45
    }
  }

  /// The stage-1 latent length the reference networks produce (ds1 32, ds2 17×4, ds3 13×14,
  /// ds3 layer-wise 24×26); pass the real stage-1 model's value when it differs.
  public static func defaultLatentLength(_ dataset: DatasetKind, layerwise: Bool) -> Int {
    switch dataset {
    case .ds1Photon, .ds1Pion: return 32
    case .ds2: return 68
    case .ds3: return layerwise ? 624 : 182
    }
  }

  /// The R tokenizer of a dataset and mode (§6.3; layer-wise variants always use 2 tokens, rMax 3).
  public static func rTokenizer(_ dataset: DatasetKind, layerwise: Bool) -> RTokenizer {
    if layerwise {
      return RTokenizer(mode: .layerwise(layers: rLayerCount(dataset)), tokensPerValue: 2, rMax: 3)
    }
    switch dataset {
    case .ds1Photon, .ds1Pion: return RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3)
    case .ds2: return RTokenizer(mode: .global, bits: 10, rMax: 1.3)
    case .ds3: return RTokenizer(mode: .global, bits: 10, rMax: 1.7)
    }
  }

  /// A preset config.
  /// - Parameters:
  ///   - layerwise: per-layer R tokens (nil: the reference choice of the dataset).
  ///   - latentLength: the stage-1 latent length (nil: `defaultLatentLength`).
  /// - Throws: `GPTPresetError.unknownPreset` for a name not in `names`.
  public static func config(dataset: DatasetKind, layerwise: Bool? = nil, preset: String = "paper",
                            latentLength: Int? = nil) throws -> GPTConfig {
    let lw = layerwise ?? paperIsLayerwise(dataset)
    let cond: GPTConfig.Condition = dataset.isDS1 ? .energyClass(classes: 15, dim: 3) : .logEnergy
    let (nl, nh, ne): (Int, Int, Int)
    switch (preset, dataset, lw) {
    case ("paper", .ds3, false): (nl, nh, ne) = (1, 1, 16)
    case ("paper", .ds3, true): (nl, nh, ne) = (1, 1, 128)
    case ("paper", _, _): (nl, nh, ne) = (2, 2, 64)
    case ("sample", .ds3, false): (nl, nh, ne) = (1, 1, 16)
    case ("sample", .ds3, true): (nl, nh, ne) = (1, 1, 32)
    case ("sample", _, _): (nl, nh, ne) = (1, 2, 32)
    case ("large", .ds3, false): (nl, nh, ne) = (2, 2, 32)
    case ("large", .ds3, true): (nl, nh, ne) = (2, 2, 256)
    case ("large", _, _): (nl, nh, ne) = (4, 4, 128)
    default: throw GPTPresetError.unknownPreset(preset)
    }
    return GPTConfig(dataset: dataset, preset: preset, nLayer: nl, nHead: nh, nEmbd: ne, dropout: 0.1,
                     condition: cond, rTokens: rTokenizer(dataset, layerwise: lw),
                     latentLength: latentLength ?? defaultLatentLength(dataset, layerwise: lw))
  }
}

/// Errors of the preset table.
public enum GPTPresetError: Error, CustomStringConvertible, Equatable {
  case unknownPreset(String)
  public var description: String {
    switch self {
    case let .unknownPreset(p): return "unknown GPT preset '\(p)'; use one of \(GPTPresets.names.joined(separator: ", "))"
    }
  }
}
