// Fast, tape-free decode path of a stage-1 model (`Stage1Model.decode` is its naive twin and gives
// the same unit pixels up to Float rounding; Stage1InferenceTests compares them).
//
// Where the speed comes from (performance_notes.md):
// - Per-code tables: the decoder input at a latent position is post_quant_conv(codebook[k]) plus the
//   condition, and the first convolution is linear in it, so each tap's contribution is a table
//   row T[tap][k] (K × taps × Cout floats, built once). The first conv becomes row additions, and
//   post_quant_conv disappears.
// - Channels-last activations (N, Z, A, C) and convolutions as one GEMM over the output positions
//   of many showers, instead of one small GEMM per shower.
// - OpenBLAS single-threaded, showers split over the cores, buffers allocated once per lane.
import CaloTensor
import Dispatch
import Foundation

/// An immutable inference copy of a `Stage1Model`'s decoder. Thread-safe (read-only after init).
///
/// ```swift
/// let dec = Stage1Decoder(model: model)!          // nil for an architecture it does not cover
/// let u = dec.decode(codes: codes, energies: e)     // same as model.decode(codes:energies:)
/// ```
public final class Stage1Decoder: @unchecked Sendable {
  /// The configuration of the model this was built from.
  public let config: Stage1Config
  /// Latent positions L per shower.
  public let latentCount: Int
  let voxels: Int
  let net: Net

  enum Op {
    case gather(GatherConv, InferenceActivation)
    case scatter(ScatterConvT, InferenceActivation)
    case resample(AngularResample)
    case zPad(Int, Int)
    case zCrop(Int, Int)
  }

  struct Hybrid {
    let L, pad, c0: Int
    let table: [Float]       // (k, K, c0): tap j of code k through conv0's data channels
    let condRows: [Float]    // (15, L, c0): conv0 bias + condition taps valid at position l
    let convs: [Conv1dK3]    // conv1 … (kernel 3, Winograd F(4,3))
    let mlp: [(w: [Float], b: [Float], nin: Int, nout: Int)]    // w (out, in), PyTorch layout
    let segments: [Int]
    let k: Int
  }

  struct Conv {
    let zL, aL: Int                 // latent grid
    let first: GatherConv           // geometry and bias of the first layer (weights unused)
    let table: [Float]              // (taps, K, Cout)
    let condW: [Float]              // (taps, Cout): weight of the condition channel
    let ops: [Op]                   // layers after the first, then the final 1×1 conv
    let zCrop: (Int, Int)           // output rows removed (outputZCrop, then the ds2 input padding)
    let softmaxHead: Bool           // ds2 global: softmax; else relu → expm1 → normalise
    let perLayer: Bool              // normalise each Z layer (layer-wise) instead of the whole shower
    let channels: Int               // Rb
    let maxPlane: Int               // largest activation per shower (floats)
    let maxScratch: Int             // scratch floats per shower-chunk unit (see decodeConv)
  }

  enum Net {
    case hybrid(Hybrid)
    case conv(Conv)
  }

  /// Rows of output positions per GEMM block in gather convolutions.
  static func blockRows(_ ck: Int) -> Int { Swift.max(64, 131_072 / Swift.max(ck, 1)) }

