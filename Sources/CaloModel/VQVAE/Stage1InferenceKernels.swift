// Raw-buffer kernels of the fast stage-1 decoder (Stage1Inference.swift): channels-last (N, Z, A, C)
// convolutions as ONE GEMM over many output positions of many showers (the training path runs one
// small GEMM per shower), FFT resampling along A, fused bias + activation. No tape, no allocation in
// the hot loops; every buffer belongs to the caller. The tape-based ops in CaloTensor are the naive
// twins (tests compare the two decoders end to end).
import COpenBLAS
import Foundation

/// Activation fused after a GEMM.
enum InferenceActivation { case none, relu, silu }

/// Inference kernels on Float32 buffers.
enum InferenceKernels {
  /// OpenBLAS single-threaded (the decoder splits showers over the cores itself). Evaluated once.
  static let blasSingleThreaded: Bool = {
    openblas_set_num_threads(1)
    return true
  }()

  /// C (M×N) = A (M×K, row stride lda) · B + beta·C; B is (K×N) or, when `transB`, (N×K).
  @inline(__always)
  static func gemm(_ A: UnsafePointer<Float>, lda: Int, _ B: UnsafePointer<Float>, transB: Bool, ldb: Int,
                   _ C: UnsafeMutablePointer<Float>, ldc: Int, M: Int, N: Int, K: Int, beta: Float = 0) {
    if M == 0 || N == 0 { return }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(M), Int32(N), Int32(K), 1,
                A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
  }

  /// e^x with relative error ≈ 2e-7 (range reduction + degree-6 polynomial; x < −87.3 gives 0).
  /// Only arithmetic and selects, so loops over it vectorise.
  @inline(__always)
  static func exp(_ x: Float) -> Float {
    let xc = Swift.min(Swift.max(x, -87.3), 88.3)
    let magic: Float = 12_582_912                 // 1.5·2²³: round to nearest via the float adder
    let tt = xc * 1.442_695_04 + magic
    let n = tt - magic
    let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * r * r + r + 1
    let scale = Float(bitPattern: (tt.bitPattern &- 0x4B40_0000 &+ 127) << 23)
    return x < -87.3 ? 0 : y * scale
  }

  /// e^x − 1 for x ≥ 0 without the cancellation of exp(x) − 1 near 0 (cubic Taylor below 1e-2,
  /// relative error < 5e-9 there).
  @inline(__always)
  static func expm1NonNegative(_ x: Float) -> Float {
    let small = x * (1 + x * (0.5 + x * (1.0 / 6)))
    return x < 1e-2 ? small : exp(x) - 1
  }

  /// y[r, :] = act(y[r, :] + b) for `rows` rows of width n (row stride ld).
  @inline(__always)
  static func biasAct(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, _ n: Int, ld: Int,
                      _ act: InferenceActivation) {
    for r in 0..<rows {
      let yr = y + r * ld
      switch act {
      case .none: for i in 0..<n { yr[i] += b[i] }
      case .relu: for i in 0..<n { let v = yr[i] + b[i]; yr[i] = v > 0 ? v : 0 }
      case .silu: for i in 0..<n { let v = yr[i] + b[i]; yr[i] = v / (1 + exp(-v)) }
      }
    }
  }

  /// In-place activation of n values.
  @inline(__always)
  static func activate(_ y: UnsafeMutablePointer<Float>, _ n: Int, _ act: InferenceActivation) {
    switch act {
    case .none: return
    case .relu: for i in 0..<n { y[i] = y[i] > 0 ? y[i] : 0 }
    case .silu: for i in 0..<n { let v = y[i]; y[i] = v / (1 + exp(-v)) }
    }
  }

  /// Softmax of n values in place (max-shifted; Double-free, 8 partial sums via the compiler).
  @inline(__always)
  static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    var m = -Float.infinity
    for i in 0..<n { m = x[i] > m ? x[i] : m }
    var s: Float = 0
    for i in 0..<n { let e = exp(x[i] - m); x[i] = e; s += e }
    let inv = 1 / s
    for i in 0..<n { x[i] *= inv }
  }
}

/// A gather-form convolution on channels-last activations: output (Zo, Ao) position p reads input
/// rows `rowMap[i·Zo + zo]` (−1: zero padding) and columns `colMap[j·Ao + ao]` for tap (i, j).
/// Covers CylConv (any stride, circular A, optional zero Z padding) and the stride-1 CylConvT
/// (gather form, calovq_facts.md §2.1). Packed weight (kz·ka·Cin, Cout), row (i, j, c).
struct GatherConv {
  let cin, cout, kz, ka, zIn, aIn, zOut, aOut: Int
  let rowMap: [Int32], colMap: [Int32]
  let weight: [Float], bias: [Float]

