// Elementwise ops: binary with numpy broadcasting, scalar ops and unary activations.
// Each op states its forward value and, beside it, the local derivative used by the backward rule.
import Foundation

// MARK: - Broadcasting iteration

/// Calls `body(iOut, iA, iB)` for every element of the broadcast shape `out`, where `sa`/`sb` are the
/// broadcast strides of the inputs. Innermost dimension is the hot loop.
@inline(__always)
func forEachBroadcast(_ out: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
  let r = out.count
  if r == 0 { body(0, 0, 0); return }
  let n = numel(out)
  if n == 0 { return }
  let inner = out[r - 1], stA = sa[r - 1], stB = sb[r - 1]
  var idx = [Int](repeating: 0, count: r)
  var baseA = 0, baseB = 0, o = 0
  while o < n {
    for k in 0..<inner { body(o + k, baseA + k * stA, baseB + k * stB) }
    o += inner
    // Odometer over the outer dimensions.
    var d = r - 2
    while d >= 0 {
      idx[d] += 1; baseA += sa[d]; baseB += sb[d]
      if idx[d] < out[d] { break }
      baseA -= sa[d] * out[d]; baseB -= sb[d] * out[d]; idx[d] = 0
      d -= 1
    }
  }
}

extension Tensor {
  /// Binary op with broadcasting. `f` is the forward map; `da`/`db` give ∂y/∂a and ∂y/∂b from
  /// (a, b, y). Backward sums the gradient over broadcast dimensions.
  @inline(__always)
  static func binary(
    _ a: Tensor, _ b: Tensor, _ f: @escaping (Float, Float) -> Float,
    _ da: @escaping (Float, Float, Float) -> Float, _ db: @escaping (Float, Float, Float) -> Float
  ) -> Tensor {
    let outShape = a.shape == b.shape ? a.shape : broadcastShapes(a.shape, b.shape)
    var y = [Float](repeating: 0, count: numel(outShape))
    let same = a.shape == b.shape
    let sa = same ? [] : broadcastStrides(a.shape, to: outShape)
    let sb = same ? [] : broadcastStrides(b.shape, to: outShape)
    a.withData { pa in
      b.withData { pb in
        y.withUnsafeMutableBufferPointer { py in
          if same {
            parallelRange(py.count, cost: 4) { r in for i in r { py[i] = f(pa[i], pb[i]) } }
          } else {
            forEachBroadcast(outShape, sa, sb) { o, ia, ib in py[o] = f(pa[ia], pb[ib]) }
          }
        }
      }
    }
    return result(outShape, y, inputs: [a, b]) { out in
      let g = out.grad!
      let yv = out.data
      let av = a.data, bv = b.data
      let n = g.count
      if n == 0 { return }
      if a.requiresGrad {
        a.withGrad { ga in
          if same { withPointers(g, av, bv, yv) { g, av, bv, yv in parallelRange(n, cost: 4) { r in for i in r { ga[i] += g[i] * da(av[i], bv[i], yv[i]) } } } }
          else { forEachBroadcast(outShape, sa, sb) { o, ia, ib in ga[ia] += g[o] * da(av[ia], bv[ib], yv[o]) } }
        }
      }
      if b.requiresGrad {
        b.withGrad { gb in
          if same { withPointers(g, av, bv, yv) { g, av, bv, yv in parallelRange(n, cost: 4) { r in for i in r { gb[i] += g[i] * db(av[i], bv[i], yv[i]) } } } }
          else { forEachBroadcast(outShape, sa, sb) { o, ia, ib in gb[ib] += g[o] * db(av[ia], bv[ib], yv[o]) } }
        }
      }
    }
  }

  /// Unary elementwise op: `f` forward, `df(x, y)` = dy/dx.
  @inline(__always)
  func unary(_ f: (Float) -> Float, _ df: @escaping (Float, Float) -> Float) -> Tensor {
    var y = [Float](repeating: 0, count: count)
    withData { px in y.withUnsafeMutableBufferPointer { py in parallelRange(py.count, cost: 8) { r in for i in r { py[i] = f(px[i]) } } } }
    let x = self
    return Tensor.result(shape, y, inputs: [x]) { out in
      let g = out.grad!, yv = out.data, xv = x.data
      let n = g.count
      if n == 0 { return }
      x.withGrad { gx in
        withPointers(g, xv, yv, yv) { g, xv, yv, _ in parallelRange(n, cost: 8) { r in for i in r { gx[i] += g[i] * df(xv[i], yv[i]) } } }
      }
    }
  }

  // MARK: Binary

