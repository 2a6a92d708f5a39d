// The trainable layers Calo-VQ needs. Each layer registers its tensors in a ParameterSet under
// `name.weight` / `name.bias` (PyTorch/minGPT names, so reference weights map 1:1) and its
// `callAsFunction` is one recorded op from CaloTensor.
import CaloTensor

/// y = x·Wᵀ + b. x (…, In) → (…, Out); weight (Out, In), bias (Out).
public struct Linear {
  public let weight: Tensor
  public let bias: Tensor?
  /// Default init is PyTorch's (U(±1/√In) for weight and bias); minGPT passes `.normal(std: 0.02)`
  /// and `.zeros`.
  public init(_ ps: ParameterSet, _ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true,
              weightInit: Initializer? = nil, biasInit: Initializer? = nil, rng: inout RNG) {
    weight = ps.make(name + ".weight", [outFeatures, inFeatures], weightInit ?? .torchDefault(fanIn: inFeatures), rng: &rng)
    self.bias = bias ? ps.make(name + ".bias", [outFeatures], biasInit ?? .torchDefault(fanIn: inFeatures), rng: &rng) : nil
  }
  public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight, bias) }
}

/// LayerNorm over the last dimension C (weight 1, bias 0 initially). x (…, C) → (…, C).
public struct LayerNorm {
  public let weight: Tensor, bias: Tensor
  public let eps: Float
  public init(_ ps: ParameterSet, _ name: String, _ C: Int, eps: Float = 1e-5, rng: inout RNG) {
    weight = ps.make(name + ".weight", [C], .ones, rng: &rng)
    bias = ps.make(name + ".bias", [C], .zeros, rng: &rng)
    self.eps = eps
  }
  public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// Embedding table (V, C): indices (any shape) → shape + [C]. PyTorch default init N(0, 1).
public struct Embedding {
  public let weight: Tensor
  public init(_ ps: ParameterSet, _ name: String, count V: Int, dim C: Int, initializer: Initializer = .normal(std: 1), rng: inout RNG) {
    weight = ps.make(name + ".weight", [V, C], initializer, rng: &rng)
  }
  public func callAsFunction(_ indices: [Int], shape: [Int]? = nil) -> Tensor {
    Tensor.embedding(weight, indices: indices, indexShape: shape)
  }
}

/// PyTorch Conv1d with zero padding. x (N, Cin, L) → (N, Cout, L'); weight (Cout, Cin, k).
public struct Conv1d {
  public let weight: Tensor, bias: Tensor?
  public let stride: Int, padding: Int
  public init(_ ps: ParameterSet, _ name: String, in cin: Int, out cout: Int, kernel k: Int, stride: Int = 1,
              padding: Int = 0, bias: Bool = true, rng: inout RNG) {
    weight = ps.make(name + ".weight", [cout, cin, k], .torchDefault(fanIn: cin * k), rng: &rng)
    self.bias = bias ? ps.make(name + ".bias", [cout], .torchDefault(fanIn: cin * k), rng: &rng) : nil
    self.stride = stride
    self.padding = padding
  }
  public func callAsFunction(_ x: Tensor) -> Tensor { x.conv1d(weight, bias, stride: stride, padding: padding) }
}

/// Cylindrical convolution CylConv (calovq_facts.md §2.1). x (N, Cin, Z, A) → (N, Cout, Z', A').
/// Weight (Cout, Cin, kz, ka) Xavier-uniform, bias zeros — or PyTorch defaults with `torchInit`
/// (the 1×1 quant_conv / post_quant_conv are plain PyTorch Conv2d).
public struct CylConv2d {
  public let weight: Tensor, bias: Tensor
  public let stride: (z: Int, a: Int)
  public let padZ: Bool
  public init(_ ps: ParameterSet, _ name: String, in cin: Int, out cout: Int, kernel: (z: Int, a: Int) = (3, 3),
              stride: (z: Int, a: Int) = (1, 1), padZ: Bool = false, torchInit: Bool = false, rng: inout RNG) {
    let k = kernel.z * kernel.a
    weight = ps.make(name + ".weight", [cout, cin, kernel.z, kernel.a],
                     torchInit ? .torchDefault(fanIn: cin * k) : .xavierUniform(fanIn: cin * k, fanOut: cout * k), rng: &rng)
    bias = ps.make(name + ".bias", [cout], torchInit ? .torchDefault(fanIn: cin * k) : .zeros, rng: &rng)
    self.stride = stride
    self.padZ = padZ
  }
  public func callAsFunction(_ x: Tensor) -> Tensor { x.cylConv2d(weight, bias, stride: stride, padZ: padZ) }
}

/// Cylindrical transposed convolution CylConvT (calovq_facts.md §2.1, non-centred angular wrap).
/// x (N, Cin, Z, A) → (N, Cout, Z', A·sa). Weight (Cin, Cout, kz, ka) Xavier-uniform, bias zeros.
public struct CylConvTranspose2d {
  public let weight: Tensor, bias: Tensor
  public let stride: (z: Int, a: Int)
  public let padZ: Bool
  public init(_ ps: ParameterSet, _ name: String, in cin: Int, out cout: Int, kernel: (z: Int, a: Int) = (3, 3),
              stride: (z: Int, a: Int) = (1, 1), padZ: Bool = false, rng: inout RNG) {
    let k = kernel.z * kernel.a
    weight = ps.make(name + ".weight", [cin, cout, kernel.z, kernel.a], .xavierUniform(fanIn: cout * k, fanOut: cin * k), rng: &rng)
    bias = ps.make(name + ".bias", [cout], .zeros, rng: &rng)
    self.stride = stride
    self.padZ = padZ
  }
  public func callAsFunction(_ x: Tensor) -> Tensor { x.cylConvTranspose2d(weight, bias, stride: stride, padZ: padZ) }
}

/// The VQ codebook (K, D), U(−1/K, 1/K) init, trained by gradient (calovq_facts.md §3).
public struct VectorQuantizer {
  public let codebook: Tensor
  public let beta: Float
  public init(_ ps: ParameterSet, _ name: String, count K: Int, dim D: Int, beta: Float = 0.25, rng: inout RNG) {
    codebook = ps.make(name + ".embedding.weight", [K, D], .uniform(-1 / Float(K), 1 / Float(K)), rng: &rng)
    self.beta = beta
  }
  /// z (M, D) channels-last rows → straight-through quantised rows, loss, indices.
  public func callAsFunction(_ z: Tensor) -> VectorQuantized { vectorQuantize(z, codebook: codebook, beta: beta) }
}