  var taps: Int { kz * ka }
  var inPlane: Int { zIn * aIn * cin }
  var outPlane: Int { zOut * aOut * cout }

  /// CylConv2d: weight (Cout, Cin, kz, ka), bias (Cout), input grid (Z, A).
  static func conv(weight w: [Float], shape s: [Int], bias: [Float], stride: (z: Int, a: Int), padZ: Bool, Z: Int, A: Int) -> GatherConv {
    let (cout, cin, kz, ka) = (s[0], s[1], s[2], s[3])
    let pz = padZ ? (kz - 1) / 2 : 0, pa = (ka - 1) / 2
    let zo = (Z + 2 * pz - kz) / stride.z + 1, ao = (A + 2 * pa - ka) / stride.a + 1
    var rm = [Int32](repeating: -1, count: kz * zo), cm = [Int32](repeating: 0, count: ka * ao)
    for i in 0..<kz { for y in 0..<zo { let h = y * stride.z + i - pz; if h >= 0 && h < Z { rm[i * zo + y] = Int32(h) } } }
    for j in 0..<ka { for x in 0..<ao { let a = x * stride.a + j - pa; cm[j * ao + x] = Int32(((a % A) + A) % A) } }
    var p = [Float](repeating: 0, count: kz * ka * cin * cout)
    for o in 0..<cout { for c in 0..<cin { for i in 0..<kz { for j in 0..<ka {
      p[((i * ka + j) * cin + c) * cout + o] = w[((o * cin + c) * kz + i) * ka + j]
    } } } }
    return GatherConv(cin: cin, cout: cout, kz: kz, ka: ka, zIn: Z, aIn: A, zOut: zo, aOut: ao, rowMap: rm, colMap: cm,
                      weight: p, bias: bias)
  }

  /// Stride-1 CylConvT as a gather: weight (Cin, Cout, kz, ka); output (zo, ao) tap (i, j) reads
  /// input (zo + pz − i, (ao − j) mod A).
  static func transposedStride1(weight w: [Float], shape s: [Int], bias: [Float], padZ: Bool, Z: Int, A: Int) -> GatherConv {
    let (cin, cout, kz, ka) = (s[0], s[1], s[2], s[3])
    let pz = padZ ? (kz - 1) / 2 : 0
    let zo = Z - 1 - 2 * pz + kz
    var rm = [Int32](repeating: -1, count: kz * zo), cm = [Int32](repeating: 0, count: ka * A)
    for i in 0..<kz { for y in 0..<zo { let z = y + pz - i; if z >= 0 && z < Z { rm[i * zo + y] = Int32(z) } } }
    for j in 0..<ka { for x in 0..<A { cm[j * A + x] = Int32(((x - j) % A + A) % A) } }
    var p = [Float](repeating: 0, count: kz * ka * cin * cout)
    for c in 0..<cin { for o in 0..<cout { for i in 0..<kz { for j in 0..<ka {
      p[((i * ka + j) * cin + c) * cout + o] = w[((c * cout + o) * kz + i) * ka + j]
    } } } }
    return GatherConv(cin: cin, cout: cout, kz: kz, ka: ka, zIn: Z, aIn: A, zOut: zo, aOut: A, rowMap: rm, colMap: cm,
                      weight: p, bias: bias)
  }

  /// Scratch floats `apply` needs for blocks of `blockRows` output positions.
  func scratchFloats(blockRows: Int) -> Int { kz * ka == 1 ? 0 : blockRows * kz * ka * cin }

  /// y (n, Zo, Ao, Cout) = act(conv(x (n, Z, A, Cin)) + b): im2col of up to `blockRows` output
  /// positions (across showers) into `scratch`, then one GEMM per block.
  func apply(_ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
             blockRows: Int, act: InferenceActivation) {
    let P = zOut * aOut, total = n * P, CK = kz * ka * cin
    weight.withUnsafeBufferPointer { pw in bias.withUnsafeBufferPointer { pb in
      rowMap.withUnsafeBufferPointer { rm in colMap.withUnsafeBufferPointer { cm in
        let direct = kz * ka == 1 && zIn == zOut && aIn == aOut && rm[0] == 0
        var r0 = 0
        while r0 < total {
          let rows = Swift.min(blockRows, total - r0)
          if direct {
            InferenceKernels.gemm(x + r0 * cin, lda: cin, pw.baseAddress!, transB: false, ldb: cout, y + r0 * cout, ldc: cout,
                                  M: rows, N: cout, K: cin)
          } else {
            for r in 0..<rows {
              let g = r0 + r, s = g / P, p = g % P, zo = p / aOut, ao = p % aOut
              let dst = scratch + r * CK, src = x + s * inPlane
              for i in 0..<kz {
                let z = Int(rm[i * zOut + zo])
                for j in 0..<ka {
                  let d = dst + (i * ka + j) * cin
                  if z < 0 { d.initialize(repeating: 0, count: cin); continue }
                  d.update(from: src + (z * aIn + Int(cm[j * aOut + ao])) * cin, count: cin)
                }
              }
            }
            InferenceKernels.gemm(scratch, lda: CK, pw.baseAddress!, transB: false, ldb: cout, y + r0 * cout, ldc: cout,
                                  M: rows, N: cout, K: CK)
          }
          InferenceKernels.biasAct(y + r0 * cout, pb.baseAddress!, rows: rows, cout, ld: cout, act)
          r0 += rows
        }
      } }
    } }
  }
}

