// Convolutions via im2col + GEMM: Conv1d (zero padding), cylindrical Conv2d (circular padding along
// the angle A, optional zero padding along the depth Z) and the cylindrical transposed Conv2d with
// the non-centred angular wrap of calovq_facts.md §2.1. Work is split by sample across the cores;
// each GEMM runs single-threaded. Naive twins: `cylConv2dNaive`, `cylConvTranspose2dNaive`.

/// Index tables between a "small" grid (Hs, Ws) and a "big" grid (Hb, Wb) for a kh×kw kernel:
/// tap (i, j) at small position (y, x) touches big position (rowMap[i·Hs+y], colMap[j·Ws+x]), or
/// nothing when either entry is −1. For a convolution the small grid is the output and the big
/// grid the input (gather = im2col); for a transposed convolution the small grid is the input and
/// the big grid the output (scatter = col2im). Rows and columns are separable, which keeps the
/// tables tiny.
struct ConvMap {
  let kh, kw, Hs, Ws, Hb, Wb: Int
  let rowMap: [Int32]   // (kh, Hs)
  let colMap: [Int32]   // (kw, Ws)
  /// True when gather/scatter is the identity (1×1 kernel, stride 1, same grid): no copy needed.
  let isIdentity: Bool

  /// Conv geometry: out (Hs, Ws) ← in (Hb, Wb); zero padding ph on rows, pw on columns either
  /// zero (`circular == false`) or circular.
  static func conv(H: Int, W: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, circular: Bool) -> ConvMap {
    let Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1
    precondition(Ho > 0 && Wo > 0, "convolution output would be empty: input \(H)×\(W), kernel \(kh)×\(kw), stride \(sh)×\(sw), padding \(ph)×\(pw)")
    var rm = [Int32](repeating: -1, count: kh * Ho), cm = [Int32](repeating: -1, count: kw * Wo)
    for i in 0..<kh { for y in 0..<Ho { let h = y * sh + i - ph; if h >= 0 && h < H { rm[i * Ho + y] = Int32(h) } } }
    for j in 0..<kw {
      for x in 0..<Wo {
        let w = x * sw + j - pw
        if circular { cm[j * Wo + x] = Int32(((w % W) + W) % W) } else if w >= 0 && w < W { cm[j * Wo + x] = Int32(w) }
      }
    }
    let id = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0
    return ConvMap(kh: kh, kw: kw, Hs: Ho, Ws: Wo, Hb: H, Wb: W, rowMap: rm, colMap: cm, isIdentity: id)
  }

  /// Cylindrical transposed-conv geometry: in (Hs = Z, Ws = A) → out (Hb = Z', Wb = A·sa) with
  /// Z' = (Z−1)·sz − 2pz + kz + opz and the angular wrap (a·sa + j) mod (A·sa).
  static func convTranspose(Z: Int, A: Int, kz: Int, ka: Int, sz: Int, sa: Int, pz: Int, opz: Int) -> ConvMap {
    let Zo = (Z - 1) * sz - 2 * pz + kz + opz, Ao = A * sa
    precondition(Zo > 0, "transposed convolution output would be empty (Z \(Z), kernel \(kz), stride \(sz), padding \(pz))")
    var rm = [Int32](repeating: -1, count: kz * Z), cm = [Int32](repeating: -1, count: ka * A)
    for i in 0..<kz { for z in 0..<Z { let h = z * sz - pz + i; if h >= 0 && h < Zo { rm[i * Z + z] = Int32(h) } } }
    for j in 0..<ka { for a in 0..<A { cm[j * A + a] = Int32((a * sa + j) % Ao) } }
    let id = kz == 1 && ka == 1 && sz == 1 && sa == 1 && pz == 0 && opz == 0
    return ConvMap(kh: kz, kw: ka, Hs: Z, Ws: A, Hb: Zo, Wb: Ao, rowMap: rm, colMap: cm, isIdentity: id)
  }

