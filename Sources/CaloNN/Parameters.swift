// The parameter registry: every trainable tensor of a model, in creation order, with its
// model-file name. The optimiser, gradient clipping, parameter counts and model files are each one
// loop over this list.
import CaloTensor
import Foundation

/// How a parameter's initial values are drawn (all from the caller's seeded `RNG`).
public enum Initializer: Sendable {
  case zeros
  case ones
  case constant(Float)
  /// N(0, std²), e.g. std 0.02 for minGPT Linear/Embedding weights.
  case normal(std: Float)
  /// U[lo, hi), e.g. the VQ codebook's U(−1/K, 1/K).
  case uniform(Float, Float)
  /// Xavier/Glorot uniform: U(±√(6/(fanIn + fanOut))); for convolutions fanIn = Cin·kernel and
  /// fanOut = Cout·kernel (the CylConv/CylConvT init of calovq_facts.md §2.1).
  case xavierUniform(fanIn: Int, fanOut: Int)
  /// PyTorch's default for Linear/Conv weights and biases: U(±1/√fanIn)
  /// (kaiming_uniform with a = √5 reduces to this bound).
  case torchDefault(fanIn: Int)

  /// Draws `n` values.
  public func values(_ n: Int, rng: inout RNG) -> [Float] {
    switch self {
    case .zeros: return [Float](repeating: 0, count: n)
    case .ones: return [Float](repeating: 1, count: n)
    case let .constant(c): return [Float](repeating: c, count: n)
    case let .normal(std): return (0..<n).map { _ in rng.normal(mean: 0, std: std) }
    case let .uniform(lo, hi): return (0..<n).map { _ in rng.uniform(lo, hi) }
    case let .xavierUniform(fi, fo):
      let b = Float((6.0 / Double(fi + fo)).squareRoot())
      return (0..<n).map { _ in rng.uniform(-b, b) }
    case let .torchDefault(fi):
      let b = Float(1 / Double(Swift.max(fi, 1)).squareRoot())
      return (0..<n).map { _ in rng.uniform(-b, b) }
    }
  }
}

/// An ordered set of named trainable tensors (a model's state). Layers register their tensors here
/// under hierarchical names ("decoder.convs.3.weight", "h.0.cAttn.weight"); names are unique.
public final class ParameterSet {
  /// Parameters in registration order (this is also the model-file order).
  public private(set) var tensors: [Tensor] = []
  private var byName: [String: Int] = [:]

  public init() {}

  /// Creates, registers and returns a parameter (`requiresGrad = true`).
  @discardableResult
  public func make(_ name: String, _ shape: [Int], _ initializer: Initializer, rng: inout RNG) -> Tensor {
    let t = Tensor.parameter(shape, data: initializer.values(shape.reduce(1, *), rng: &rng), name: name)
    add(t)
    return t
  }

  /// Registers an existing tensor under its `name` (must be set and unique).
  public func add(_ t: Tensor) {
    guard let name = t.name else { preconditionFailure("ParameterSet.add needs a named tensor (shape \(t.shape))") }
    precondition(byName[name] == nil, "duplicate parameter name '\(name)'")
    byName[name] = tensors.count
    tensors.append(t)
  }

  /// The parameter with this name, if any.
  public subscript(name: String) -> Tensor? { byName[name].map { tensors[$0] } }

  /// Names in registration order.
  public var names: [String] { tensors.map { $0.name! } }

  /// Total number of scalar parameters.
  public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

  /// Sets every gradient to nil (the next backward starts from zero).
  public func zeroGrad() { for t in tensors { t.zeroGrad() } }

  /// Scales all gradients so that their global L2 norm is at most `maxNorm`; returns the norm
  /// before clipping (accumulated in Double).
  @discardableResult
  public func clipGradNorm(_ maxNorm: Float) -> Float {
    var s = 0.0
    for t in tensors { if let g = t.grad { for v in g { s += Double(v) * Double(v) } } }
    let norm = Float(s.squareRoot())
    if norm > maxNorm && norm > 0 {
      let c = maxNorm / (norm + 1e-6)
      for t in tensors where t.grad != nil { for i in 0..<t.count { t.grad![i] *= c } }
    }
    return norm
  }
}