/// A strided CylConvT in scatter form: cols (rows, kz·ka·Cout) = x (rows, Cin) · W, then each
/// input position's taps are added onto output (z·sz − pz + i, (a·sa + j) mod Ao).
struct ScatterConvT {
  let cin, cout, kz, ka, sz, sa, pz, zIn, aIn, zOut, aOut: Int
  let weight: [Float]   // (Cin, kz·ka·Cout), column (i, j, o)
  let bias: [Float]

  init(weight w: [Float], shape s: [Int], bias: [Float], stride: (z: Int, a: Int), padZ: Bool, Z: Int, A: Int) {
    (cin, cout, kz, ka) = (s[0], s[1], s[2], s[3])
    (sz, sa) = (stride.z, stride.a)
    pz = padZ ? (kz - 1) / 2 : 0
    let opz = padZ ? sz - 1 : 0
    (zIn, aIn) = (Z, A)
    zOut = (Z - 1) * sz - 2 * pz + kz + opz
    aOut = A * sa
    var p = [Float](repeating: 0, count: cin * kz * ka * cout)
    for c in 0..<cin { for o in 0..<cout { for i in 0..<kz { for j in 0..<ka {
      p[c * kz * ka * cout + (i * ka + j) * cout + o] = w[((c * cout + o) * kz + i) * ka + j]
    } } } }
    weight = p
    self.bias = bias
  }

  var inPlane: Int { zIn * aIn * cin }
  var outPlane: Int { zOut * aOut * cout }
  /// Scratch floats for one shower's columns.
  var scratchFloats: Int { zIn * aIn * kz * ka * cout }

  /// y (n, Zo, Ao, Cout) = act(convT(x (n, Z, A, Cin)) + b), one shower at a time.
  func apply(_ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
             act: InferenceActivation) {
    let KC = kz * ka * cout
    weight.withUnsafeBufferPointer { pw in bias.withUnsafeBufferPointer { pb in
      for s in 0..<n {
        InferenceKernels.gemm(x + s * inPlane, lda: cin, pw.baseAddress!, transB: false, ldb: KC, scratch, ldc: KC,
                              M: zIn * aIn, N: KC, K: cin)
        let out = y + s * outPlane
        out.initialize(repeating: 0, count: outPlane)
        for z in 0..<zIn { for a in 0..<aIn {
          let col = scratch + (z * aIn + a) * KC
          for i in 0..<kz {
            let zo = z * sz - pz + i
            if zo < 0 || zo >= zOut { continue }
            for j in 0..<ka {
              let d = out + (zo * aOut + (a * sa + j) % aOut) * cout, c = col + (i * ka + j) * cout
              for o in 0..<cout { d[o] += c[o] }
            }
          }
        } }
        InferenceKernels.biasAct(out, pb.baseAddress!, rows: zOut * aOut, cout, ld: cout, act)
      }
    } }
  }
}

/// FFT resampling along A of channels-last activations: for every (shower, z) block,
/// y (Aout, C) = M (Aout×Ain) · x (Ain, C), with M from `fftResampleMatrix`.
struct AngularResample {
  let aIn, aOut: Int
  let matrix: [Float]

  func apply(_ x: UnsafePointer<Float>, blocks: Int, channels C: Int, _ y: UnsafeMutablePointer<Float>) {
    matrix.withUnsafeBufferPointer { pm in
      for b in 0..<blocks {
        InferenceKernels.gemm(pm.baseAddress!, lda: aIn, x + b * aIn * C, transB: false, ldb: C, y + b * aOut * C, ldc: C,
                              M: aOut, N: C, K: aIn)
      }
    }
  }
}

