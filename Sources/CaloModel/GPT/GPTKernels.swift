// Small inference kernels of the fast GPT path: SIMD dot/max/axpy, a vectorisable exp and exact-GELU
// approximation, row LayerNorm and a GEMM wrapper. Each has a plain twin in the tests (GPTKernelTests).
// Left out: anything with a backward pass (training uses CaloTensor).
import COpenBLAS
import Foundation

/// Inference kernels on raw Float32 buffers (no allocation, no tape).
enum GPTKernels {
  /// OpenBLAS runs single-threaded: the sampler splits showers across cores itself, and small GEMMs
  /// do not scale with BLAS threads (performance_notes.md). Evaluated once.
  static let blasSingleThreaded: Bool = {
    openblas_set_num_threads(1)
    return true
  }()

  /// y (M×N) = x (M×K) · Wᵀ (W is N×K, PyTorch Linear layout) + beta·y. Single-threaded BLAS.
  @inline(__always)
  static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                     M: Int, N: Int, K: Int, beta: Float = 0) {
    if M == 0 { return }
    if M <= smallRows { return linearSmall(x, w, y, M: M, N: N, K: K, beta: beta) }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(M), Int32(N), Int32(K), 1, x, Int32(K),
                w, Int32(K), beta, y, Int32(N))
  }

  /// y (M×N) = x (M×K) · Wᵀ + b (b nil: no bias). y is first filled with the bias rows (or zeros) and
  /// the GEMM accumulates onto them: OpenBLAS's beta = 0 path clears C in a pass of its own
  /// (`sgemm_beta`, 4 % of a ds1 generation profile), and single-thread sgemm at 32 rows ran 10–35 %
  /// faster with beta 1 than with beta 0 for these K = 64 shapes. Also saves the separate bias pass.
  @inline(__always)
  static func linearBias(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                         _ y: UnsafeMutablePointer<Float>, M: Int, N: Int, K: Int) {
    for r in 0..<M {
      if let b { (y + r * N).update(from: b, count: N) } else { (y + r * N).update(repeating: 0, count: N) }
    }
    linear(x, w, y, M: M, N: N, K: K, beta: 1)
  }

  /// Up to this many rows, `linear` uses `linearSmall`: BLAS re-packs the whole weight matrix on every
  /// call, which costs more than the product itself when only a few sequences share a step
  /// (batch 1, or the narrow chunks of long sequences).
  static let smallRows = 8

  /// `linear` without packing: four weight rows at a time stay in L1 while every input row is
  /// dotted with them (8-wide partial sums). y (M×N) = x (M×K) · Wᵀ + beta·y.
  static func linearSmall(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          M: Int, N: Int, K: Int, beta: Float) {
    var n = 0
    while n + 4 <= N {
      let w0 = w + n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K
      for m in 0..<M {
        let xm = x + m * K
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var k = 0
        while k + 8 <= K {
          let xv = load8(xm + k)
          a0 += xv * load8(w0 + k); a1 += xv * load8(w1 + k); a2 += xv * load8(w2 + k); a3 += xv * load8(w3 + k)
          k += 8
        }
        var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
        while k < K { s0 += xm[k] * w0[k]; s1 += xm[k] * w1[k]; s2 += xm[k] * w2[k]; s3 += xm[k] * w3[k]; k += 1 }
        let yr = y + m * N + n
        if beta == 0 { yr[0] = s0; yr[1] = s1; yr[2] = s2; yr[3] = s3 } else {
          yr[0] = beta * yr[0] + s0; yr[1] = beta * yr[1] + s1; yr[2] = beta * yr[2] + s2; yr[3] = beta * yr[3] + s3
        }
      }
      n += 4
    }
    while n < N {
      for m in 0..<M {
        let s = dot(x + m * K, w + n * K, K)
        y[m * N + n] = beta == 0 ? s : beta * y[m * N + n] + s
      }
      n += 1
    }
  }

  @inline(__always)
  static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
  }

  @inline(__always)
  static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// Σ a[i]·b[i] with 8-wide partial sums (order differs from a serial loop by rounding only).
  @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
      acc0 += load8(a + i) * load8(b + i)
      acc1 += load8(a + i + 8) * load8(b + i + 8)
      i += 16
    }
    if i + 8 <= n { acc0 += load8(a + i) * load8(b + i); i += 8 }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
  }

  /// y[i] += a·x[i].
  @inline(__always)
  static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] += a * x[i] }
  }

  /// max over n ≥ 1 values (four scalar partial maxima: no generic SIMD calls, vectorises).
  @inline(__always)
  static func maxValue(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m0 = -Float.infinity, m1 = -Float.infinity, m2 = -Float.infinity, m3 = -Float.infinity
    var i = 0
    while i + 4 <= n {
      m0 = x[i] > m0 ? x[i] : m0
      m1 = x[i + 1] > m1 ? x[i + 1] : m1
      m2 = x[i + 2] > m2 ? x[i + 2] : m2
      m3 = x[i + 3] > m3 ? x[i + 3] : m3
      i += 4
    }
    while i < n { m0 = x[i] > m0 ? x[i] : m0; i += 1 }
    return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
  }

  /// e^x for x ≤ 88, relative error ≈ 2e-7, inputs below −87.3 (including −∞) give exactly 0: the
  /// stage-1 decoder's scalar exp (`InferenceKernels.exp`, Cephes-style, vectorisable), one copy for
  /// the whole module. It is also the scalar twin `exp8` is tested against bit for bit.
  @inline(__always)
  static func exp(_ x: Float) -> Float { InferenceKernels.exp(x) }

  /// Cached attention of one query and one head: out = Σ_j softmax(q·k_j·scale) v_j over j < n.
  /// Shapes: q (hs); keys/values n rows of hs values, `stride` apart (the cache's C); scores
  /// (n rounded up to 8) scratch; out (hs).
  /// For hs a multiple of 8 (every preset) the scores are padded with −∞ to whole SIMD8 blocks, so the
  /// softmax is one `exp8` pass without a scalar tail, and the weighted sum keeps each 8-wide slice of
  /// `out` in a register across all j instead of loading and storing `out` once per key.
  @inline(__always)
  static func attendOne(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, n: Int,
                        hs: Int, stride: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                        out: UnsafeMutablePointer<Float>) {
    if hs % 8 != 0 {
      return attendOneNaive(q: q, keys: keys, values: values, n: n, hs: hs, stride: stride, scale: scale,
                            scores: scores, out: out)
    }
    for j in 0..<n { scores[j] = dot8(q, keys + j * stride, hs) * scale }
    let n8 = (n + 7) & ~7
    for j in n..<n8 { scores[j] = -.infinity }
    // (pointwiseMax and SIMD.max() are generic calls that do not inline here; selects do.)
    var mv = load8(scores)
    var j = 8
    while j < n8 { let v = load8(scores + j); mv = mv.replacing(with: v, where: v .> mv); j += 8 }
    let m = SIMD8<Float>(repeating: max8(mv))
    var acc = SIMD8<Float>()
    j = 0
    while j < n8 { let e = exp8(load8(scores + j) - m); store8(e, scores + j); acc += e; j += 8 }
    let inv = 1 / acc.sum()
    // 16 dimensions per pass where possible: one broadcast of p_j serves two 8-wide slices.
    var d = 0
    while d + 16 <= hs {
      var o0 = SIMD8<Float>(), o1 = SIMD8<Float>()
      for j in 0..<n {
        let pj = SIMD8(repeating: scores[j]), v = values + j * stride + d
        o0 += pj * load8(v); o1 += pj * load8(v + 8)
      }
      store8(o0 * inv, out + d); store8(o1 * inv, out + d + 8)
      d += 16
    }
    if d < hs {
      var o = SIMD8<Float>()
      for j in 0..<n { o += SIMD8(repeating: scores[j]) * load8(values + j * stride + d) }
      store8(o * inv, out + d)
    }
  }

  /// Largest of 8 values (halving selects).
  @inline(__always)
  static func max8(_ v: SIMD8<Float>) -> Float {
    let h = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let q = h.lowHalf.replacing(with: h.highHalf, where: h.highHalf .> h.lowHalf)
    return Swift.max(q[0], q[1])
  }

  /// Σ a[i]·b[i] for n a multiple of 8 (one 8-wide accumulator, no scalar tail).
  @inline(__always)
  static func dot8(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = load8(a) * load8(b)
    var i = 8
    while i < n { acc += load8(a + i) * load8(b + i); i += 8 }
    return acc.sum()
  }

  /// Naive twin of `attendOne` (any hs): scalar dot products, `maxValue`, `expShiftSumNaive`, axpy per key.
  static func attendOneNaive(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, n: Int,
                             hs: Int, stride: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                             out: UnsafeMutablePointer<Float>) {
    for j in 0..<n { scores[j] = dot(q, keys + j * stride, hs) * scale }
    let m = maxValue(scores, n)
    let z = expShiftSumNaive(scores, n, max: m)
    for i in 0..<hs { out[i] = 0 }
    for j in 0..<n { axpy(scores[j], values + j * stride, out, hs) }
    let inv = 1 / z
    for i in 0..<hs { out[i] *= inv }
  }

  /// e^x of 8 values x ≤ 0 (−∞ allowed): the same range reduction and polynomial as the scalar `exp`,
  /// so results are bit-identical to it on [−87.3, 0] (the cached and the reference sampler must draw
  /// the same tokens whichever path a row takes). Written on SIMD8 because the scalar version carries
  /// clamps that only matter for x > 0, and so the sum can be fused into the same pass.
  /// x = n·ln2 + r with n = round(x·log2 e) (Cody–Waite: ln2 split in an exact high part and a
  /// correction), e^r = 1 + r + r²·p(r) (degree-5 Cephes minimax p; relative error ≤ 8.3e-8 against the
  /// Double exp on a 1e-5 grid of [−87.3, 0]), 2ⁿ from the exponent bits. Inputs below −87.3 (2ⁿ would
  /// leave the normal range), including −∞, give 0.
  /// Why not the scalar loop: it did vectorise (4-wide SSE), but ran at 1.85 ns per element against
  /// 1.4 ns here (1024-logit softmax, one thread).
  @inline(__always)
  static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let magic = SIMD8<Float>(repeating: 12_582_912)        // 1.5·2²³: adding it rounds to an integer
    let tt = x * 1.442_695_04 + magic                        // bits of tt = bits of magic + n
    let n = tt - magic
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4       // −∞ gives NaN here; masked below
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * r * r + r + 1
    // (n + 127) << 23 = (bits(tt) << 23) + (127 << 23): the magic's own bits shift out of the word.
    let bits = unsafeBitCast(tt, to: SIMD8<UInt32>.self)
    let scale = unsafeBitCast((bits &<< 23) &+ (127 << 23), to: SIMD8<Float>.self)
    return (y * scale).replacing(with: 0, where: x .< -87.3)
  }

  /// x[i] = exp((x[i] − m)·invT) for n values with max m (so every argument is ≤ 0); returns Σ x[i]
  /// (8-wide partial sums, then the tail in order; same order as `expShiftSumNaive`).
  @inline(__always)
  static func expShiftSum(_ x: UnsafeMutablePointer<Float>, _ n: Int, max m: Float, invT: Float = 1) -> Float {
    let mv = SIMD8<Float>(repeating: m), tv = SIMD8<Float>(repeating: invT)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
      let e = exp8((load8(x + i) - mv) * tv)
      store8(e, x + i)
      acc += e
      i += 8
    }
    var s = acc.sum()
    while i < n { let e = exp((x[i] - m) * invT); x[i] = e; s += e; i += 1 }
    return s
  }

  /// Naive twin of `expShiftSum`: one scalar `exp` per element, then the same summation.
  static func expShiftSumNaive(_ x: UnsafeMutablePointer<Float>, _ n: Int, max m: Float, invT: Float = 1) -> Float {
    for i in 0..<n { x[i] = exp((x[i] - m) * invT) }
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n { acc += load8(x + i); i += 8 }
    var s = acc.sum()
    while i < n { s += x[i]; i += 1 }
    return s
  }

  /// erf(x): Abramowitz & Stegun 7.1.26 for |x| ≥ 0.5 (|error| ≤ 1.5e-7), and the Maclaurin series
  /// to x¹¹ below, where 7.1.26's `1 − …` cancels. Both branches are computed (a select, so loops
  /// vectorise); |error| ≤ 3e-7 everywhere (GPTTests).
  @inline(__always)
  static func erf(_ x: Float) -> Float {
    let ax = Swift.abs(x)
    let t = 1 / (1 + 0.327_591_1 * ax)
    var p: Float = 1.061_405_429
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    let far = 1 - p * t * exp(-ax * ax)
    let x2 = ax * ax
    var s: Float = -1 / 1320
    s = s * x2 + 1 / 216
    s = s * x2 - 1 / 42
    s = s * x2 + 1 / 10
    s = s * x2 - 1 / 3
    s = s * x2 + 1
    let near = 1.128_379_167 * ax * s
    let y = ax < 0.5 ? near : far
    return x < 0 ? -y : y
  }

  /// erf on 8 values: the rational minimax approximation x·P(x²)/Q(x²) on [−4, 4] used for float32 by
  /// Eigen and XLA (beyond ±4 erf is ±1 in float32). |error| ≤ 4.5e-7 (measured against the Double
  /// erf on a 8e-6 grid of [−8, 8]; largest near |x| = 3.9), against 3e-7 for the scalar `erf`, but
  /// no exp and no second branch: about 30 operations per 4 lanes instead of 50, and GELU was as
  /// costly as the whole vocabulary softmax.
  @inline(__always)
  static func erf8(_ a: SIMD8<Float>) -> SIMD8<Float> {
    let x = a.replacing(with: 4, where: a .> 4).replacing(with: -4, where: a .< -4)   // selects; clamped() is a call
    let x2 = x * x
    var p = SIMD8<Float>(repeating: -2.726_142_258_013_06e-10)
    p = p * x2 + 2.770_681_424_959_02e-08
    p = p * x2 - 2.101_024_020_825_08e-06
    p = p * x2 - 5.692_506_394_623_46e-05
    p = p * x2 - 7.349_906_303_268_55e-04
    p = p * x2 - 2.954_599_808_540_25e-03
    p = p * x2 - 1.609_603_332_624_15e-02
    var q = SIMD8<Float>(repeating: -1.456_607_184_649_96e-05)
    q = q * x2 - 2.133_740_552_789_05e-04
    q = q * x2 - 1.682_826_974_382_03e-03
    q = q * x2 - 7.373_329_167_204_68e-03
    q = q * x2 - 1.426_473_905_141_89e-02
    return x * p / q
  }

  /// Exact (erf) GELU in place: x·½(1 + erf(x/√2)), all with `erf8` (the tail through a zero-padded
  /// vector, so every element gets the same approximation).
  @inline(__always)
  static func geluInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    @inline(__always) func gelu8(_ v: SIMD8<Float>) -> SIMD8<Float> { 0.5 * v * (1 + erf8(v * 0.707_106_781_186_547_6)) }
    var i = 0
    while i + 8 <= n { store8(gelu8(load8(x + i)), x + i); i += 8 }
    if i < n {
      var v = SIMD8<Float>()
      for k in 0..<(n - i) { v[k] = x[i + k] }
      let g = gelu8(v)
      for k in 0..<(n - i) { x[i + k] = g[k] }
    }
  }

  /// Naive twin of `geluInPlace`: the scalar `erf` (Abramowitz & Stegun + series) per element.
  static func geluInPlaceNaive(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { let v = x[i]; x[i] = 0.5 * v * (1 + erf(v * 0.707_106_781_186_547_6)) }
  }

  /// y[i] += b[i] for each of `rows` rows of width n.
  @inline(__always)
  static func addBias(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, _ n: Int) {
    for r in 0..<rows { let yr = y + r * n; for i in 0..<n { yr[i] += b[i] } }
  }

  /// LayerNorm of `rows` rows of width C (biased variance, eps 1e-5): y = (x − μ)/σ·w + b.
  /// Shapes: x, y (rows, C); w, b (C). 8-wide partial sums (a serial sum of 64 floats is a chain of
  /// 64 dependent adds), the tail of C % 8 in order.
  @inline(__always)
  static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>,
                        _ b: UnsafePointer<Float>, rows: Int, _ C: Int, eps: Float = 1e-5) {
    let invC = 1 / Float(C), C8 = C & ~7
    for r in 0..<rows {
      let xr = x + r * C, yr = y + r * C
      var sv = SIMD8<Float>()
      var i = 0
      while i < C8 { sv += load8(xr + i); i += 8 }
      var s = sv.sum()
      while i < C { s += xr[i]; i += 1 }
      let mean = s * invC
      let mv = SIMD8<Float>(repeating: mean)
      var vv = SIMD8<Float>()
      i = 0
      while i < C8 { let d = load8(xr + i) - mv; vv += d * d; i += 8 }
      var v = vv.sum()
      while i < C { let d = xr[i] - mean; v += d * d; i += 1 }
      let rstd = 1 / (v * invC + eps).squareRoot()
      let rv = SIMD8<Float>(repeating: rstd)
      i = 0
      while i < C8 { store8((load8(xr + i) - mv) * rv * load8(w + i) + load8(b + i), yr + i); i += 8 }
      while i < C { yr[i] = (xr[i] - mean) * rstd * w[i] + b[i]; i += 1 }
    }
  }

  /// Naive twin of `layerNorm`: serial sums.
  static func layerNormNaive(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>,
                             _ b: UnsafePointer<Float>, rows: Int, _ C: Int, eps: Float = 1e-5) {
    let invC = 1 / Float(C)
    for r in 0..<rows {
      let xr = x + r * C, yr = y + r * C
      var s: Float = 0
      for i in 0..<C { s += xr[i] }
      let mean = s * invC
      var v: Float = 0
      for i in 0..<C { let d = xr[i] - mean; v += d * d }
      let rstd = 1 / (v * invC + eps).squareRoot()
      for i in 0..<C { yr[i] = (xr[i] - mean) * rstd * w[i] + b[i] }
    }
  }
}
