// The stage-1 (VQ-VAE + discriminator) configuration: a plain Codable value that fully determines
// the networks, the preprocessing and the training hyper-parameters. It is stored as JSON in the
// model file's metadata, so a model file can be rebuilt without knowing which preset made it.
import CaloGeometry

/// How the decoder output is normalised and what R means (calovq_facts.md §1.3).
public enum NormMode: String, Codable, Sendable, CaseIterable {
  /// One R = E_dep/E_inc per shower; the decoder output sums to 1 over the whole shower.
  case global
  /// One R per calorimeter layer (E_layer/E_inc); the decoder output sums to 1 within each layer.
  case layerwise
}

/// One layer of a cylindrical network, in the order the reference spec strings list them
/// (calovq_facts.md §2.1 "spec mini-language"). Convolutions are followed by SiLU.
public enum ConvOp: Codable, Equatable, Sendable {
  /// CylConv to `out` channels, kernel (kz, ka), stride (sz, sa), zero Z padding when `padZ`; + SiLU.
  case conv(out: Int, kz: Int, ka: Int, sz: Int, sa: Int, padZ: Bool)
  /// CylConvT to `out` channels (non-centred angular wrap); + SiLU.
  case convT(out: Int, kz: Int, ka: Int, sz: Int, sa: Int, padZ: Bool)
  /// FFTDown along A by `n` samples.
  case fftDown(Int)
  /// FFTInterp along A by `n` samples.
  case fftInterp(Int)
  /// Zero rows in front / behind along Z.
  case zPad(Int, Int)
  /// Remove rows in front / behind along Z.
  case zCrop(Int, Int)

  /// 3×3 stride-1 CylConv (the spec default), optionally Z-padded.
  public static func c(_ out: Int, p: Bool = false) -> ConvOp { .conv(out: out, kz: 3, ka: 3, sz: 1, sa: 1, padZ: p) }
  /// 3×3 stride-1 CylConvT, optionally Z-padded.
  public static func t(_ out: Int, p: Bool = false) -> ConvOp { .convT(out: out, kz: 3, ka: 3, sz: 1, sa: 1, padZ: p) }
}

/// ds1 "hybrid1d" sizes (calovq_facts.md §2.3 and §4.1). Paper: mlp [512, 512], latentChannels 32,
/// positions 32, convChannels 256, zChannels 256, disc [512, 256, 128, 128, 64].
public struct HybridArch: Codable, Equatable, Sendable {
  /// Hidden widths of the encoder MLP before the last layer (the decoder mirrors them reversed).
  public var mlp: [Int]
  /// Channels of the MLP output reshaped to (channels, positions); the MLP's last width is their product.
  public var latentChannels: Int
  /// Latent length L (positions of the 1-D grid).
  public var positions: Int
  /// Width of the Conv1d stack (3 k=3 convolutions in encoder and decoder).
  public var convChannels: Int
  /// Encoder output channels (input of quant_conv, output of post_quant_conv).
  public var zChannels: Int
  /// Hidden widths of the discriminator MLP (output is one logit).
  public var disc: [Int]
  /// Width of the learned E_inc class embedding (15 classes → 3).
  public var condDim: Int = 3
}

/// Cylindrical encoder/decoder/discriminator specs (calovq_facts.md §2.4–2.6, §4.1).
public struct ConvArch: Codable, Equatable, Sendable {
  /// Z rows zero-padded in front of / behind the data before the log transform (ds2 (4,8) in
  /// preprocessing, ds3-norm (4,8) "internal"; (0,0) for ds3, whose encoder spec starts with a ZPad).
  public var inputZPad: [Int]
  public var encoder: [ConvOp]
  /// Channels of the encoder's final 1×1 conv (quant_conv input).
  public var zChannels: Int
  public var decoder: [ConvOp]
  /// Z rows removed after the decoder's final 1×1 conv (ds3-norm (4,8); ds2 layer-wise (4,8); else (0,0)).
  public var outputZCrop: [Int]
  public var disc: [ConvOp]
}

/// Which network family a config uses.
public enum Stage1Arch: Codable, Equatable, Sendable {
  case hybrid(HybridArch)
  case conv(ConvArch)
}

/// Everything that defines a stage-1 model and its training (calovq_facts.md §1–5).
public struct Stage1Config: Codable, Equatable, Sendable {
  /// Format version of this JSON (bump on incompatible changes).
  public var version: Int = 1
  public var dataset: DatasetKind
  public var norm: NormMode
  /// Preset name this config came from ("paper", "sample", "tiny" or "custom").
  public var preset: String
  /// Codebook size K (1024 everywhere in the reference).
  public var codebookSize: Int
  /// Code dimension D (256, or 192 for ds3 global).
  public var codeDim: Int
  public var arch: Stage1Arch
  /// Log transform x' = ln(1 + b·x)/c of encoder and discriminator inputs (§1.4).
  public var logB: Float
  public var logC: Float