/// The ds1 decoder's Conv1d (kernel 3, zero padding 1, stride 1, ReLU) on padded channels-last rows:
/// x (m, L + 2, Cin) → y (m, L + 2, Cout); row 0 and row L + 1 of every shower are zero padding
/// (read as the convolution's zeros, written as zeros for the next layer).
///
/// `apply` uses Winograd F(4,3) (Lavin & Gray 2016): four neighbouring outputs y₀…y₃ of the taps
/// g₀, g₁, g₂ (Cin × Cout matrices) over the input rows d₀…d₅ (Cin each) need 6 products instead of 12,
///   U = Bᵀd:  U₀ = 4d₀ − 5d₂ + d₄,  U₁ = −4d₁ − 4d₂ + d₃ + d₄,  U₂ = 4d₁ − 4d₂ − d₃ + d₄,
///             U₃ = −2d₁ − d₂ + 2d₃ + d₄,  U₄ = 2d₁ − d₂ − 2d₃ + d₄,  U₅ = 4d₁ − 5d₃ + d₅
///   G = Gg:   G₀ = g₀/4, G₁ = −(g₀ + g₁ + g₂)/6, G₂ = −(g₀ − g₁ + g₂)/6,
///             G₃ = g₀/24 + g₁/12 + g₂/6, G₄ = g₀/24 − g₁/12 + g₂/6, G₅ = g₂
///   Mₖ = Uₖ·Gₖ (one GEMM per k over all output quads of a block),
///   y₀ = M₀ + M₁ + M₂ + M₃ + M₄, y₁ = M₁ − M₂ + 2M₃ − 2M₄, y₂ = M₁ + M₂ + 4M₃ + 4M₄,
///   y₃ = M₁ − M₂ + 8M₃ − 8M₄ + M₅.
/// The two 256 → 256 convolutions are ~85 % of the ds1 decoder's FLOPs; this halves their GEMM work
/// and skips the pad rows between showers that the shifted-GEMM form computes and discards. One
/// thread, 256 channels, L = 32: 94 µs per shower and layer, F(2,3) 117 µs, shifted GEMMs 170–215 µs.
/// Rounding: the transforms scale by up to 8 and 1/24, so results differ from the direct sums by
/// ~2e-6 of the largest output (float32; measured 3.6e-6 at max |y| ≈ 2), against ~1e-7 for the direct
/// form. `applyDirect` (three shifted GEMMs) is the naive twin and the path for L not divisible by 4.
struct Conv1dK3 {
  let cin, cout: Int
  let weight: [Float]     // (3, Cin, Cout): tap j's matrix gⱼ
  let winograd: [Float]   // (6, Cin, Cout): G₀ … G₅ (computed in Double)
  let bias: [Float]       // (Cout)

  init(weight w: [Float], bias: [Float], cin: Int, cout: Int) {
    precondition(w.count == 3 * cin * cout && bias.count == cout, "Conv1dK3: weight (3, \(cin), \(cout)), bias (\(cout))")
    self.cin = cin
    self.cout = cout
    weight = w
    self.bias = bias
    let n = cin * cout
    var g = [Float](repeating: 0, count: 6 * n)
    for i in 0..<n {
      let g0 = Double(w[i]), g1 = Double(w[n + i]), g2 = Double(w[2 * n + i])
      g[i] = Float(g0 / 4)
      g[n + i] = Float(-(g0 + g1 + g2) / 6)
      g[2 * n + i] = Float(-(g0 - g1 + g2) / 6)
      g[3 * n + i] = Float(g0 / 24 + g1 / 12 + g2 / 6)
      g[4 * n + i] = Float(g0 / 24 - g1 / 12 + g2 / 6)
      g[5 * n + i] = Float(g2)
    }
    winograd = g
  }

  /// Can `apply` (Winograd) handle length L? Otherwise use `applyDirect`.
  static func winogradFits(_ L: Int) -> Bool { L % 4 == 0 }

  /// Output quads per block in `apply`, so the transformed inputs and products of a block (2 × 768 KB
  /// for 256 channels) are reused from cache by the GEMMs instead of streaming 2 × 11 MB for a whole
  /// 115-shower chunk. One thread, 256 channels: 64–256 quads per block within noise (92–99 µs/shower).
  static let blockTiles = 128

  /// Scratch floats `apply` needs: 6 transformed inputs and 6 products per block of output quads.
  func scratchFloats(showers m: Int, L: Int) -> Int { 6 * Swift.min(m * L / 4, Conv1dK3.blockTiles) * (cin + cout) }

