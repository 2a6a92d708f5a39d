// Movement ops: reshape, permute, concat, narrow/split, zero padding along one axis.
// All outputs are fresh contiguous buffers (no views), so every op is a plain copy forward and a
// scatter-add backward.

extension Tensor {
  /// Same values, new shape (one dimension may be −1 and is inferred). Backward reshapes back.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    var s = newShape
    if let m = s.firstIndex(of: -1) {
      let known = s.enumerated().filter { $0.offset != m }.map(\.element).reduce(1, *)
      precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
      s[m] = count / known
    }
    precondition(numel(s) == count, "cannot reshape \(shape) (\(count) values) to \(newShape)")
    let x = self
    return Tensor.result(s, data, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in for i in 0..<g.count { gx[i] += g[i] } }
    }
  }

  /// Reorders dimensions: output dimension i is input dimension `dims[i]`.
  /// E.g. (N, C, Z, A).permuted([0, 2, 3, 1]) → (N, Z, A, C).
  public func permuted(_ dims: [Int]) -> Tensor {
    precondition(dims.count == rank && Set(dims) == Set(0..<rank), "bad permutation \(dims) for shape \(shape)")
    let outShape = dims.map { shape[$0] }
    let inStrides = contiguousStrides(shape)
    // Strides of the input, in output-dimension order: out element o reads input at Σ idx_i·st[i].
    let st = dims.map { inStrides[$0] }
    let zero = [Int](repeating: 0, count: rank)
    var y = [Float](repeating: 0, count: count)
    withData { p in y.withUnsafeMutableBufferPointer { py in forEachBroadcast(outShape, st, zero) { o, i, _ in py[o] = p[i] } } }
    let x = self
    return Tensor.result(outShape, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in forEachBroadcast(outShape, st, zero) { o, i, _ in gx[i] += g[o] } }
    }
  }

  /// Swaps the last two dimensions (matrix transpose for rank 2).
  public func transposed() -> Tensor {
    precondition(rank >= 2, "transposed() needs rank ≥ 2, shape is \(shape)")
    var d = Array(0..<rank)
    d.swapAt(rank - 1, rank - 2)
    return permuted(d)
  }

  /// Concatenates tensors along `axis`; all other dimensions must agree.
  public static func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    precondition(!xs.isEmpty, "concat of no tensors")
    let ax = normAxis(axis, xs[0].rank)
    for x in xs {
      precondition(x.rank == xs[0].rank && (0..<x.rank).allSatisfy { $0 == ax || x.shape[$0] == xs[0].shape[$0] },
        "concat along \(axis): shapes \(xs.map(\.shape)) differ off-axis")
    }
    var outShape = xs[0].shape
    outShape[ax] = xs.reduce(0) { $0 + $1.shape[ax] }
    let (outer, nOut, inner) = axisSplit(outShape, ax)
    var y = [Float](repeating: 0, count: numel(outShape))
    var offset = 0
    var offsets: [Int] = []
    for x in xs {
      offsets.append(offset)
      let n = x.shape[ax]
      x.withData { p in
        for o in 0..<outer {
          for k in 0..<(n * inner) { y[(o * nOut + offset) * inner + k] = p[o * n * inner + k] }
        }
      }
      offset += n
    }
    return result(outShape, y, inputs: xs) { out in
      let g = out.grad!
      for (x, off) in zip(xs, offsets) where x.requiresGrad {
        let n = x.shape[ax]
        x.withGrad { gx in
          for o in 0..<outer { for k in 0..<(n * inner) { gx[o * n * inner + k] += g[(o * nOut + off) * inner + k] } }
        }
      }
    }
  }

  /// The slice `start ..< start+length` along `axis`.
  public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
    let ax = normAxis(axis, rank)
    precondition(start >= 0 && length >= 0 && start + length <= shape[ax],
      "narrow(axis: \(axis), start: \(start), length: \(length)) outside shape \(shape)")
    let (outer, n, inner) = axisSplit(shape, ax)
    var s = shape
    s[ax] = length
    var y = [Float](repeating: 0, count: numel(s))
    withData { p in
      for o in 0..<outer { for k in 0..<(length * inner) { y[o * length * inner + k] = p[(o * n + start) * inner + k] } }
    }
    let x = self
    return Tensor.result(s, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in
        for o in 0..<outer { for k in 0..<(length * inner) { gx[(o * n + start) * inner + k] += g[o * length * inner + k] } }
      }
    }
  }

  /// Splits along `axis` into consecutive pieces of the given sizes (must add up to the axis size).
  public func split(axis: Int, sizes: [Int]) -> [Tensor] {
    let ax = normAxis(axis, rank)
    precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add up to \(shape[ax]) (shape \(shape))")
    var start = 0
    return sizes.map { n in defer { start += n }; return narrow(axis: ax, start: start, length: n) }
  }

  /// Zero padding along `axis`: `before` zeros in front, `after` zeros behind (e.g. ZPad on the Z
  /// axis of (N, C, Z, A)). Negative values are not allowed; use `narrow` to crop.
  public func padded(axis: Int, before: Int, after: Int) -> Tensor {
    let ax = normAxis(axis, rank)
    precondition(before >= 0 && after >= 0, "padding must be ≥ 0 (got \(before), \(after)); use narrow to crop")
    let (outer, n, inner) = axisSplit(shape, ax)
    var s = shape
    s[ax] = n + before + after
    let nOut = s[ax]
    var y = [Float](repeating: 0, count: numel(s))
    withData { p in
      for o in 0..<outer { for k in 0..<(n * inner) { y[(o * nOut + before) * inner + k] = p[o * n * inner + k] } }
    }
    let x = self
    return Tensor.result(s, y, inputs: [x]) { out in
      let g = out.grad!
      x.withGrad { gx in
        for o in 0..<outer { for k in 0..<(n * inner) { gx[o * n * inner + k] += g[(o * nOut + before) * inner + k] } }
      }
    }
  }

  /// Repeats size-1 dimensions to `shape` (numpy broadcast), e.g. (N,1,1,1) → (N,1,Z,A) for a
  /// condition channel. Backward sums over the repeated dimensions.
  public func expanded(to target: [Int]) -> Tensor {
    precondition(broadcastShapes(shape, target) == target, "cannot expand \(shape) to \(target)")
    return self + Tensor.zeros(target)
  }
}