  /// Copies and re-lays-out the decoder weights of `model`; nil when the architecture is not one
  /// this path covers (a conv decoder whose first layer is not a stride-1 convolution).
  public init?(model: Stage1Model) {
    _ = InferenceKernels.blasSingleThreaded
    config = model.config
    latentCount = model.latentCount
    voxels = model.config.voxels
    let K = model.config.codebookSize, D = model.config.codeDim
    let cb = model.vq.codebook.data
    switch model.nets {
    case let .hybrid(_, dec, _):
      guard case let .hybrid(a) = model.config.arch else { return nil }
      let zC = a.zChannels, L = a.positions, cd = a.condDim
      // post_quant_conv of every code: (K, zC)
      let pq = Stage1Decoder.linearRows(cb, rows: K, nin: D, w: model.postW.data, b: model.postB.data, nout: zC)
      let w0 = dec.convs[0].weight, c0 = w0.shape[0], k = w0.shape[2], pad = (k - 1) / 2
      let w0d = w0.data, b0 = dec.convs[0].bias!.data
      var table = [Float](repeating: 0, count: k * K * c0)
      for j in 0..<k {
        var wj = [Float](repeating: 0, count: c0 * zC)   // (c0, zC) data part of tap j
        for o in 0..<c0 { for c in 0..<zC { wj[o * zC + c] = w0d[(o * (zC + cd) + c) * k + j] } }
        let t = Stage1Decoder.linearRows(pq, rows: K, nin: zC, w: wj, b: nil, nout: c0)
        for i in 0..<(K * c0) { table[j * K * c0 + i] = t[i] }
      }
      let emb = dec.emb.weight.data
      var condRows = [Float](repeating: 0, count: 15 * L * c0)
      for cls in 0..<15 { for l in 0..<L { for o in 0..<c0 {
        var s = Double(b0[o])
        for j in 0..<k where l + j - pad >= 0 && l + j - pad < L {
          for e in 0..<cd { s += Double(w0d[(o * (zC + cd) + zC + e) * k + j]) * Double(emb[cls * cd + e]) }
        }
        condRows[(cls * L + l) * c0 + o] = Float(s)
      } } }
      precondition(k == 3, "Stage1Decoder: the ds1 decoder convolutions have kernel 3 (got \(k))")
      var convs: [Conv1dK3] = []
      for cv in dec.convs.dropFirst() {
        let s = cv.weight.shape, wd = cv.weight.data
        precondition(s[2] == k, "Stage1Decoder: ds1 decoder convolutions must share one kernel size")
        var p = [Float](repeating: 0, count: s[0] * s[1] * k)
        for o in 0..<s[0] { for c in 0..<s[1] { for j in 0..<k { p[(j * s[1] + c) * s[0] + o] = wd[(o * s[1] + c) * k + j] } } }
        convs.append(Conv1dK3(weight: p, bias: cv.bias!.data, cin: s[1], cout: s[0]))
      }
      // First MLP layer: permute its input columns from channel-major (c·L + l) to our (l·Cl + c).
      var mlp: [(w: [Float], b: [Float], nin: Int, nout: Int)] = []
      let cl = convs.last!.cout
      for (i, lin) in (dec.mlp + [dec.last]).enumerated() {
        let s = lin.weight.shape, wd = lin.weight.data
        var w = wd
        if i == 0 {
          for o in 0..<s[0] { for c in 0..<cl { for l in 0..<L { w[o * s[1] + l * cl + c] = wd[o * s[1] + c * L + l] } } }
        }
        mlp.append((w, lin.bias!.data, s[1], s[0]))
      }
      net = .hybrid(Hybrid(L: L, pad: pad, c0: c0, table: table, condRows: condRows, convs: convs, mlp: mlp,
                           segments: dec.segments ?? [voxels], k: k))

    case let .conv(_, dec, _):
      guard case let .conv(a) = model.config.arch, let firstLayer = dec.layers.first else { return nil }
      let zC = a.zChannels, zL = model.latentShape[0], aL = model.latentShape[1]
      let first: GatherConv
      switch firstLayer {
      case let .conv(m) where m.stride == (1, 1):
        first = GatherConv.conv(weight: m.weight.data, shape: m.weight.shape, bias: m.bias.data, stride: (1, 1),
                                padZ: m.padZ, Z: zL, A: aL)
      case let .convT(m) where m.stride == (1, 1):
        first = GatherConv.transposedStride1(weight: m.weight.data, shape: m.weight.shape, bias: m.bias.data,
                                             padZ: m.padZ, Z: zL, A: aL)
      default: return nil
      }
      guard first.cin == zC + 1 else { return nil }
      let pq = Stage1Decoder.linearRows(cb, rows: K, nin: D, w: model.postW.data, b: model.postB.data, nout: zC)
      let taps = first.taps, co = first.cout
      var table = [Float](repeating: 0, count: taps * K * co)
      var condW = [Float](repeating: 0, count: taps * co)
      first.weight.withUnsafeBufferPointer { pw in
        pq.withUnsafeBufferPointer { pp in
          table.withUnsafeMutableBufferPointer { pt in
            for t in 0..<taps {
              // (K, zC) · (zC, Cout): rows t·Cin ..< t·Cin + zC of the packed weight.
              InferenceKernels.gemm(pp.baseAddress!, lda: zC, pw.baseAddress! + t * first.cin * co, transB: false, ldb: co,
                                    pt.baseAddress! + t * K * co, ldc: co, M: K, N: co, K: zC)
            }
          }
        }
        for t in 0..<taps { for o in 0..<co { condW[t * co + o] = pw[(t * first.cin + zC) * co + o] } }
      }
      var ops: [Op] = []
      var Z = first.zOut, A = first.aOut, C = co
      var maxPlane = Z * A * C, maxScratch = 0
      func track(_ z: Int, _ a: Int, _ c: Int) { (Z, A, C) = (z, a, c); maxPlane = Swift.max(maxPlane, z * a * c) }
      for l in dec.layers.dropFirst() {
        switch l {
        case let .conv(m):
          let g = GatherConv.conv(weight: m.weight.data, shape: m.weight.shape, bias: m.bias.data, stride: m.stride,
                                  padZ: m.padZ, Z: Z, A: A)
          ops.append(.gather(g, .silu)); maxScratch = Swift.max(maxScratch, g.scratchFloats(blockRows: Stage1Decoder.blockRows(g.taps * g.cin)))
          track(g.zOut, g.aOut, g.cout)
        case let .convT(m):
          if m.stride == (1, 1) {
            let g = GatherConv.transposedStride1(weight: m.weight.data, shape: m.weight.shape, bias: m.bias.data,
                                                 padZ: m.padZ, Z: Z, A: A)
            ops.append(.gather(g, .silu)); maxScratch = Swift.max(maxScratch, g.scratchFloats(blockRows: Stage1Decoder.blockRows(g.taps * g.cin)))
            track(g.zOut, g.aOut, g.cout)
          } else {
            let s = ScatterConvT(weight: m.weight.data, shape: m.weight.shape, bias: m.bias.data, stride: m.stride,
                                 padZ: m.padZ, Z: Z, A: A)
            ops.append(.scatter(s, .silu)); maxScratch = Swift.max(maxScratch, s.scratchFloats)
            track(s.zOut, s.aOut, s.cout)
          }
        case let .fftDown(n):
          ops.append(.resample(AngularResample(aIn: A, aOut: A - n, matrix: fftResampleMatrix(from: A, to: A - n))))
          track(Z, A - n, C)
        case let .fftInterp(n):
          ops.append(.resample(AngularResample(aIn: A, aOut: A + n, matrix: fftResampleMatrix(from: A, to: A + n))))
          track(Z, A + n, C)
        case let .zPad(p, q): ops.append(.zPad(p, q)); track(Z + p + q, A, C)
        case let .zCrop(p, q): ops.append(.zCrop(p, q)); track(Z - p - q, A, C)
        }
      }
      let fin = GatherConv.conv(weight: dec.final.weight.data, shape: dec.final.weight.shape, bias: dec.final.bias.data,
                                stride: (1, 1), padZ: false, Z: Z, A: A)
      ops.append(.gather(fin, .none))
      track(fin.zOut, fin.aOut, fin.cout)
      var crop = (a.outputZCrop[0], a.outputZCrop[1])
      if model.decoderOutputPadded { crop = (crop.0 + a.inputZPad[0], crop.1 + a.inputZPad[1]) }
      let ds2Global = model.config.dataset == .ds2 && model.config.norm == .global
      precondition((Z - crop.0 - crop.1) * A * fin.cout == voxels,
                   "Stage1Decoder: decoder output \(Z)×\(A)×\(fin.cout) cropped by \(crop) does not match \(voxels) voxels")
      net = .conv(Conv(zL: zL, aL: aL, first: first, table: table, condW: condW, ops: ops, zCrop: crop,
                       softmaxHead: ds2Global, perLayer: model.config.norm == .layerwise, channels: fin.cout,
                       maxPlane: maxPlane, maxScratch: maxScratch))
    }
  }