  /// Stride-1 cylindrical transposed conv written as a gather (a plain convolution over the input):
  /// out (Hs = Z', Ws = A) ← in (Hb = Z, Wb = A), tap (i, j) at output (zo, ao) reads input
  /// (zo + pz − i, (ao − j) mod A). Same result as the scatter form of `convTranspose`, but the
  /// GEMM's inner dimension becomes Cin·kz·ka instead of Cin, which BLAS runs far faster.
  static func convTransposeAsGather(Z: Int, A: Int, kz: Int, ka: Int, pz: Int) -> ConvMap {
    let Zo = Z - 1 - 2 * pz + kz
    precondition(Zo > 0, "transposed convolution output would be empty (Z \(Z), kernel \(kz), padding \(pz))")
    var rm = [Int32](repeating: -1, count: kz * Zo), cm = [Int32](repeating: -1, count: ka * A)
    for i in 0..<kz { for zo in 0..<Zo { let z = zo + pz - i; if z >= 0 && z < Z { rm[i * Zo + zo] = Int32(z) } } }
    for j in 0..<ka { for ao in 0..<A { cm[j * A + ao] = Int32(((ao - j) % A + A) % A) } }
    return ConvMap(kh: kz, kw: ka, Hs: Zo, Ws: A, Hb: Z, Wb: A, rowMap: rm, colMap: cm, isIdentity: kz == 1 && ka == 1 && pz == 0)
  }

  /// col (C·kh·kw, Hs·Ws) = values of `big` (C, Hb, Wb) at the mapped positions (0 where unmapped).
  func gather(_ big: UnsafePointer<Float>, C: Int, into col: UnsafeMutablePointer<Float>) {
    let P = Hs * Ws, bigPlane = Hb * Wb
    rowMap.withUnsafeBufferPointer { rm in
      colMap.withUnsafeBufferPointer { cm in
        for c in 0..<C {
          let src = big + c * bigPlane
          for i in 0..<kh {
            for j in 0..<kw {
              let dst = col + ((c * kh + i) * kw + j) * P
              for y in 0..<Hs {
                let h = Int(rm[i * Hs + y])
                let d = dst + y * Ws
                if h < 0 { for x in 0..<Ws { d[x] = 0 }; continue }
                let srow = src + h * Wb
                for x in 0..<Ws { let w = Int(cm[j * Ws + x]); d[x] = w < 0 ? 0 : srow[w] }
              }
            }
          }
        }
      }
    }
  }

  /// big (C, Hb, Wb) += col (C·kh·kw, Hs·Ws) scattered to the mapped positions (the adjoint of gather).
  func scatterAdd(_ col: UnsafePointer<Float>, C: Int, into big: UnsafeMutablePointer<Float>) {
    let P = Hs * Ws, bigPlane = Hb * Wb
    rowMap.withUnsafeBufferPointer { rm in
      colMap.withUnsafeBufferPointer { cm in
        for c in 0..<C {
          let dstPlane = big + c * bigPlane
          for i in 0..<kh {
            for j in 0..<kw {
              let src = col + ((c * kh + i) * kw + j) * P
              for y in 0..<Hs {
                let h = Int(rm[i * Hs + y])
                if h < 0 { continue }
                let drow = dstPlane + h * Wb, s = src + y * Ws
                for x in 0..<Ws { let w = Int(cm[j * Ws + x]); if w >= 0 { drow[w] += s[x] } }
              }
            }
          }
        }
      }
    }
  }
}

extension Tensor {
  // MARK: - Shared convolution engine

