// LayerNorm over the last axis, embedding lookup and dropout.

extension Tensor {
  /// LayerNorm over the last dimension C: y = (x − mean)/√(var + eps) · weight + bias, with the
  /// biased variance (PyTorch). Shapes: x (…, C), weight (C), bias (C) → (…, C).
  public func layerNorm(weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
    let C = shape.last ?? 0
    precondition(weight.shape == [C] && bias.shape == [C], "layerNorm: weight \(weight.shape) / bias \(bias.shape) must be [\(C)] for x \(shape)")
    let rows = count / Swift.max(C, 1)
    var y = [Float](repeating: 0, count: count)
    var norm = [Float](repeating: 0, count: count)   // (…, C) normalised x, kept for backward
    var rstd = [Float](repeating: 0, count: rows)
    withData { p in weight.withData { w in bias.withData { b in
      y.withUnsafeMutableBufferPointer { py in norm.withUnsafeMutableBufferPointer { pn in rstd.withUnsafeMutableBufferPointer { pr in
        let Y = py.baseAddress!, Nm = pn.baseAddress!, Rs = pr.baseAddress!
        parallelRange(rows, cost: 8 * C) { rr in
          for r in rr {
            var m = 0.0
            for i in 0..<C { m += Double(p[r * C + i]) }
            m /= Double(C)
            var v = 0.0
            for i in 0..<C { let d = Double(p[r * C + i]) - m; v += d * d }
            v /= Double(C)
            let rs = Float(1 / (v + Double(eps)).squareRoot())
            Rs[r] = rs
            let mf = Float(m)
            for i in 0..<C {
              let nv = (p[r * C + i] - mf) * rs
              Nm[r * C + i] = nv
              Y[r * C + i] = nv * w[i] + b[i]
            }
          }
        }
      } } }
    } } }
    let x = self
    return Tensor.result(shape, y, inputs: [x, weight, bias]) { out in
      let g = out.grad!
      let w = weight.data
      if x.requiresGrad {
        // dx = rstd · (dn − mean(dn) − n·mean(dn∘n)), dn = g∘w
        x.withGrad { gx in withPointers(g, w, norm, rstd) { g, w, norm, rstd in
          parallelRange(rows, cost: 8 * C) { rr in
            for r in rr {
              var mdn = 0.0, mdnn = 0.0
              for i in 0..<C { let dn = Double(g[r * C + i] * w[i]); mdn += dn; mdnn += dn * Double(norm[r * C + i]) }
              let a = Float(mdn / Double(C)), bb = Float(mdnn / Double(C))
              for i in 0..<C { gx[r * C + i] += rstd[r] * (g[r * C + i] * w[i] - a - norm[r * C + i] * bb) }
            }
          }
        } }
      }
      if weight.requiresGrad { weight.withGrad { gw in for r in 0..<rows { for i in 0..<C { gw[i] += g[r * C + i] * norm[r * C + i] } } } }
      if bias.requiresGrad { bias.withGrad { gb in for r in 0..<rows { for i in 0..<C { gb[i] += g[r * C + i] } } } }
    }
  }

  /// Embedding lookup: rows of `weight` (V, C) picked by `indices` (any `indexShape`, values in
  /// 0..<V) → indexShape + [C]. Backward scatter-adds into the picked rows.
  public static func embedding(_ weight: Tensor, indices: [Int], indexShape: [Int]? = nil) -> Tensor {
    precondition(weight.rank == 2, "embedding weight must be (V, C), got \(weight.shape)")
    let V = weight.shape[0], C = weight.shape[1]
    let ishape = indexShape ?? [indices.count]
    precondition(numel(ishape) == indices.count, "embedding: index shape \(ishape) does not hold \(indices.count) indices")
    var y = [Float](repeating: 0, count: indices.count * C)
    weight.withData { w in
      for (k, ix) in indices.enumerated() {
        precondition(ix >= 0 && ix < V, "embedding index \(ix) outside 0..<\(V)")
        for c in 0..<C { y[k * C + c] = w[ix * C + c] }
      }
    }
    return result(ishape + [C], y, inputs: [weight]) { out in
      let g = out.grad!
      weight.withGrad { gw in for (k, ix) in indices.enumerated() { for c in 0..<C { gw[ix * C + c] += g[k * C + c] } } }
    }
  }

  /// Inverted dropout: zeroes each element with probability `p` and scales survivors by 1/(1−p).
  /// Identity when `training` is false or p == 0 (no randomness consumed).
  public func dropout(_ p: Float, training: Bool, rng: inout RNG) -> Tensor {
    guard training && p > 0 else { return self }
    precondition(p < 1, "dropout probability must be < 1, got \(p)")
    let scale = 1 / (1 - p)
    var mask = [Float](repeating: 0, count: count)
    for i in 0..<count { mask[i] = rng.uniform() >= p ? scale : 0 }
    var y = data
    for i in 0..<count { y[i] *= mask[i] }
    let x = self
    return Tensor.result(shape, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in for i in 0..<g.count { gx[i] += g[i] * mask[i] } }
    }
  }
}
