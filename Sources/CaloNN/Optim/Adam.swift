// Adam / AdamW over a ParameterSet: one loop over all parameters, moments mirror the parameters.
import CaloTensor
import Foundation

/// Adam (Kingma & Ba) with bias correction. `weightDecay` is PyTorch `Adam`'s L2 term (added to the
/// gradient) unless `decoupled` is true, which gives AdamW (decay applied to the weights directly).
public final class Adam {
  public let parameters: ParameterSet
  /// Learning rate (may be changed between steps, e.g. by a schedule).
  public var lr: Float
  public let beta1: Float, beta2: Float, eps: Float
  public let weightDecay: Float
  public let decoupled: Bool
  /// Steps taken so far (bias-correction exponent).
  public private(set) var step = 0
  private var m: [[Float]] = []
  private var v: [[Float]] = []

  /// Calo-VQ uses betas (0.9, 0.999), no weight decay (calovq_facts.md §6.4).
  public init(_ parameters: ParameterSet, lr: Float, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8,
              weightDecay: Float = 0, decoupled: Bool = false) {
    self.parameters = parameters
    self.lr = lr
    (beta1, beta2) = betas
    self.eps = eps
    self.weightDecay = weightDecay
    self.decoupled = decoupled
  }

  /// One update of every parameter that has a gradient (parameters without one are left alone).
  public func update() {
    let ps = parameters.tensors
    while m.count < ps.count {  // parameters registered after construction get fresh moments
      m.append([Float](repeating: 0, count: ps[m.count].count))
      v.append([Float](repeating: 0, count: ps[v.count].count))
    }
    step += 1
    let bc1 = 1 - Float(pow(Double(beta1), Double(step))), bc2 = 1 - Float(pow(Double(beta2), Double(step)))
    for (k, p) in ps.enumerated() {
      guard let g = p.grad else { continue }
      let n = p.count
      p.withMutableData { w in
        m[k].withUnsafeMutableBufferPointer { mm in
          v[k].withUnsafeMutableBufferPointer { vv in
            for i in 0..<n {
              var gi = g[i]
              if weightDecay != 0 && !decoupled { gi += weightDecay * w[i] }
              mm[i] = beta1 * mm[i] + (1 - beta1) * gi
              vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi
              let mh = mm[i] / bc1, vh = vv[i] / bc2
              if weightDecay != 0 && decoupled { w[i] -= lr * weightDecay * w[i] }
              w[i] -= lr * mh / (vh.squareRoot() + eps)
            }
          }
        }
      }
    }
  }

  /// Clears all gradients (call before each backward).
  public func zeroGrad() { parameters.zeroGrad() }

  /// The optimiser state for checkpoints: step count and the first/second moments per parameter
  /// (parameter order; empty lists before the first update).
  public var state: (step: Int, m: [[Float]], v: [[Float]]) { (step, m, v) }

  /// Restores a state from `state` (same parameter order and sizes), so training resumes exactly.
  public func restore(step: Int, m: [[Float]], v: [[Float]]) {
    precondition(m.count == v.count && m.count <= parameters.tensors.count, "Adam.restore: \(m.count) moments for \(parameters.tensors.count) parameters")
    for (k, mk) in m.enumerated() {
      precondition(mk.count == parameters.tensors[k].count && v[k].count == mk.count, "Adam.restore: moment \(k) size mismatch")
    }
    self.step = step
    self.m = m
    self.v = v
  }
}

