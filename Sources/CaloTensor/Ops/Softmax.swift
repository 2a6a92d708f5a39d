// Softmax family over the last axis, optionally per segment (the per-layer softmax of the ds1
// decoder head), and the fused softmax cross-entropy. Maxima are subtracted for stability.
// Rows are independent, so every loop here is split by rows across the cores.
import Foundation

extension Tensor {
  /// Checks the segment list for a last axis of size n.
  private static func segmentList(_ segments: [Int]?, _ n: Int, _ op: String) -> [Int] {
    let segs = segments ?? [n]
    precondition(segs.reduce(0, +) == n && segs.allSatisfy { $0 > 0 }, "\(op) segments \(segs) must be positive and add up to \(n)")
    return segs
  }

  /// Softmax over the last axis, applied separately within consecutive segments of the given sizes
  /// (nil = one segment spanning the axis). (…, n) → (…, n); each segment of each row sums to 1.
  public func softmax(segments: [Int]? = nil) -> Tensor {
    let n = shape.last ?? 1
    let segs = Tensor.segmentList(segments, n, "softmax")
    let rows = count / Swift.max(n, 1)
    var y = [Float](repeating: 0, count: count)
    withData { p in y.withUnsafeMutableBufferPointer { py in
      let Y = py.baseAddress!
      parallelRange(rows, cost: 20 * n) { rr in
        for r in rr {
          var s0 = r * n
          for len in segs {
            var m = -Float.infinity
            for i in s0..<(s0 + len) { m = Swift.max(m, p[i]) }
            var z = 0.0
            for i in s0..<(s0 + len) { let e = Foundation.exp(p[i] - m); Y[i] = e; z += Double(e) }
            let inv = Float(1 / z)
            for i in s0..<(s0 + len) { Y[i] *= inv }
            s0 += len
          }
        }
      }
    } }
    let x = self
    return Tensor.result(shape, y, inputs: [x]) { out in
      // dx = y ∘ (g − Σ_seg g∘y)
      let g = out.grad!, yv = out.data
      x.withGrad { gx in withPointers(g, yv, yv, yv) { g, yv, _, _ in
        parallelRange(rows, cost: 4 * n) { rr in
          for r in rr {
            var s0 = r * n
            for len in segs {
              var dot = 0.0
              for i in s0..<(s0 + len) { dot += Double(g[i] * yv[i]) }
              let d = Float(dot)
              for i in s0..<(s0 + len) { gx[i] += yv[i] * (g[i] - d) }
              s0 += len
            }
          }
        }
      } }
    }
  }

  /// log-softmax over the last axis (optionally per segment): x − logΣexp(x).
  public func logSoftmax(segments: [Int]? = nil) -> Tensor {
    let n = shape.last ?? 1
    let segs = Tensor.segmentList(segments, n, "logSoftmax")
    let rows = count / Swift.max(n, 1)
    var y = [Float](repeating: 0, count: count)
    withData { p in y.withUnsafeMutableBufferPointer { py in
      let Y = py.baseAddress!
      parallelRange(rows, cost: 20 * n) { rr in
        for r in rr {
          var s0 = r * n
          for len in segs {
            var m = -Float.infinity
            for i in s0..<(s0 + len) { m = Swift.max(m, p[i]) }
            var z = 0.0
            for i in s0..<(s0 + len) { z += Double(Foundation.exp(p[i] - m)) }
            let lse = m + Float(Foundation.log(z))
            for i in s0..<(s0 + len) { Y[i] = p[i] - lse }
            s0 += len
          }
        }
      }
    } }
    let x = self
    return Tensor.result(shape, y, inputs: [x]) { out in
      // dx = g − softmax · Σ_seg g
      let g = out.grad!, yv = out.data
      x.withGrad { gx in withPointers(g, yv, yv, yv) { g, yv, _, _ in
        parallelRange(rows, cost: 20 * n) { rr in
          for r in rr {
            var s0 = r * n
            for len in segs {
              var sg = 0.0
              for i in s0..<(s0 + len) { sg += Double(g[i]) }
              let s = Float(sg)
              for i in s0..<(s0 + len) { gx[i] += g[i] - Foundation.exp(yv[i]) * s }
              s0 += len
            }
          }
        }
      } }
    }
  }

  /// Mean cross-entropy of logits (M, V) against integer targets (M values in 0..<V) → scalar.
  /// Fused log-softmax + negative log-likelihood; backward is (softmax − onehot)/M.
  public func crossEntropy(targets: [Int]) -> Tensor {
    precondition(rank == 2, "crossEntropy needs logits (M, V), got \(shape)")
    let M = shape[0], V = shape[1]
    precondition(targets.count == M, "crossEntropy: \(targets.count) targets for \(M) rows")
    for (r, t) in targets.enumerated() { precondition(t >= 0 && t < V, "crossEntropy: target \(t) in row \(r) outside 0..<\(V)") }
    var probs = [Float](repeating: 0, count: count)   // (M, V) softmax, kept for backward
    var rowLoss = [Double](repeating: 0, count: M)
    withData { p in probs.withUnsafeMutableBufferPointer { pp in rowLoss.withUnsafeMutableBufferPointer { pl in targets.withUnsafeBufferPointer { pt in
      let P = pp.baseAddress!, L = pl.baseAddress!
      parallelRange(M, cost: 20 * V) { rr in
        for r in rr {
          let row = p + r * V, pr = P + r * V
          var m = -Float.infinity
          for i in 0..<V { m = Swift.max(m, row[i]) }
          var z = 0.0
          for i in 0..<V { let e = Foundation.exp(row[i] - m); pr[i] = e; z += Double(e) }
          let inv = Float(1 / z)
          for i in 0..<V { pr[i] *= inv }
          L[r] = Double(m) + Foundation.log(z) - Double(row[pt[r]])
        }
      }
    } } } }
    let loss = rowLoss.reduce(0, +) / Double(Swift.max(M, 1))   // serial sum: thread-count independent
    let x = self
    return Tensor.result([], [Float(loss)], inputs: [x]) { out in
      let g = out.grad![0] / Float(M)
      x.withGrad { gx in probs.withUnsafeBufferPointer { pp in
        let P = pp.baseAddress!
        parallelRange(M, cost: 2 * V) { rr in
          for r in rr {
            for i in 0..<V { gx[r * V + i] += g * P[r * V + i] }
            gx[r * V + targets[r]] -= g
          }
        }
      } }
    }
  }
}
