// The vector-quantisation step of the VQ-VAE (calovq_facts.md §3): nearest code by squared
// Euclidean distance (GEMM), straight-through estimator, and the "legacy" taming loss
// mean((sg[z_q] − z)²) + β·mean((z_q − sg[z])²). Naive twin: `nearestCodesNaive`.

/// Index of the nearest codebook row for every latent row, by |z|² + |e|² − 2 z·e (the |z|² term is
/// constant per row and skipped); first index wins ties. z (M, D), codebook (K, D) → M indices.
/// Rows are processed in blocks so the (block × K) score matrix stays small; blocks run in parallel.
public func nearestCodes(_ z: Tensor, codebook: Tensor) -> [Int] {
  precondition(z.rank == 2 && codebook.rank == 2 && z.shape[1] == codebook.shape[1], "nearestCodes: z \(z.shape) must be (M,D) and codebook \(codebook.shape) (K,D)")
  let M = z.shape[0], K = codebook.shape[0], D = z.shape[1]
  var e2 = [Float](repeating: 0, count: K)
  codebook.withData { pe in for k in 0..<K { var s: Float = 0; for d in 0..<D { s += pe[k * D + d] * pe[k * D + d] }; e2[k] = s } }
  var idx = [Int](repeating: 0, count: M)
  let block = 256
  let nBlocks = (M + block - 1) / block
  z.withData { pz in codebook.withData { pe in e2.withUnsafeBufferPointer { pe2 in idx.withUnsafeMutableBufferPointer { pi in
    let Zp = SendableConstPtr(pz), E = SendableConstPtr(pe), E2 = SendableConstPtr(pe2.baseAddress!), I = SendablePtr(pi.baseAddress!)
    parallelChunks(nBlocks, work: 2 * M * K * D) { _, r in
      var scores = [Float](repeating: 0, count: block * K)
      scores.withUnsafeMutableBufferPointer { ps in
        let S = ps.baseAddress!
        for bi in r {
          let m0 = bi * block, mb = Swift.min(block, M - m0)
          // S (mb×K) = −2 z·eᵀ + |e|²
          sgemm(false, true, mb, K, D, -2, Zp.p + m0 * D, D, E.p, D, 0, S, K)
          for i in 0..<mb {
            var best = Float.infinity, bk = 0
            for k in 0..<K { let d = S[i * K + k] + E2.p[k]; if d < best { best = d; bk = k } }
            I.p[m0 + i] = bk
          }
        }
      }
    }
  } } } }
  return idx
}

/// Naive twin of `nearestCodes`: full squared distances in Double, first minimum wins.
public func nearestCodesNaive(_ z: [Float], codebook: [Float], D: Int) -> [Int] {
  let M = z.count / D, K = codebook.count / D
  return (0..<M).map { m in
    var best = Double.infinity, bk = 0
    for k in 0..<K {
      var s = 0.0
      for d in 0..<D { let t = Double(z[m * D + d]) - Double(codebook[k * D + d]); s += t * t }
      if s < best { best = s; bk = k }
    }
    return bk
  }
}

/// Result of `vectorQuantize`.
public struct VectorQuantized {
  /// Straight-through output z + sg(z_q − z): values of z_q, gradient passes to z unchanged. (M, D)
  public let quantized: Tensor
  /// mean((sg[z_q] − z)²) + β·mean((z_q − sg[z])²), scalar. Its gradient reaches z (commitment,
  /// weight 1) and the codebook rows used (codebook term, weight β).
  public let loss: Tensor
  /// Chosen code per row (M values in 0..<K).
  public let indices: [Int]
}

/// Quantises latent rows z (M, D) against `codebook` (K, D), taming-transformers "legacy" loss
/// with β = `beta` (0.25 in every Calo-VQ config). Built from recorded primitives, so the
/// gradients follow from the ops' own (gradient-checked) rules.
public func vectorQuantize(_ z: Tensor, codebook: Tensor, beta: Float = 0.25) -> VectorQuantized {
  let idx = nearestCodes(z, codebook: codebook)
  let zq = Tensor.embedding(codebook, indices: idx, indexShape: [z.shape[0]])   // (M, D)
  let commitment = (zq.detached() - z).square().mean()
  let codebookTerm = (zq - z.detached()).square().mean()
  let loss = commitment + codebookTerm * beta
  let quantized = z + (zq - z).detached()
  return VectorQuantized(quantized: quantized, loss: loss, indices: idx)
}