  // MARK: Training (§4–5)
  /// Showers per step (ds1 512, ds2/ds3 256).
  public var batchSize: Int
  /// Adam learning rate for both optimisers (base lr × batch size).
  public var learningRate: Float
  /// Adam betas (0.5, 0.9) for both optimisers.
  public var betas: [Float] = [0.5, 0.9]
  /// Reconstruction loss power: 1 = summed |Δ| (ds1), 2 = summed Δ² (ds2/ds3), mean over showers.
  public var pixelPower: Int
  /// The GAN turns on when Lightning's global_step (2 per batch) exceeds this (ds1 50, else 500).
  public var discStart: Int
  /// Multiplier of the adaptive GAN weight (ds1 0.1, else 0.8).
  public var discWeight: Float
  /// Energy-centre and width loss weights (ds1-photon 0.1/0.1, ds2 and ds3-norm 1e-4, else 0).
  public var ecWeight: Float
  public var widthWeight: Float
  /// Weight of the per-layer energy loss (our addition, global normalisation only; nil or 0 = off,
  /// the reference): mean over showers and layers of (ln(E_l^rec + ε) − ln(E_l + ε))² on E/E_inc,
  /// ε = voxel threshold / E_inc. With one global R the decoder's softmax alone splits the energy
  /// between layers, and the L1/L2 reconstruction loss barely sees a layer holding 10⁻⁴ of it
  /// (ds1-photon layer 12); the log compares layers on the scale the E_layer histograms use.
  /// Optional so model files written before it existed still decode.
  public var layerEnergyWeight: Float? = nil
  /// The layer-energy loss weight in effect (0 = off, also for files without the key).
  public var layerEnergyLossWeight: Float { layerEnergyWeight ?? 0 }
  /// Weight of the radial energy loss (our addition, ds2/ds3 conv layouts only; nil or 0 = off): mean
  /// over showers and radial bins of (ln(E_r^rec + ε) − ln(E_r + ε))², E_r the shower's energy in
  /// radial bin r summed over all layers and angles, on E/E_inc. In the conv layouts the radial bins
  /// are the decoder's output channels, so one bias per channel sets a radial bin in every layer; the
  /// per-layer energy loss alone lowered the outer channels until their softmax share vanished (ds2
  /// global, session 14: 10⁻⁹ of the energy from the fourth bin on against the data's 2.5 %), and its
  /// gradient with them. The log of the whole-shower sum pulls them back at any scale.
  public var radialEnergyWeight: Float? = nil
  /// The radial-energy loss weight in effect (0 = off, also for files without the key).
  public var radialEnergyLossWeight: Float { radialEnergyWeight ?? 0 }
  /// Decoder-only training (our addition; nil or false = the whole generator trains): the encoder,
  /// quant_conv and codebook stay fixed, so every shower keeps the codes of the model the run started
  /// from (`--init-from`) and a stage-2 GPT trained on those codes stays valid. Lets a long GPT run
  /// keep its tokens while the decoder is refitted, e.g. with a stronger layer-energy loss. Dead-code
  /// restart is skipped in such a run (it would rewrite codebook rows).
  public var decoderOnly: Bool? = nil
  /// Is this a decoder-only run (false also for files without the key)?
  public var trainsDecoderOnly: Bool { decoderOnly ?? false }
  /// Does training restart dead codes (a window is set and the codebook is not held fixed)?
  /// Does training run the GAN passes (a GAN weight above 0)? With weight 0 they would change nothing.
  public var trainsGAN: Bool { discWeight > 0 }
  public var restartsDeadCodes: Bool { deadCodeRestart > 0 && !trainsDecoderOnly }
  /// VQ codebook-term weight β (0.25, "legacy" loss: commitment weight 1).
  public var beta: Float = 0.25
  /// ds1 training noise: + U[0,1)·this many keV on every voxel, once at load time (1.0 for ds1).
  public var noiseKeV: Float
  /// One random angular roll per batch (ds2, ds3-norm).
  public var rollAugment: Bool
  /// Per-shower random angular flip with p = 0.5 (ds2, ds3-norm).
  public var flipAugment: Bool
  /// Dead-code restart window in batches; 0 = off (the reference). When > 0, a code unused for
  /// this many batches is replaced by a random encoder output of the current batch. Our addition for
  /// the small presets, whose gradient-trained codebook otherwise collapses to a handful of codes.
  public var deadCodeRestart: Int = 0
  /// Initialisation of the ds1 hybrid networks' hidden ReLU layers (encoder MLP and convs, decoder
  /// convs and MLP; the decoder's output layer keeps PyTorch's default). nil or false: the
  /// reference's PyTorch defaults, whose U(±1/√fan_in) weights and biases shrink the input through
  /// ~16 ReLU layers so the decoder starts as a class mean. true: He-uniform weights U(±√(6/fan_in))
  /// and zero biases (our option for the sample models; README "ds1 angular fidelity").
  /// Optional so model files written before it existed still decode.
  public var heInit: Bool? = nil

  /// Voxels per shower.
  public var voxels: Int { dataset.voxelCount }
  /// Is this the ds1 hybrid family?
  public var isHybrid: Bool { if case .hybrid = arch { return true } else { return false } }
}