  /// y (rows, nout) = x (rows, nin) · wᵀ (+ b); w (nout, nin) PyTorch layout.
  static func linearRows(_ x: [Float], rows: Int, nin: Int, w: [Float], b: [Float]?, nout: Int) -> [Float] {
    var y = [Float](repeating: 0, count: rows * nout)
    x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
      InferenceKernels.gemm(px.baseAddress!, lda: nin, pw.baseAddress!, transB: true, ldb: nin, py.baseAddress!, ldc: nout,
                            M: rows, N: nout, K: nin)
      if let b { b.withUnsafeBufferPointer { InferenceKernels.biasAct(py.baseAddress!, $0.baseAddress!, rows: rows, nout, ld: nout, .none) } }
    } } }
    return y
  }

  /// Floats of activation per shower (sizes the per-lane chunks).
  var planeFloats: Int {
    switch net {
    case let .hybrid(h): return (h.L + 2 * h.pad) * Swift.max(h.c0, h.convs.map(\.cout).max() ?? 0) + voxels
    case let .conv(c): return c.maxPlane
    }
  }

  /// Showers per chunk: activations of about 4 MB per buffer.
  var chunkSize: Int { Swift.max(1, Swift.min(256, (1 << 20) / Swift.max(planeFloats, 1))) }

  /// Code grids → unit pixels (N·P) in CaloChallenge order, as `Stage1Model.decode`.
  /// - Parameters:
  ///   - codes: (N·L) codes in 0..<K, row-major over the latent grid.
  ///   - energies: (N) incident energies in MeV (the condition).
  ///   - lanes: cores to split the showers over.
  public func decode(codes: [Int32], energies: [Double], lanes: Int = Compute.lanes) -> [Float] {
    // Explicit traps: the module is compiled with -Ounchecked and a bad code would read outside the tables.
    guard codes.count == energies.count * latentCount else {
      fatalError("Stage1Decoder.decode: \(codes.count) codes for \(energies.count) showers × L=\(latentCount)")
    }
    guard codes.allSatisfy({ $0 >= 0 && Int($0) < config.codebookSize }) else {
      fatalError("Stage1Decoder.decode: codes must be in 0..<\(config.codebookSize)")
    }
    let N = energies.count
    var out = [Float](repeating: 0, count: N * voxels)
    if N == 0 { return out }
    let chunk = chunkSize
    let nl = Swift.max(1, Swift.min(lanes, N))
    codes.withUnsafeBufferPointer { pc in out.withUnsafeMutableBufferPointer { po in
      let C = UncheckedPointers(codes: pc.baseAddress!, out: po.baseAddress!)
      let work = { (lane: Int) in
        let lo = N * lane / nl, hi = N * (lane + 1) / nl
        guard lo < hi else { return }
        self.decodeRange(lo..<hi, chunk: Swift.min(chunk, hi - lo), codes: C.codes, energies: energies, out: C.out)
      }
      if nl == 1 { work(0); return }
      withoutActuallyEscaping(work) { w in
        let box = DecodeLaneBox(w)
        DispatchQueue.concurrentPerform(iterations: nl) { box.f($0) }
      }
    } }
    return out
  }

  /// Decodes showers `range` in chunks with buffers owned by this call.
  func decodeRange(_ range: Range<Int>, chunk: Int, codes: UnsafePointer<Int32>, energies: [Double],
                   out: UnsafeMutablePointer<Float>) {
    switch net {
    case let .hybrid(h): decodeHybrid(h, range, chunk: chunk, codes: codes, energies: energies, out: out)
    case let .conv(c): decodeConv(c, range, chunk: chunk, codes: codes, energies: energies, out: out)
    }
  }

  // MARK: - ds1

  func decodeHybrid(_ h: Hybrid, _ range: Range<Int>, chunk: Int, codes: UnsafePointer<Int32>, energies: [Double],
                    out: UnsafeMutablePointer<Float>) {
    let L = h.L, p = h.pad, Lp = L + 2 * p, K = config.codebookSize
    let width = Swift.max(h.c0, h.convs.map(\.cout).max() ?? 0)
    let mlpWidth = h.mlp.map(\.nout).max() ?? 0
    let winograd = Conv1dK3.winogradFits(L)
    let scratchCount = winograd ? (h.convs.map { $0.scratchFloats(showers: chunk, L: L) }.max() ?? 0) : 0
    let a = UnsafeMutablePointer<Float>.allocate(capacity: chunk * Lp * width)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: chunk * Lp * width)
    let m1 = UnsafeMutablePointer<Float>.allocate(capacity: chunk * mlpWidth)
    let m2 = UnsafeMutablePointer<Float>.allocate(capacity: chunk * mlpWidth)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, scratchCount))
    defer { a.deallocate(); b.deallocate(); m1.deallocate(); m2.deallocate(); scratch.deallocate() }
    h.table.withUnsafeBufferPointer { tab in h.condRows.withUnsafeBufferPointer { cr in
      var s0 = range.lowerBound
      while s0 < range.upperBound {
        let m = Swift.min(chunk, range.upperBound - s0)
        // conv0 from the tables: row (s, l + p) = cond/bias row + Σ_j T_j[code(l + j − p)], ReLU.
        var c = h.c0
        a.initialize(repeating: 0, count: m * Lp * c)
        for s in 0..<m {
          let cls = Stage1Preprocessing.ds1Class(energies[s0 + s])
          let cs = codes + (s0 + s) * L
          for l in 0..<L {
            let d = a + (s * Lp + l + p) * c
            d.update(from: cr.baseAddress! + (cls * L + l) * c, count: c)
            for j in 0..<h.k {
              let q = l + j - p
              if q < 0 || q >= L { continue }
              let t = tab.baseAddress! + (j * K + Int(cs[q])) * c
              for o in 0..<c { d[o] += t[o] }
            }
            InferenceKernels.activate(d, c, .relu)
          }
        }
        // conv1…: Winograd F(4,3) GEMMs over all output quads of the chunk (else the shifted GEMMs).
        var x = a, y = b
        for cv in h.convs {
          if winograd { cv.apply(x, showers: m, L: L, y, scratch: scratch) } else { cv.applyDirect(x, showers: m, L: L, y) }
          c = cv.cout
          swap(&x, &y)
        }
        // MLP on the unpadded rows (stride Lp·c), weights permuted to position-major input.
        var inp = UnsafePointer(x + p * c), ld = Lp * c
        var dst = m1
        for (i, lin) in h.mlp.enumerated() {
          let last = i == h.mlp.count - 1
          let target = last ? out + s0 * voxels : dst
          lin.w.withUnsafeBufferPointer { pw in
            InferenceKernels.gemm(inp, lda: ld, pw.baseAddress!, transB: true, ldb: lin.nin, target, ldc: lin.nout,
                                  M: m, N: lin.nout, K: lin.nin)
          }
          lin.b.withUnsafeBufferPointer { InferenceKernels.biasAct(target, $0.baseAddress!, rows: m, lin.nout, ld: lin.nout, last ? .none : .relu) }
          inp = UnsafePointer(target); ld = lin.nout
          dst = dst == m1 ? m2 : m1
        }
        for s in 0..<m {
          var o = out + (s0 + s) * voxels
          for len in h.segments { InferenceKernels.softmax(o, len); o += len }
        }
        s0 += m
      }
    } }
  }

  // MARK: - ds2 / ds3

  func decodeConv(_ c: Conv, _ range: Range<Int>, chunk: Int, codes: UnsafePointer<Int32>, energies: [Double],
                  out: UnsafeMutablePointer<Float>) {
    let K = config.codebookSize, L = latentCount, f = c.first
    let a = UnsafeMutablePointer<Float>.allocate(capacity: chunk * c.maxPlane)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: chunk * c.maxPlane)
    // Gather scratch is per GEMM block; scatter scratch is per shower.
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, c.maxScratch))
    defer { a.deallocate(); b.deallocate(); scratch.deallocate() }
    c.table.withUnsafeBufferPointer { tab in c.condW.withUnsafeBufferPointer { cw in f.bias.withUnsafeBufferPointer { fb in
      f.rowMap.withUnsafeBufferPointer { rm in f.colMap.withUnsafeBufferPointer { cm in
        var s0 = range.lowerBound
        while s0 < range.upperBound {
          let m = Swift.min(chunk, range.upperBound - s0)
          // First layer from the tables, SiLU.
          let co = f.cout
          for s in 0..<m {
            let cond = Stage1Preprocessing.logEnergyCondition(energies[s0 + s])
            let cs = codes + (s0 + s) * L
            for zo in 0..<f.zOut { for ao in 0..<f.aOut {
              let d = a + ((s * f.zOut + zo) * f.aOut + ao) * co
              d.update(from: fb.baseAddress!, count: co)
              for i in 0..<f.kz {
                let z = Int(rm[i * f.zOut + zo])
                if z < 0 { continue }
                for j in 0..<f.ka {
                  let t = i * f.ka + j
                  let code = Int(cs[z * c.aL + Int(cm[j * f.aOut + ao])])
                  let row = tab.baseAddress! + (t * K + code) * co, w = cw.baseAddress! + t * co
                  for o in 0..<co { d[o] += row[o] + cond * w[o] }
                }
              }
              InferenceKernels.activate(d, co, .silu)
            } }
          }
          var x = a, y = b
          var Z = f.zOut, A = f.aOut, C = co
          for op in c.ops {
            switch op {
            case let .gather(g, act):
              g.apply(x, n: m, y, scratch: scratch, blockRows: Stage1Decoder.blockRows(g.taps * g.cin), act: act)
              (Z, A, C) = (g.zOut, g.aOut, g.cout)
            case let .scatter(sc, act):
              sc.apply(x, n: m, y, scratch: scratch, act: act)
              (Z, A, C) = (sc.zOut, sc.aOut, sc.cout)
            case let .resample(r):
              r.apply(x, blocks: m * Z, channels: C, y)
              A = r.aOut
            case let .zPad(p, q):
              let zn = Z + p + q, row = A * C
              for s in 0..<m {
                let d = y + s * zn * row
                d.initialize(repeating: 0, count: p * row)
                (d + p * row).update(from: x + s * Z * row, count: Z * row)
                (d + (p + Z) * row).initialize(repeating: 0, count: q * row)
              }
              Z = zn
            case let .zCrop(p, q):
              let zn = Z - p - q, row = A * C
              for s in 0..<m { (y + s * zn * row).update(from: x + (s * Z + p) * row, count: zn * row) }
              Z = zn
            }
            swap(&x, &y)
          }
          // Head on the cropped rows, written straight into the CaloChallenge (z, a, r) order.
          let row = A * C, zn = Z - c.zCrop.0 - c.zCrop.1
          for s in 0..<m {
            let o = out + (s0 + s) * voxels
            o.update(from: x + (s * Z + c.zCrop.0) * row, count: zn * row)
            if c.softmaxHead {
              InferenceKernels.softmax(o, zn * row)
              continue
            }
            for i in 0..<(zn * row) { let v = o[i] > 0 ? o[i] : 0; o[i] = InferenceKernels.expm1NonNegative(v) }
            let groups = c.perLayer ? zn : 1, glen = c.perLayer ? row : zn * row
            for g in 0..<groups {
              let p = o + g * glen
              var t: Float = 0
              for i in 0..<glen { t += p[i] }
              let inv = 1 / Swift.max(t, 1e-9)
              for i in 0..<glen { p[i] *= inv }
            }
          }
          s0 += m
        }
      } }
    } } }
  }
}

/// Base pointers handed to the lanes of `Stage1Decoder.decode` (each lane writes disjoint showers).
private struct UncheckedPointers: @unchecked Sendable {
  let codes: UnsafePointer<Int32>
  let out: UnsafeMutablePointer<Float>
}

/// Carries the lane closure into `concurrentPerform` (lanes write disjoint showers; the call joins).
private struct DecodeLaneBox: @unchecked Sendable {
  let f: (Int) -> Void
  init(_ f: @escaping (Int) -> Void) { self.f = f }
}