  /// y (N, Cout, Hs, Ws) = W (Cout, Cin·kh·kw) · gather(x_n) + b, per sample n.
  /// x is (N, Cin, Hb, Wb). Forward and backward of every non-transposed convolution.
  static func convForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, map: ConvMap, outShape: [Int]) -> Tensor {
    let N = x.shape[0], Cin = x.shape[1], Cout = weight.shape[0]
    let CK = Cin * map.kh * map.kw, P = map.Hs * map.Ws, inPlane = Cin * map.Hb * map.Wb
    precondition(weight.count == Cout * CK, "conv weight \(weight.shape) does not match \(Cin) input channels and kernel \(map.kh)×\(map.kw)")
    var y = [Float](repeating: 0, count: N * Cout * P)
    x.withData { px in weight.withData { pw in y.withUnsafeMutableBufferPointer { py in
      let X = SendableConstPtr(px), Wt = SendableConstPtr(pw), Y = SendablePtr(py.baseAddress!)
      parallelChunks(N, work: 2 * N * Cout * CK * P) { _, r in
        var col = [Float](repeating: 0, count: map.isIdentity ? 0 : CK * P)
        col.withUnsafeMutableBufferPointer { pc in
          for n in r {
            var src = X.p + n * inPlane
            if !map.isIdentity { map.gather(src, C: Cin, into: pc.baseAddress!); src = UnsafePointer(pc.baseAddress!) }
            sgemm(false, false, Cout, P, CK, 1, Wt.p, CK, src, P, 0, Y.p + n * Cout * P, P)
          }
        }
      }
      if let bias { bias.withData { pb in for n in 0..<N { for o in 0..<Cout { let d = py.baseAddress! + (n * Cout + o) * P; for p in 0..<P { d[p] += pb[o] } } } } }
    } } }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return result(outShape, y, inputs: inputs) { out in
      let g = out.grad!
      let lanes = Swift.min(Compute.lanes, N)
      // Per-lane weight-gradient partials (summed afterwards) keep lanes independent.
      var dW = [Float](repeating: 0, count: weight.requiresGrad ? lanes * Cout * CK : 0)
      var dX = [Float](repeating: 0, count: x.requiresGrad ? x.count : 0)
      x.withData { px in weight.withData { pw in g.withUnsafeBufferPointer { pg in
        dW.withUnsafeMutableBufferPointer { pdw in dX.withUnsafeMutableBufferPointer { pdx in
          let X = SendableConstPtr(px), Wt = SendableConstPtr(pw), G = SendableConstPtr(pg.baseAddress!)
          // (Decide by the flags: an empty array may still report a base address.)
          let DW = weight.requiresGrad ? SendablePtr(pdw.baseAddress!) : nil
          let DX = x.requiresGrad ? SendablePtr(pdx.baseAddress!) : nil
          parallelChunks(N, work: 4 * N * Cout * CK * P) { lane, r in
            var col = [Float](repeating: 0, count: map.isIdentity ? 0 : CK * P)
            col.withUnsafeMutableBufferPointer { pc in
              for n in r {
                let gy = G.p + n * Cout * P
                if let DW {  // dW (Cout×CK) += dY_n (Cout×P) · col_nᵀ
                  var src = X.p + n * inPlane
                  if !map.isIdentity { map.gather(src, C: Cin, into: pc.baseAddress!); src = UnsafePointer(pc.baseAddress!) }
                  sgemm(false, true, Cout, CK, P, 1, gy, P, src, P, 1, DW.p + lane * Cout * CK, CK)
                }
                if let DX {  // dcol (CK×P) = Wᵀ · dY_n, then scatter back to the input grid
                  if map.isIdentity {
                    sgemm(true, false, CK, P, Cout, 1, Wt.p, CK, gy, P, 1, DX.p + n * inPlane, P)
                  } else {
                    sgemm(true, false, CK, P, Cout, 1, Wt.p, CK, gy, P, 0, pc.baseAddress!, P)
                    map.scatterAdd(UnsafePointer(pc.baseAddress!), C: Cin, into: DX.p + n * inPlane)
                  }
                }
              }
            }
          }
        } }
      } } }
      if weight.requiresGrad {
        weight.withGrad { gw in for l in 0..<lanes { for i in 0..<(Cout * CK) { gw[i] += dW[l * Cout * CK + i] } } }
      }
      if x.requiresGrad { x.withGrad { gx in for i in 0..<dX.count { gx[i] += dX[i] } } }
      if let bias, bias.requiresGrad {
        bias.withGrad { gb in for n in 0..<N { for o in 0..<Cout { var s: Float = 0; for p in 0..<P { s += g[(n * Cout + o) * P + p] }; gb[o] += s } } }
      }
    }
  }

  // MARK: - Public convolutions

  /// 1-D convolution (cross-correlation) with zero padding, PyTorch `Conv1d` semantics.
  /// Shapes: x (N, Cin, L), weight (Cout, Cin, k), bias (Cout) → (N, Cout, L'),
  /// L' = ⌊(L + 2·padding − k)/stride⌋ + 1.
  public func conv1d(_ weight: Tensor, _ bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
    precondition(rank == 3 && weight.rank == 3 && weight.shape[1] == shape[1], "conv1d: x \(shape) must be (N,Cin,L) and weight \(weight.shape) (Cout,Cin,k)")
    let map = ConvMap.conv(H: 1, W: shape[2], kh: 1, kw: weight.shape[2], sh: 1, sw: stride, ph: 0, pw: padding, circular: false)
    return Tensor.convForward(self, weight, bias, map: map, outShape: [shape[0], weight.shape[0], map.Ws])
  }

  /// Cylindrical 2-D convolution (CylConv): circular padding (ka−1)/2 along the angle A (last
  /// axis), zero padding (kz−1)/2 along the depth Z when `padZ`, then a strided cross-correlation
  /// with bias: y[o,z,a] = b[o] + Σ W[o,c,i,j]·xpad[c, z·sz+i, a·sa+j].
  /// Shapes: x (N, Cin, Z, A), weight (Cout, Cin, kz, ka), bias (Cout) → (N, Cout, Z', A') with
  /// Z' = ⌊(Z + 2pz − kz)/sz⌋ + 1, A' = ⌊(A + 2pa − ka)/sa⌋ + 1.
  public func cylConv2d(_ weight: Tensor, _ bias: Tensor?, stride: (z: Int, a: Int) = (1, 1), padZ: Bool) -> Tensor {
    precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1], "cylConv2d: x \(shape) must be (N,Cin,Z,A) and weight \(weight.shape) (Cout,Cin,kz,ka)")
    let kz = weight.shape[2], ka = weight.shape[3]
    let map = ConvMap.conv(H: shape[2], W: shape[3], kh: kz, kw: ka, sh: stride.z, sw: stride.a,
                           ph: padZ ? (kz - 1) / 2 : 0, pw: (ka - 1) / 2, circular: true)
    return Tensor.convForward(self, weight, bias, map: map, outShape: [shape[0], weight.shape[0], map.Hs, map.Ws])
  }

  /// Cylindrical transposed 2-D convolution (CylConvT), calovq_facts.md §2.1: a transposed conv
  /// with stride (sz, sa), Z padding pz = (kz−1)/2 and Z output padding sz−1 when `padZ`, no angular
  /// padding; the last ka−sa angular columns are added onto the first ones (the wrap, not centred:
  /// input bin a, tap j lands on (a·sa + j) mod (A·sa)); then the bias.
  /// Shapes: x (N, Cin, Z, A), weight (Cin, Cout, kz, ka), bias (Cout) → (N, Cout, Z', A·sa),
  /// Z' = (Z−1)·sz − 2pz + kz + opz. Requires kz ≥ sz and ka ≥ sa.
  public func cylConvTranspose2d(_ weight: Tensor, _ bias: Tensor?, stride: (z: Int, a: Int) = (1, 1), padZ: Bool) -> Tensor {
    precondition(rank == 4 && weight.rank == 4 && weight.shape[0] == shape[1], "cylConvTranspose2d: x \(shape) must be (N,Cin,Z,A) and weight \(weight.shape) (Cin,Cout,kz,ka)")
    let kz = weight.shape[2], ka = weight.shape[3]
    precondition(kz >= stride.z && ka >= stride.a, "cylConvTranspose2d needs kernel ≥ stride (kernel \(kz)×\(ka), stride \(stride))")
    if stride == (1, 1) {
      // Gather form: y = W' ⋆ x with W' (Cout, Cin, kz, ka) = W permuted; the permute is recorded,
      // so the weight gradient flows back through it.
      let map = ConvMap.convTransposeAsGather(Z: shape[2], A: shape[3], kz: kz, ka: ka, pz: padZ ? (kz - 1) / 2 : 0)
      return Tensor.convForward(self, weight.permuted([1, 0, 2, 3]), bias, map: map, outShape: [shape[0], weight.shape[1], map.Hs, map.Ws])
    }
    let map = ConvMap.convTranspose(Z: shape[2], A: shape[3], kz: kz, ka: ka, sz: stride.z, sa: stride.a,
                                    pz: padZ ? (kz - 1) / 2 : 0, opz: padZ ? stride.z - 1 : 0)
    let x = self
    let N = shape[0], Cin = shape[1], Cout = weight.shape[1], CK = Cout * kz * ka
    let P = map.Hs * map.Ws, outPlane = Cout * map.Hb * map.Wb
    var y = [Float](repeating: 0, count: N * outPlane)
    x.withData { px in weight.withData { pw in y.withUnsafeMutableBufferPointer { py in
      let X = SendableConstPtr(px), Wt = SendableConstPtr(pw), Y = SendablePtr(py.baseAddress!)
      parallelChunks(N, work: 2 * N * Cin * CK * P) { _, r in
        var col = [Float](repeating: 0, count: CK * P)
        col.withUnsafeMutableBufferPointer { pc in
          for n in r {
            // cols (Cout·kz·ka × P) = Wᵀ (CK×Cin) · x_n (Cin×P), then scatter onto the output grid.
            sgemm(true, false, CK, P, Cin, 1, Wt.p, CK, X.p + n * Cin * P, P, 0, pc.baseAddress!, P)
            map.scatterAdd(UnsafePointer(pc.baseAddress!), C: Cout, into: Y.p + n * outPlane)
          }
        }
      }
      if let bias {
        let plane = map.Hb * map.Wb
        bias.withData { pb in for n in 0..<N { for o in 0..<Cout { let d = py.baseAddress! + (n * Cout + o) * plane; for p in 0..<plane { d[p] += pb[o] } } } }
      }
    } } }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result([N, Cout, map.Hb, map.Wb], y, inputs: inputs) { out in
      let g = out.grad!
      let lanes = Swift.min(Compute.lanes, N)
      var dW = [Float](repeating: 0, count: weight.requiresGrad ? lanes * Cin * CK : 0)
      var dX = [Float](repeating: 0, count: x.requiresGrad ? x.count : 0)
      x.withData { px in weight.withData { pw in g.withUnsafeBufferPointer { pg in
        dW.withUnsafeMutableBufferPointer { pdw in dX.withUnsafeMutableBufferPointer { pdx in
          let X = SendableConstPtr(px), Wt = SendableConstPtr(pw), G = SendableConstPtr(pg.baseAddress!)
          // (Decide by the flags: an empty array may still report a base address.)
          let DW = weight.requiresGrad ? SendablePtr(pdw.baseAddress!) : nil
          let DX = x.requiresGrad ? SendablePtr(pdx.baseAddress!) : nil
          parallelChunks(N, work: 4 * N * Cin * CK * P) { lane, r in
            var col = [Float](repeating: 0, count: CK * P)
            col.withUnsafeMutableBufferPointer { pc in
              for n in r {
                // dcols (CK×P) = gather(dY_n); dX_n (Cin×P) += W (Cin×CK) · dcols; dW += x_n · dcolsᵀ
                map.gather(G.p + n * outPlane, C: Cout, into: pc.baseAddress!)
                let dc = UnsafePointer(pc.baseAddress!)
                if let DX { sgemm(false, false, Cin, P, CK, 1, Wt.p, CK, dc, P, 1, DX.p + n * Cin * P, P) }
                if let DW { sgemm(false, true, Cin, CK, P, 1, X.p + n * Cin * P, P, dc, P, 1, DW.p + lane * Cin * CK, CK) }
              }
            }
          }
        } }
      } } }
      if weight.requiresGrad {
        weight.withGrad { gw in for l in 0..<lanes { for i in 0..<(Cin * CK) { gw[i] += dW[l * Cin * CK + i] } } }
      }
      if x.requiresGrad { x.withGrad { gx in for i in 0..<dX.count { gx[i] += dX[i] } } }
      if let bias, bias.requiresGrad {
        let plane = map.Hb * map.Wb
        bias.withGrad { gb in for n in 0..<N { for o in 0..<Cout { var s: Float = 0; for p in 0..<plane { s += g[(n * Cout + o) * plane + p] }; gb[o] += s } } }
      }
    }
  }
}

