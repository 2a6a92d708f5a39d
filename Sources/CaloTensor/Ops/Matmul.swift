// Matrix products on cblas_sgemm: (batched) matmul and the affine `linear` map.
// Naive twin: `sgemmNaive` in Core/Parallel.swift (tests compare every path against it).

extension Tensor {
  /// Matrix product op(a)·op(b), where op transposes the last two dimensions when asked.
  ///
  /// Shapes: a (M, K) or (B, M, K) [(…, K, M) if `transA`]; b (K, N) or (B, K, N) [(…, N, K) if
  /// `transB`]. A rank-2 `b` is shared by every batch entry. Result (M, N) or (B, M, N).
  public func matmul(_ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    let a = self
    precondition((a.rank == 2 || a.rank == 3) && (b.rank == 2 || b.rank == 3), "matmul needs rank 2 or 3, got \(a.shape) and \(b.shape)")
    precondition(!(a.rank == 2 && b.rank == 3), "matmul: a (M,K) with batched b is not supported; got \(a.shape), \(b.shape)")
    let B = a.rank == 3 ? a.shape[0] : 1
    if b.rank == 3 { precondition(b.shape[0] == B, "matmul batch sizes differ: \(a.shape) vs \(b.shape)") }
    let ar = a.shape.suffix(2), br = b.shape.suffix(2)
    let M = transA ? ar.last! : ar.first!, K = transA ? ar.first! : ar.last!
    let K2 = transB ? br.last! : br.first!, N = transB ? br.first! : br.last!
    precondition(K == K2, "matmul inner dimensions differ: \(a.shape)\(transA ? "ᵀ" : "") · \(b.shape)\(transB ? "ᵀ" : "")")
    let lda = transA ? M : K, ldb = transB ? K : N
    let sA = M * K, sB = b.rank == 3 ? K * N : 0, sC = M * N
    var y = [Float](repeating: 0, count: B * sC)
    a.withData { pa in
      b.withData { pb in
        y.withUnsafeMutableBufferPointer { py in
          if B == 1 {
            sgemmParallel(transA, transB, M, N, K, 1, pa, lda, pb, ldb, 0, py.baseAddress!, N)
          } else {
            let A = SendableConstPtr(pa), Bp = SendableConstPtr(pb), C = SendablePtr(py.baseAddress!)
            parallelChunks(B, work: 2 * B * M * N * K) { _, r in
              for i in r { sgemm(transA, transB, M, N, K, 1, A.p + i * sA, lda, Bp.p + i * sB, ldb, 0, C.p + i * sC, N) }
            }
          }
        }
      }
    }
    let outShape = a.rank == 3 ? [B, M, N] : [M, N]
    return Tensor.result(outShape, y, inputs: [a, b]) { out in
      let g = out.grad!
      let av = a.data, bv = b.data
      g.withUnsafeBufferPointer { pg in
        av.withUnsafeBufferPointer { pa in
          bv.withUnsafeBufferPointer { pb in
            let G = pg.baseAddress!, A = pa.baseAddress!, Bm = pb.baseAddress!
            if a.requiresGrad {
              a.withGrad { ga in
                for i in 0..<B {
                  if !transA {  // dA (M×K) += dC · op(B)ᵀ
                    sgemmParallel(false, !transB, M, K, N, 1, G + i * sC, N, Bm + i * sB, ldb, 1, ga + i * sA, K)
                  } else {      // dA (K×M) += op(B) · dCᵀ
                    sgemmParallel(transB, true, K, M, N, 1, Bm + i * sB, ldb, G + i * sC, N, 1, ga + i * sA, M)
                  }
                }
              }
            }
            if b.requiresGrad {
              b.withGrad { gb in
                for i in 0..<B {
                  if !transB {  // dB (K×N) += op(A)ᵀ · dC
                    sgemmParallel(!transA, false, K, N, M, 1, A + i * sA, lda, G + i * sC, N, 1, gb + i * sB, N)
                  } else {      // dB (N×K) += dCᵀ · op(A)
                    sgemmParallel(true, transA, N, K, M, 1, G + i * sC, N, A + i * sA, lda, 1, gb + i * sB, K)
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// Affine map y = x·Wᵀ + b over the last dimension (PyTorch `Linear` layout).
  ///
  /// Shapes: x (…, In), weight (Out, In), bias (Out) or nil → y (…, Out). All leading dimensions are
  /// flattened into one GEMM of M = count/In rows (row batching keeps BLAS efficient).
  public func linear(_ weight: Tensor, _ bias: Tensor?) -> Tensor {
    let x = self
    precondition(weight.rank == 2 && x.rank >= 1 && x.shape.last! == weight.shape[1],
      "linear: x \(x.shape) does not match weight (Out, In) \(weight.shape)")
    let Out = weight.shape[0], In = weight.shape[1], M = x.count / Swift.max(In, 1)
    if let bias { precondition(bias.shape == [Out], "linear: bias \(bias.shape) must be [\(Out)]") }
    var y = [Float](repeating: 0, count: M * Out)
    if let bias { bias.withData { pb in for m in 0..<M { for o in 0..<Out { y[m * Out + o] = pb[o] } } } }
    x.withData { px in
      weight.withData { pw in
        y.withUnsafeMutableBufferPointer { py in
          sgemmParallel(false, true, M, Out, In, 1, px, In, pw, In, bias == nil ? 0 : 1, py.baseAddress!, Out)
        }
      }
    }
    var outShape = x.shape
    outShape[outShape.count - 1] = Out
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(outShape, y, inputs: inputs) { out in
      let g = out.grad!
      g.withUnsafeBufferPointer { pg in
        let G = pg.baseAddress!
        if x.requiresGrad {   // dX (M×In) += dY (M×Out) · W (Out×In)
          weight.withData { pw in x.withGrad { gx in sgemmParallel(false, false, M, In, Out, 1, G, Out, pw, In, 1, gx, In) } }
        }
        if weight.requiresGrad {  // dW (Out×In) += dYᵀ · X
          x.withData { px in weight.withGrad { gw in sgemmParallel(true, false, Out, In, M, 1, G, Out, px, In, 1, gw, In) } }
        }
        if let bias, bias.requiresGrad {
          bias.withGrad { gb in for m in 0..<M { for o in 0..<Out { gb[o] += G[m * Out + o] } } }
        }
      }
    }
  }
}