  /// Winograd F(4,3) form (see the type). L must be a multiple of 4; scratch ≥ `scratchFloats`.
  func apply(_ x: UnsafePointer<Float>, showers m: Int, L: Int, _ y: UnsafeMutablePointer<Float>,
             scratch: UnsafeMutablePointer<Float>) {
    precondition(Conv1dK3.winogradFits(L), "Conv1dK3.apply: Winograd F(4,3) needs L divisible by 4, got \(L)")
    let Lp = L + 2, quads = L / 4, total = m * quads, cin = self.cin, cout = self.cout
    let block = Swift.min(total, Conv1dK3.blockTiles)
    let us = block * cin, ps = block * cout
    let u = scratch                                   // (6, block, Cin)
    let p = scratch + 6 * us                          // (6, block, Cout)
    for s in 0..<m {
      (y + s * Lp * cout).initialize(repeating: 0, count: cout)
      (y + (s * Lp + L + 1) * cout).initialize(repeating: 0, count: cout)
    }
    winograd.withUnsafeBufferPointer { pg in bias.withUnsafeBufferPointer { pb in
      let b = pb.baseAddress!
      var g0 = 0
      while g0 < total {
        let tiles = Swift.min(block, total - g0)
        // Input transform: quad g = (s, t) reads padded rows 4t … 4t + 5 of shower s.
        for i in 0..<tiles {
          let g = g0 + i, s = g / quads, t = g % quads
          let d0 = x + (s * Lp + 4 * t) * cin, d1 = d0 + cin, d2 = d1 + cin, d3 = d2 + cin, d4 = d3 + cin, d5 = d4 + cin
          let u0 = u + i * cin
          for c in 0..<cin {
            let a = d4[c] - d2[c], e = d3[c] - d1[c]
            let A = d4[c] - 4 * d2[c], B = d3[c] - 4 * d1[c]
            u0[c] = 4 * (d0[c] - d2[c]) + a
            u0[us + c] = A + B
            u0[2 * us + c] = A - B
            u0[3 * us + c] = a + 2 * e
            u0[4 * us + c] = a - 2 * e
            u0[5 * us + c] = (d5[c] - d3[c]) - 4 * e
          }
        }
        for k in 0..<6 {
          InferenceKernels.gemm(u + k * us, lda: cin, pg.baseAddress! + k * cin * cout, transB: false, ldb: cout,
                                p + k * ps, ldc: cout, M: tiles, N: cout, K: cin)
        }
        // Output transform + bias + ReLU into padded rows 4t + 1 … 4t + 4.
        for i in 0..<tiles {
          let g = g0 + i, s = g / quads, t = g % quads
          let p0 = p + i * cout
          let y0 = y + (s * Lp + 4 * t + 1) * cout, y1 = y0 + cout, y2 = y1 + cout, y3 = y2 + cout
          for o in 0..<cout {
            let m0 = p0[o], m1 = p0[ps + o], m2 = p0[2 * ps + o], m3 = p0[3 * ps + o], m4 = p0[4 * ps + o], m5 = p0[5 * ps + o]
            let sp = m1 + m2, sm = m1 - m2, tp = m3 + m4, tm = m3 - m4
            let r0 = m0 + sp + tp + b[o], r1 = sm + 2 * tm + b[o], r2 = sp + 4 * tp + b[o], r3 = sm + 8 * tm + m5 + b[o]
            y0[o] = r0 > 0 ? r0 : 0; y1[o] = r1 > 0 ? r1 : 0; y2[o] = r2 > 0 ? r2 : 0; y3[o] = r3 > 0 ? r3 : 0
          }
        }
        g0 += tiles
      }
    } }
  }

  /// Naive twin: three shifted GEMMs over all padded rows of the chunk (rows that straddle two
  /// showers land on pad rows and are zeroed afterwards), then bias + ReLU.
  func applyDirect(_ x: UnsafePointer<Float>, showers m: Int, L: Int, _ y: UnsafeMutablePointer<Float>) {
    let Lp = L + 2, rows = m * Lp - 2
    weight.withUnsafeBufferPointer { pw in
      for j in 0..<3 {
        InferenceKernels.gemm(x + j * cin, lda: cin, pw.baseAddress! + j * cin * cout, transB: false, ldb: cout,
                              y + cout, ldc: cout, M: rows, N: cout, K: cin, beta: j == 0 ? 0 : 1)
      }
    }
    bias.withUnsafeBufferPointer { InferenceKernels.biasAct(y + cout, $0.baseAddress!, rows: rows, cout, ld: cout, .relu) }
    for s in 0..<m {
      (y + s * Lp * cout).initialize(repeating: 0, count: cout)
      (y + (s * Lp + L + 1) * cout).initialize(repeating: 0, count: cout)
    }
  }
}
