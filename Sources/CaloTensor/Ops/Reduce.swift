// Reductions: sum / mean over everything or one axis, max over one axis.

extension Tensor {
  /// Sum of all elements → scalar (shape `[]`). Accumulates in Double.
  public func sum() -> Tensor {
    var s = 0.0
    withData { p in for i in 0..<count { s += Double(p[i]) } }
    let x = self
    return Tensor.result([], [Float(s)], inputs: [x]) { out in
      let g = out.grad![0]
      x.withGrad { gx in for i in 0..<x.count { gx[i] += g } }
    }
  }

  /// Mean of all elements → scalar.
  public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

  /// Sum over `axis`. Output drops the axis, or keeps it with size 1 when `keepDim`.
  /// (…, n, …) → (…, …) or (…, 1, …).
  public func sum(axis: Int, keepDim: Bool = false) -> Tensor {
    let ax = normAxis(axis, rank)
    let (outer, n, inner) = axisSplit(shape, ax)
    var y = [Float](repeating: 0, count: outer * inner)
    withData { p in
      for o in 0..<outer {
        for k in 0..<n {
          let base = (o * n + k) * inner
          for i in 0..<inner { y[o * inner + i] += p[base + i] }
        }
      }
    }
    var s = shape
    if keepDim { s[ax] = 1 } else { s.remove(at: ax) }
    let x = self
    return Tensor.result(s, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in
        for o in 0..<outer { for k in 0..<n { for i in 0..<inner { gx[(o * n + k) * inner + i] += g[o * inner + i] } } }
      }
    }
  }

  /// Mean over `axis`.
  public func mean(axis: Int, keepDim: Bool = false) -> Tensor {
    sum(axis: axis, keepDim: keepDim) * (1 / Float(shape[normAxis(axis, rank)]))
  }

  /// Maximum over `axis`; the gradient flows to the first maximal element.
  public func max(axis: Int, keepDim: Bool = false) -> Tensor {
    let ax = normAxis(axis, rank)
    let (outer, n, inner) = axisSplit(shape, ax)
    precondition(n > 0, "max over an empty axis (shape \(shape))")
    var y = [Float](repeating: 0, count: outer * inner)
    var arg = [Int](repeating: 0, count: outer * inner)
    withData { p in
      for o in 0..<outer {
        for i in 0..<inner {
          var best = p[o * n * inner + i], bk = 0
          for k in 1..<n where p[(o * n + k) * inner + i] > best { best = p[(o * n + k) * inner + i]; bk = k }
          y[o * inner + i] = best
          arg[o * inner + i] = (o * n + bk) * inner + i
        }
      }
    }
    var s = shape
    if keepDim { s[ax] = 1 } else { s.remove(at: ax) }
    let x = self
    return Tensor.result(s, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in for j in 0..<g.count { gx[arg[j]] += g[j] } }
    }
  }
}
