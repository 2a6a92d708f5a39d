// Named stage-1 configurations: `paper` reproduces the authors' YAML configs exactly (parameter
// counts of calovq_facts.md §10), `sample` is a narrow version that trains on a 2-core machine,
// `tiny` is for tests. Layer-wise ds2 and global ds1 are our own variants (see README).
import CaloGeometry

/// Errors for preset lookup (shown by the CLI).
public enum Stage1PresetError: Error, CustomStringConvertible {
  case unknownPreset(String)
  public var description: String {
    switch self {
    case let .unknownPreset(p):
      return "unknown stage-1 preset '\(p)'; use one of \(Stage1Presets.names.joined(separator: ", "))"
    }
  }
}

/// The preset table.
public enum Stage1Presets {
  /// Preset names, largest first.
  public static let names = ["paper", "sample", "tiny"]

  /// The default normalisation of each dataset in the reference code (ds1 layer-wise, ds2/ds3 global).
  public static func defaultNorm(_ d: DatasetKind) -> NormMode { d.isDS1 ? .layerwise : .global }

  /// The config of `preset` for `dataset` with normalisation `norm` (nil: the dataset's default).
  public static func config(dataset: DatasetKind, norm: NormMode? = nil, preset: String) throws -> Stage1Config {
    let norm = norm ?? defaultNorm(dataset)
    switch preset {
    case "paper": return paper(dataset, norm)
    case "sample": return sample(dataset, norm)
    case "tiny": return tiny(dataset, norm)
    default: throw Stage1PresetError.unknownPreset(preset)
    }
  }

  // MARK: - paper (calovq_facts.md §2–5)

  static func paper(_ d: DatasetKind, _ norm: NormMode) -> Stage1Config {
    switch d {
    case .ds1Photon, .ds1Pion:
      let arch = HybridArch(mlp: [512, 512], latentChannels: 32, positions: 32, convChannels: 256, zChannels: 256,
                            disc: [512, 256, 128, 128, 64])
      let photon = d == .ds1Photon
      return Stage1Config(dataset: d, norm: norm, preset: "paper", codebookSize: 1024, codeDim: 256,
                          arch: .hybrid(arch), logB: 8000, logC: 10, batchSize: 512, learningRate: 1.024e-3,
                          pixelPower: 1, discStart: 50, discWeight: 0.1,
                          ecWeight: photon ? 0.1 : 0, widthWeight: photon ? 0.1 : 0,
                          noiseKeV: 1, rollAugment: false, flipAugment: false)
    case .ds2:
      return Stage1Config(dataset: d, norm: norm, preset: "paper", codebookSize: 1024, codeDim: 256,
                          arch: .conv(ds2Arch(norm, div: 1)), logB: 3000, logC: 7, batchSize: 256,
                          learningRate: 5.12e-4, pixelPower: 2, discStart: 500, discWeight: 0.8,
                          ecWeight: 1e-4, widthWeight: 1e-4, noiseKeV: 0, rollAugment: true, flipAugment: true)
    case .ds3:
      let layer = norm == .layerwise
      return Stage1Config(dataset: d, norm: norm, preset: "paper", codebookSize: 1024, codeDim: layer ? 256 : 192,
                          arch: .conv(layer ? ds3NormArch(div: 1) : ds3Arch(div: 1)), logB: 40000, logC: 10,
                          batchSize: 256, learningRate: layer ? 5.12e-4 : 7.68e-4, pixelPower: 2,
                          discStart: 500, discWeight: 0.8, ecWeight: layer ? 1e-4 : 0, widthWeight: layer ? 1e-4 : 0,
                          noiseKeV: 0, rollAugment: layer, flipAugment: layer)
    }
  }

  // MARK: - sample and tiny

  /// Narrow networks (channels ÷4, ds1 MLPs ÷4) with the paper's K = 1024 and D, smaller batches;
  /// ds1 with He init and EC/width weights 0.01 (photons).
  static func sample(_ d: DatasetKind, _ norm: NormMode) -> Stage1Config {
    var c = paper(d, norm)
    c.preset = "sample"
    c.deadCodeRestart = 50
    switch c.arch {
    case .hybrid:
      c.arch = .hybrid(HybridArch(mlp: [128, 128], latentChannels: 8, positions: 32, convChannels: 64,
                                  zChannels: 64, disc: [128, 64, 32, 32, 16]))
      c.batchSize = 128
      // He init lets the angular input reach the decoder; with it the paper's EC/width weights of
      // 0.1 diverge, 0.01 is stable (README "ds1 angular fidelity": centres+widths separation of
      // the reconstruction 0.24 → 0.063 at 15 epochs).
      c.heInit = true
      if c.ecWeight > 0 { c.ecWeight = 0.01; c.widthWeight = 0.01 }
    case .conv:
      c.arch = .conv(d == .ds2 ? ds2Arch(norm, div: 4) : (norm == .layerwise ? ds3NormArch(div: 4) : ds3Arch(div: 4)))
      c.batchSize = 64
    }
    return c
  }

