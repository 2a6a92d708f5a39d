// The stage-1 interface stage 2 needs: turning showers into codes and R values, and codes back into
// showers. The real VQ-VAE (CaloModel, branch stage1) conforms at merge time; tests use a tiny codec.
import CaloData
import CaloGeometry

/// A frozen stage-1 model as seen by stage-2 training and generation.
///
/// Shapes: energies (N) incident energies in MeV; showers (N, voxels) MeV in CaloChallenge voxel
/// order; codes (N, L) with L = latentShape.reduce(1, *), flattened row-major; pixelsU (N, voxels),
/// each normalisation group (whole shower or layer) summing to 1; r (N, nR) with nR = 1 (global) or
/// the number of layers with their own R.
public protocol ShowerCodec {
  associatedtype Config: Codable
  /// The stage-1 configuration (stored in its model file).
  var config: Config { get }
  /// The latent grid, e.g. [32] (ds1), [17, 4] (ds2), [13, 14] (ds3).
  var latentShape: [Int] { get }
  /// VQ code indices (0..<1024) of N showers, (N, L).
  func encode(energies: [Double], showers: [Float]) throws -> [Int32]
  /// Unit-normalised showers decoded from codes, (N, voxels).
  func decode(codes: [Int32], energies: [Double]) throws -> [Float]
  /// The energy ratios R of N showers, (N, nR): E_dep/E_inc, or per layer E_layer/E_inc.
  func rValues(energies: [Double], showers: [Float]) throws -> [Float]
  /// Showers in MeV from unit-normalised showers, ratios and energies: pixelsU · R · E_inc.
  func assemble(pixelsU: [Float], r: [Float], energies: [Double]) throws -> [Float]
  /// Loads a stage-1 model file.
  static func load(from path: String) throws -> Self
}

/// Errors of stage-2 training and generation; descriptions say what to do.
public enum Stage2Error: Error, CustomStringConvertible, Equatable {
  case noStage1Loader(path: String)
  case mismatch(String)
  case badInput(String)
  case missingFile(String)

  public var description: String {
    switch self {
    case let .noStage1Loader(path):
      return "cannot load the stage-1 model '\(path)': this build has no loader for its format "
        + "(train one with `calovq train stage1`, or use a build that includes the VQ-VAE)"
    case let .mismatch(s): return s
    case let .badInput(s): return s
    case let .missingFile(s): return s
    }
  }
}

/// Finds a loader for stage-1 model files. The real VQ-VAE type registers itself here at merge time
/// (`Stage1Loaders.all`); each loader returns nil if the file is not its format.
public enum Stage1Loaders {
  /// A loader: path → codec, nil when the file is not in this loader's format.
  public typealias Loader = @Sendable (String) throws -> (any ShowerCodec)?

  /// The built-in loaders, tried in order.
  public static let all: [Loader] = [vqvae]

  /// Loads `path` with the first loader that recognises it (`extra` loaders are tried first).
  public static func load(_ path: String, extra: [Loader] = []) throws -> any ShowerCodec {
    for l in extra + all { if let c = try l(path) { return c } }
    throw Stage2Error.noStage1Loader(path: path)
  }
}