  /// a + b with broadcasting.
  public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, { $0 + $1 }, { _, _, _ in 1 }, { _, _, _ in 1 }) }
  /// a − b with broadcasting.
  public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, { $0 - $1 }, { _, _, _ in 1 }, { _, _, _ in -1 }) }
  /// a · b (elementwise) with broadcasting.
  public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, { $0 * $1 }, { _, b, _ in b }, { a, _, _ in a }) }
  /// a / b (elementwise) with broadcasting. d/db = −a/b² = −y/b.
  public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, { $0 / $1 }, { _, b, _ in 1 / b }, { _, b, y in -y / b }) }

  /// Elementwise maximum (gradient goes to `a` where a ≥ b, else to `b`).
  public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    binary(a, b, { Swift.max($0, $1) }, { a, b, _ in a >= b ? 1 : 0 }, { a, b, _ in a >= b ? 0 : 1 })
  }

  // MARK: Scalar

  /// x + s.
  public static func + (x: Tensor, s: Float) -> Tensor { x.unary({ $0 + s }, { _, _ in 1 }) }
  /// s + x.
  public static func + (s: Float, x: Tensor) -> Tensor { x + s }
  /// x − s.
  public static func - (x: Tensor, s: Float) -> Tensor { x + (-s) }
  /// s − x.
  public static func - (s: Float, x: Tensor) -> Tensor { x.unary({ s - $0 }, { _, _ in -1 }) }
  /// x · s.
  public static func * (x: Tensor, s: Float) -> Tensor { x.unary({ $0 * s }, { _, _ in s }) }
  /// s · x.
  public static func * (s: Float, x: Tensor) -> Tensor { x * s }
  /// x / s.
  public static func / (x: Tensor, s: Float) -> Tensor { x * (1 / s) }
  /// −x.
  public static prefix func - (x: Tensor) -> Tensor { x * -1 }

  // MARK: Unary maths

  /// eˣ.
  public func exp() -> Tensor { unary({ Foundation.exp($0) }, { _, y in y }) }
  /// ln x (x > 0).
  public func log() -> Tensor { unary({ Foundation.log($0) }, { x, _ in 1 / x }) }
  /// ln(1 + x), accurate near 0.
  public func log1p() -> Tensor { unary({ Foundation.log1p($0) }, { x, _ in 1 / (1 + x) }) }
  /// eˣ − 1, accurate near 0. d/dx = eˣ = y + 1.
  public func expm1() -> Tensor { unary({ Foundation.expm1($0) }, { _, y in y + 1 }) }
  /// x².
  public func square() -> Tensor { unary({ $0 * $0 }, { x, _ in 2 * x }) }
  /// √x.
  public func sqrt() -> Tensor { unary({ $0.squareRoot() }, { _, y in 0.5 / y }) }
  /// |x| (subgradient 0 at 0).
  public func abs() -> Tensor { unary({ Swift.abs($0) }, { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
  /// tanh x.
  public func tanh() -> Tensor { unary({ Foundation.tanh($0) }, { _, y in 1 - y * y }) }
  /// Logistic σ(x) = 1/(1+e⁻ˣ).
  public func sigmoid() -> Tensor { unary({ 1 / (1 + Foundation.exp(-$0)) }, { _, y in y * (1 - y) }) }
  /// xᵖ for a constant exponent (x > 0 unless p is an integer).
  public func pow(_ p: Float) -> Tensor { unary({ Foundation.pow($0, p) }, { x, _ in p * Foundation.pow(x, p - 1) }) }

  // MARK: Activations

  /// max(x, 0) (derivative 0 at 0, as PyTorch).
  public func relu() -> Tensor { unary({ Swift.max($0, 0) }, { x, _ in x > 0 ? 1 : 0 }) }
  /// x for x > 0, slope·x otherwise.
  public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
    unary({ $0 > 0 ? $0 : slope * $0 }, { x, _ in x > 0 ? 1 : slope })
  }
  /// SiLU / swish: x·σ(x). d/dx = σ(x)·(1 + x·(1 − σ(x))).
  public func silu() -> Tensor {
    unary({ $0 / (1 + Foundation.exp(-$0)) }, { x, _ in
      let s = 1 / (1 + Foundation.exp(-x))
      return s * (1 + x * (1 - s))
    })
  }
  /// Exact (erf) GELU: x·Φ(x) = ½x(1 + erf(x/√2)). d/dx = Φ(x) + x·φ(x).
  public func gelu() -> Tensor {
    unary({ 0.5 * $0 * (1 + erf($0 * 0.70710678118654752)) }, { x, _ in
      let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
      let pdf = Foundation.exp(-0.5 * x * x) * 0.3989422804014327
      return cdf + x * pdf
    })
  }
}