// MARK: - Naive twins (direct loops from the formulas; the specification for the tests)

/// Direct CylConv: x (N,Cin,Z,A), w (Cout,Cin,kz,ka), b (Cout) → (N,Cout,Z',A'). Double accumulation.
public func cylConv2dNaive(x: [Float], xShape: [Int], w: [Float], wShape: [Int], b: [Float]?, stride: (z: Int, a: Int), padZ: Bool) -> (y: [Float], shape: [Int]) {
  let (N, Cin, Z, A) = (xShape[0], xShape[1], xShape[2], xShape[3])
  let (Cout, kz, ka) = (wShape[0], wShape[2], wShape[3])
  let pz = padZ ? (kz - 1) / 2 : 0, pa = (ka - 1) / 2
  let Zo = (Z + 2 * pz - kz) / stride.z + 1, Ao = (A + 2 * pa - ka) / stride.a + 1
  var y = [Float](repeating: 0, count: N * Cout * Zo * Ao)
  for n in 0..<N { for o in 0..<Cout { for z in 0..<Zo { for a in 0..<Ao {
    var s = Double(b?[o] ?? 0)
    for c in 0..<Cin { for i in 0..<kz { for j in 0..<ka {
      let zi = z * stride.z + i - pz
      if zi < 0 || zi >= Z { continue }
      let ai = ((a * stride.a + j - pa) % A + A) % A
      s += Double(w[((o * Cin + c) * kz + i) * ka + j]) * Double(x[((n * Cin + c) * Z + zi) * A + ai])
    } } }
    y[((n * Cout + o) * Zo + z) * Ao + a] = Float(s)
  } } } }
  return (y, [N, Cout, Zo, Ao])
}

