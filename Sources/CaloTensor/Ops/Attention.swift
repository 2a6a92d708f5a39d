// Causal multi-head scaled dot-product attention (the core of minGPT's CausalSelfAttention, without
// the Q/K/V/output projections, which are `linear` layers). Fast path: per-(batch, head) GEMMs on
// strided head slices, parallel over (b, h). Naive twin: `causalAttentionNaive`.
import Foundation

extension Tensor {
  /// Causal multi-head attention: softmax(Q Kᵀ / √hs + mask) V per head, hs = C / nHead.
  ///
  /// Shapes: q (B, Tq, C), k and v (B, Tk, C) with Tq ≤ Tk → (B, Tq, C). Query i sits at absolute
  /// position Tk − Tq + i and sees keys 0…that position, so Tq == Tk is ordinary causal
  /// self-attention and Tq < Tk serves a key/value cache. Heads are contiguous slices of C
  /// (head h = columns h·hs ..< (h+1)·hs), as in minGPT's `view(B, T, nh, hs)`.
  /// `dropout` is applied to the attention probabilities when `training`.
  public static func causalAttention(
    q: Tensor, k: Tensor, v: Tensor, nHead: Int, dropout p: Float = 0, training: Bool = false, rng: inout RNG
  ) -> Tensor {
    precondition(q.rank == 3 && k.rank == 3 && v.shape == k.shape && q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2],
      "causalAttention: q \(q.shape), k \(k.shape), v \(v.shape) must be (B,Tq,C),(B,Tk,C),(B,Tk,C)")
    let B = q.shape[0], Tq = q.shape[1], Tk = k.shape[1], C = q.shape[2], H = nHead
    precondition(Tq <= Tk && H > 0 && C % H == 0, "causalAttention: need Tq ≤ Tk and C % nHead == 0 (C \(C), nHead \(H))")
    let hs = C / H, off = Tk - Tq
    let scale = 1 / Float(hs).squareRoot()
    // att (B, H, Tq, Tk): softmax probabilities before dropout, kept for backward.
    var att = [Float](repeating: 0, count: B * H * Tq * Tk)
    var y = [Float](repeating: 0, count: B * Tq * C)
    // Dropout masks are drawn serially (reproducible regardless of threading).
    let drop = training && p > 0
    var mask: [Float] = []
    if drop {
      mask = [Float](repeating: 0, count: att.count)
      for i in 0..<mask.count { mask[i] = rng.uniform() >= p ? 1 / (1 - p) : 0 }
    }
    q.withData { pq in k.withData { pk in v.withData { pv in att.withUnsafeMutableBufferPointer { pa in y.withUnsafeMutableBufferPointer { py in
      let Q = SendableConstPtr(pq), K = SendableConstPtr(pk), V = SendableConstPtr(pv)
      let A = SendablePtr(pa.baseAddress!), Y = SendablePtr(py.baseAddress!)
      mask.withUnsafeBufferPointer { pm in
        let Mk = drop ? SendableConstPtr(pm.baseAddress!) : nil  // empty arrays may still have a base address
        parallelChunks(B * H, work: 4 * B * H * Tq * Tk * hs) { _, r in
          var dropped = [Float](repeating: 0, count: Mk == nil ? 0 : Tq * Tk)
          dropped.withUnsafeMutableBufferPointer { pd in
            for bh in r {
              let b = bh / H, h = bh % H
              let S = A.p + bh * Tq * Tk
              sgemm(false, true, Tq, Tk, hs, scale, Q.p + b * Tq * C + h * hs, C, K.p + b * Tk * C + h * hs, C, 0, S, Tk)
              for i in 0..<Tq {
                let row = S + i * Tk, last = off + i
                var m = -Float.infinity
                for j in 0...last { m = Swift.max(m, row[j]) }
                var z: Float = 0
                for j in 0...last { let e = Foundation.exp(row[j] - m); row[j] = e; z += e }
                let inv = 1 / z
                for j in 0...last { row[j] *= inv }
                for j in (last + 1)..<Tk { row[j] = 0 }
              }
              var P = UnsafePointer(S)
              if let Mk {  // P' = s ∘ mask; att keeps s for the softmax backward
                let D = pd.baseAddress!
                for t in 0..<(Tq * Tk) { D[t] = S[t] * Mk.p[bh * Tq * Tk + t] }
                P = UnsafePointer(D)
              }
              sgemm(false, false, Tq, hs, Tk, 1, P, Tk, V.p + b * Tk * C + h * hs, C, 0, Y.p + b * Tq * C + h * hs, C)
            }
          }
        }
      }
    } } } } }
    return result([B, Tq, C], y, inputs: [q, k, v]) { out in
      var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
      var dv = [Float](repeating: 0, count: v.count)
      let g = out.grad!
      q.withData { pq in k.withData { pk in v.withData { pv in g.withUnsafeBufferPointer { pg in att.withUnsafeBufferPointer { pa in
        mask.withUnsafeBufferPointer { pm in
          dq.withUnsafeMutableBufferPointer { gq in dk.withUnsafeMutableBufferPointer { gk in dv.withUnsafeMutableBufferPointer { gv in
            let Q = SendableConstPtr(pq), K = SendableConstPtr(pk), V = SendableConstPtr(pv), G = SendableConstPtr(pg.baseAddress!)
            let A = SendableConstPtr(pa.baseAddress!), Mk = drop ? SendableConstPtr(pm.baseAddress!) : nil
            let DQ = SendablePtr(gq.baseAddress!), DK = SendablePtr(gk.baseAddress!), DV = SendablePtr(gv.baseAddress!)
            parallelChunks(B * H, work: 8 * B * H * Tq * Tk * hs) { _, r in
              var dP = [Float](repeating: 0, count: Tq * Tk)
              var dropped = [Float](repeating: 0, count: Mk == nil ? 0 : Tq * Tk)
              dP.withUnsafeMutableBufferPointer { pdp in dropped.withUnsafeMutableBufferPointer { pd in
                let dS = pdp.baseAddress!
                for bh in r {
                  let b = bh / H, h = bh % H
                  let s = A.p + bh * Tq * Tk          // pre-dropout probabilities (Tq×Tk)
                  let mk = Mk.map { $0.p + bh * Tq * Tk }
                  var P = s                            // what multiplied V in the forward pass
                  if let mk {
                    let D = pd.baseAddress!
                    for t in 0..<(Tq * Tk) { D[t] = s[t] * mk[t] }
                    P = UnsafePointer(D)
                  }
                  let gO = G.p + b * Tq * C + h * hs
                  // dV_h (Tk×hs) += P'ᵀ · dO_h ;  dP' = dO_h · V_hᵀ
                  sgemm(true, false, Tk, hs, Tq, 1, P, Tk, gO, C, 1, DV.p + b * Tk * C + h * hs, C)
                  sgemm(false, true, Tq, Tk, hs, 1, gO, C, V.p + b * Tk * C + h * hs, C, 0, dS, Tk)
                  for i in 0..<Tq {
                    let last = off + i, row = dS + i * Tk, sr = s + i * Tk
                    if let mk { for j in 0...last { row[j] *= mk[i * Tk + j] } }  // through dropout
                    // softmax backward: dS = s ∘ (ds − Σ ds∘s)
                    var dot: Float = 0
                    for j in 0...last { dot += row[j] * sr[j] }
                    for j in 0...last { row[j] = sr[j] * (row[j] - dot) }
                    for j in (last + 1)..<Tk { row[j] = 0 }
                  }
                  sgemm(false, false, Tq, hs, Tk, scale, dS, Tk, K.p + b * Tk * C + h * hs, C, 1, DQ.p + b * Tq * C + h * hs, C)
                  sgemm(true, false, Tk, hs, Tq, scale, dS, Tk, Q.p + b * Tq * C + h * hs, C, 1, DK.p + b * Tk * C + h * hs, C)
                }
              } }
            }
          } } }
        }
      } } } } }
      if q.requiresGrad { q.withGrad { gx in for i in 0..<dq.count { gx[i] += dq[i] } } }
      if k.requiresGrad { k.withGrad { gx in for i in 0..<dk.count { gx[i] += dk[i] } } }
      if v.requiresGrad { v.withGrad { gx in for i in 0..<dv.count { gx[i] += dv[i] } } }
    }
  }
}