  /// Minimal networks for tests: K = 32, D = 8, a few channels, GAN on early.
  static func tiny(_ d: DatasetKind, _ norm: NormMode) -> Stage1Config {
    var c = paper(d, norm)
    c.preset = "tiny"
    c.deadCodeRestart = 20
    c.codebookSize = 32
    c.codeDim = 8
    c.batchSize = 16
    c.learningRate = 2e-3
    c.discStart = 10
    switch c.arch {
    case .hybrid:
      c.arch = .hybrid(HybridArch(mlp: [32], latentChannels: 2, positions: 32, convChannels: 8, zChannels: 8,
                                  disc: [16, 8]))
    case .conv:
      c.arch = .conv(d == .ds2 ? ds2Arch(norm, div: 16) : (norm == .layerwise ? ds3NormArch(div: 16) : ds3Arch(div: 16)))
    }
    return c
  }

  // MARK: - cylindrical specs (channels divided by `div`, at least 2)

  static func ch(_ c: Int, _ div: Int) -> Int { Swift.max(2, c / div) }

  /// ds2 (§2.4, §4.1). Layer-wise: same network, decoder output cropped to 45 layers and normalised
  /// per layer (our variant, modelled on ds3-norm's head).
  static func ds2Arch(_ norm: NormMode, div: Int) -> ConvArch {
    func w(_ c: Int) -> Int { ch(c, div) }
    return ConvArch(
      inputZPad: [4, 8],
      encoder: [.c(w(16), p: true), .conv(out: w(32), kz: 5, ka: 3, sz: 3, sa: 1, padZ: true), .fftDown(8),
                .c(w(64), p: true), .c(w(128), p: true), .fftDown(4), .c(w(256))],
      zChannels: w(128),
      decoder: [.t(w(256)), .fftInterp(4), .t(w(128), p: true), .t(w(64), p: true), .fftInterp(8),
                .convT(out: w(32), kz: 5, ka: 3, sz: 3, sa: 1, padZ: true), .t(w(16), p: true)],
      outputZCrop: norm == .layerwise ? [4, 8] : [0, 0],
      disc: [.c(w(16), p: true), .c(w(32), p: true), .conv(out: w(64), kz: 5, ka: 3, sz: 3, sa: 2, padZ: false),
             .c(w(64)), .c(w(128)), .conv(out: w(256), kz: 3, ka: 3, sz: 1, sa: 2, padZ: false),
             .conv(out: w(512), kz: 3, ka: 3, sz: 2, sa: 2, padZ: false)])
  }

  /// ds3 global (§2.5): ZPad(1,2) after the condition channel, decoder ZCrop(1,1).
  static func ds3Arch(div: Int) -> ConvArch {
    func w(_ c: Int) -> Int { ch(c, div) }
    return ConvArch(
      inputZPad: [0, 0],
      encoder: [.zPad(1, 2), .c(w(32)), .c(w(32)), .fftDown(16), .conv(out: w(64), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false),
                .c(w(64)), .fftDown(12), .c(w(128)), .c(w(128)), .fftDown(8), .c(w(256))],
      zChannels: w(256),
      decoder: [.t(w(128)), .fftInterp(8), .t(w(128)), .t(w(64)), .fftInterp(12), .t(w(64)),
                .convT(out: w(32), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false), .fftInterp(16), .t(w(32)), .t(w(32)),
                .zCrop(1, 1)],
      outputZCrop: [0, 0],
      disc: ds3Disc(div))
  }

  /// ds3 layer-normalised (§2.6): Z padded (4,8) before the log, unpadded after the final 1×1 conv.
  static func ds3NormArch(div: Int) -> ConvArch {
    func w(_ c: Int) -> Int { ch(c, div) }
    return ConvArch(
      inputZPad: [4, 8],
      encoder: [.c(w(32)), .c(w(32)), .fftDown(12), .conv(out: w(64), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false),
                .c(w(64), p: true), .fftDown(8), .c(w(128), p: true), .c(w(128), p: true), .fftDown(4), .c(w(256))],
      zChannels: w(256),
      decoder: [.t(w(128)), .fftInterp(4), .t(w(128), p: true), .t(w(64), p: true), .fftInterp(8), .t(w(64), p: true),
                .convT(out: w(32), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false), .fftInterp(12), .t(w(32)), .t(w(32))],
      outputZCrop: [4, 8],
      disc: ds3Disc(div))
  }

  /// The ds3 / ds3-norm discriminator (§4.1).
  static func ds3Disc(_ div: Int) -> [ConvOp] {
    func w(_ c: Int) -> Int { ch(c, div) }
    return [.c(w(32)), .conv(out: w(64), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false), .fftDown(18), .c(w(64)),
            .conv(out: w(128), kz: 3, ka: 3, sz: 2, sa: 1, padZ: false), .fftDown(16), .c(w(128)), .fftDown(8),
            .c(w(256))]
  }
}