/// Direct CylConvT from the facts' closed form: out[o, z·sz − pz + i, (a·sa + j) mod (A·sa)] +=
/// W[c,o,i,j]·x[c,z,a]; then bias. x (N,Cin,Z,A), w (Cin,Cout,kz,ka) → (N,Cout,Z',A·sa).
public func cylConvTranspose2dNaive(x: [Float], xShape: [Int], w: [Float], wShape: [Int], b: [Float]?, stride: (z: Int, a: Int), padZ: Bool) -> (y: [Float], shape: [Int]) {
  let (N, Cin, Z, A) = (xShape[0], xShape[1], xShape[2], xShape[3])
  let (Cout, kz, ka) = (wShape[1], wShape[2], wShape[3])
  let pz = padZ ? (kz - 1) / 2 : 0, opz = padZ ? stride.z - 1 : 0
  let Zo = (Z - 1) * stride.z - 2 * pz + kz + opz, Ao = A * stride.a
  var acc = [Double](repeating: 0, count: N * Cout * Zo * Ao)
  for n in 0..<N { for c in 0..<Cin { for z in 0..<Z { for a in 0..<A { for o in 0..<Cout { for i in 0..<kz { for j in 0..<ka {
    let zo = z * stride.z - pz + i
    if zo < 0 || zo >= Zo { continue }
    let ao = (a * stride.a + j) % Ao
    acc[((n * Cout + o) * Zo + zo) * Ao + ao] += Double(w[((c * Cout + o) * kz + i) * ka + j]) * Double(x[((n * Cin + c) * Z + z) * A + a])
  } } } } } } }
  var y = acc.map { Float($0) }
  if let b { for n in 0..<N { for o in 0..<Cout { for p in 0..<(Zo * Ao) { y[(n * Cout + o) * Zo * Ao + p] += b[o] } } } }
  return (y, [N, Cout, Zo, Ao])
}

/// Direct PyTorch Conv1d: x (N,Cin,L), w (Cout,Cin,k), b (Cout) → (N,Cout,L'), zero padding.
public func conv1dNaive(x: [Float], xShape: [Int], w: [Float], wShape: [Int], b: [Float]?, stride: Int, padding: Int) -> (y: [Float], shape: [Int]) {
  let (N, Cin, L) = (xShape[0], xShape[1], xShape[2])
  let (Cout, k) = (wShape[0], wShape[2])
  let Lo = (L + 2 * padding - k) / stride + 1
  var y = [Float](repeating: 0, count: N * Cout * Lo)
  for n in 0..<N { for o in 0..<Cout { for l in 0..<Lo {
    var s = Double(b?[o] ?? 0)
    for c in 0..<Cin { for j in 0..<k {
      let li = l * stride + j - padding
      if li >= 0 && li < L { s += Double(w[(o * Cin + c) * k + j]) * Double(x[(n * Cin + c) * L + li]) }
    } }
    y[(n * Cout + o) * Lo + l] = Float(s)
  } } }
  return (y, [N, Cout, Lo])
}