/// Loop-only twin of `Tensor.causalAttention` (no dropout): q (B,Tq,C), k/v (B,Tk,C) → (B,Tq,C).
/// Accumulates in Double; the specification the fast kernel is tested against.
public func causalAttentionNaive(q: [Float], k: [Float], v: [Float], B: Int, Tq: Int, Tk: Int, C: Int, nHead: Int) -> [Float] {
  let hs = C / nHead, off = Tk - Tq
  let scale = 1 / Double(hs).squareRoot()
  var y = [Float](repeating: 0, count: B * Tq * C)
  for b in 0..<B {
    for h in 0..<nHead {
      for i in 0..<Tq {
        var s = [Double](repeating: -.infinity, count: Tk)
        for j in 0...(off + i) {
          var d = 0.0
          for c in 0..<hs { d += Double(q[(b * Tq + i) * C + h * hs + c]) * Double(k[(b * Tk + j) * C + h * hs + c]) }
          s[j] = d * scale
        }
        let m = s.max()!
        let e = s.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        for c in 0..<hs {
          var acc = 0.0
          for j in 0..<Tk { acc += e[j] / z * Double(v[(b * Tk + j) * C + h * hs + c]) }
          y[(b * Tq + i) * C + h * hs + c] = Float(acc)
        }
      }
    }
  }
  return y
}

extension Tensor {
  /// `causalAttention` without dropout (inference, or training with attn_pdrop = 0).
  public static func causalAttention(q: Tensor, k: Tensor, v: Tensor, nHead: Int) -> Tensor {
    var rng = RNG(seed: 0)  // unused: no dropout
    return causalAttention(q: q, k: k, v: v, nHead: nHead, dropout: 0, training: false, rng: &rng)
  }
}
