// Every fast kernel against its loop-only twin, on random data and odd shapes, plus the
// hand-worked semantics of the cylindrical layers and the FFT resampling closed form.
@testable import CaloTensor
import Foundation
import XCTest

func assertClose(_ a: [Float], _ b: [Float], tol: Float, file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(a.count, b.count, "length", file: file, line: line)
  var worst: Float = 0
  for i in 0..<Swift.min(a.count, b.count) { worst = Swift.max(worst, Swift.abs(a[i] - b[i]) / (1 + Swift.abs(b[i]))) }
  XCTAssertLessThanOrEqual(worst, tol, "max relative difference \(worst)", file: file, line: line)
}

final class KernelTests: XCTestCase {
  var rng = RNG(seed: 42)

  func rand(_ n: Int) -> [Float] { (0..<n).map { _ in rng.uniform(-1, 1) } }

  func testSgemmMatchesNaiveAllTransposes() {
    for (M, N, K) in [(1, 1, 1), (7, 5, 3), (33, 17, 65), (300, 130, 70)] {   // last one is split across cores
      for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = rand(M * K), b = rand(K * N), c0 = rand(M * N)
        var fast = c0, slow = c0
        let lda = ta ? M : K, ldb = tb ? K : N
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
          fast.withUnsafeMutableBufferPointer { pc in sgemmParallel(ta, tb, M, N, K, 0.5, pa.baseAddress!, lda, pb.baseAddress!, ldb, 2, pc.baseAddress!, N) }
          slow.withUnsafeMutableBufferPointer { pc in sgemmNaive(ta, tb, M, N, K, 0.5, pa.baseAddress!, lda, pb.baseAddress!, ldb, 2, pc.baseAddress!, N) }
        } }
        assertClose(fast, slow, tol: 1e-5)
      }
    }
  }

  func testCylConvMatchesNaive() {
    for (kz, ka, s, padZ) in [(3, 3, (1, 1), true), (5, 3, (3, 1), true), (3, 3, (2, 1), false), (3, 2, (1, 2), true), (1, 1, (1, 1), false)] {
      let xs = [5, 4, 11, 9], ws = [6, 4, kz, ka]
      let x = rand(xs.reduce(1, *)), w = rand(ws.reduce(1, *)), b = rand(6)
      let fast = Tensor(xs, data: x).cylConv2d(Tensor(ws, data: w), Tensor([6], data: b), stride: s, padZ: padZ)
      let slow = cylConv2dNaive(x: x, xShape: xs, w: w, wShape: ws, b: b, stride: s, padZ: padZ)
      XCTAssertEqual(fast.shape, slow.shape)
      assertClose(fast.data, slow.y, tol: 1e-5)
    }
  }

  func testCylConvTransposeMatchesNaive() {
    for (kz, ka, s, padZ) in [(3, 3, (1, 1), true), (3, 3, (1, 1), false), (5, 3, (3, 1), true), (3, 3, (2, 1), false), (3, 3, (1, 2), true), (4, 4, (2, 2), false)] {
      let xs = [5, 4, 7, 6], ws = [4, 3, kz, ka]
      let x = rand(xs.reduce(1, *)), w = rand(ws.reduce(1, *)), b = rand(3)
      let fast = Tensor(xs, data: x).cylConvTranspose2d(Tensor(ws, data: w), Tensor([3], data: b), stride: s, padZ: padZ)
      let slow = cylConvTranspose2dNaive(x: x, xShape: xs, w: w, wShape: ws, b: b, stride: s, padZ: padZ)
      XCTAssertEqual(fast.shape, slow.shape)
      assertClose(fast.data, slow.y, tol: 1e-5)
    }
  }

  func testConv1dMatchesNaive() {
    for (k, s, p) in [(3, 1, 1), (3, 2, 0), (1, 1, 0), (4, 3, 2)] {
      let xs = [5, 3, 13], ws = [4, 3, k]
      let x = rand(xs.reduce(1, *)), w = rand(ws.reduce(1, *)), b = rand(4)
      let fast = Tensor(xs, data: x).conv1d(Tensor(ws, data: w), Tensor([4], data: b), stride: s, padding: p)
      let slow = conv1dNaive(x: x, xShape: xs, w: w, wShape: ws, b: b, stride: s, padding: p)
      XCTAssertEqual(fast.shape, slow.shape)
      assertClose(fast.data, slow.y, tol: 1e-5)
    }
  }

  /// Backward of the multi-core paths (work above the threading threshold) by finite differences.
  func testParallelConvBackward() {
    var r = RNG(seed: 3)
    let x = Tensor.uniform([6, 6, 8, 8], -1, 1, rng: &r, requiresGrad: true)
    let w = Tensor.uniform([8, 6, 3, 3], -1, 1, rng: &r, requiresGrad: true)
    let b = Tensor.uniform([8], -1, 1, rng: &r, requiresGrad: true)
    XCTAssertTrue(gradCheck([x, w, b], maxElements: 60) { x.cylConv2d(w, b, padZ: true) }.passed)
    let wt = Tensor.uniform([6, 8, 3, 3], -1, 1, rng: &r, requiresGrad: true)
    XCTAssertTrue(gradCheck([x, wt, b], maxElements: 60) { x.cylConvTranspose2d(wt, b, stride: (2, 1), padZ: true) }.passed)
  }

  func testAttentionMatchesNaive() {
    for (B, Tq, Tk, C, H) in [(2, 7, 7, 12, 3), (3, 2, 9, 8, 1), (4, 33, 33, 64, 2)] {
      let q = rand(B * Tq * C), k = rand(B * Tk * C), v = rand(B * Tk * C)
      let fast = Tensor.causalAttention(q: Tensor([B, Tq, C], data: q), k: Tensor([B, Tk, C], data: k), v: Tensor([B, Tk, C], data: v), nHead: H)
      assertClose(fast.data, causalAttentionNaive(q: q, k: k, v: v, B: B, Tq: Tq, Tk: Tk, C: C, nHead: H), tol: 1e-5)
    }
  }

  func testAttentionIsCausal() {
    // Changing a later key/value must not change earlier outputs.
    let q = Tensor([1, 5, 4], data: rand(20)), k = Tensor([1, 5, 4], data: rand(20)), v = Tensor([1, 5, 4], data: rand(20))
    let y1 = Tensor.causalAttention(q: q, k: k, v: v, nHead: 2)
    k.data[4 * 4] += 1; v.data[4 * 4 + 1] += 1
    let y2 = Tensor.causalAttention(q: q, k: k, v: v, nHead: 2)
    XCTAssertEqual(Array(y1.data[0..<16]), Array(y2.data[0..<16]))
    XCTAssertNotEqual(Array(y1.data[16..<20]), Array(y2.data[16..<20]))
  }

  func testFFTMatchesNaive() {
    for (ain, aout) in [(16, 8), (8, 4), (4, 8), (50, 34), (14, 22), (5, 4), (6, 6)] {
      let x = rand(3 * ain)
      let fast = Tensor([3, ain], data: x).fftResample(to: aout)
      assertClose(fast.data, fftResampleNaive(x, rowLength: ain, to: aout), tol: 2e-5)
    }
  }

  func testFFTResamplePureCosinesClosedForm() {
    // x_n = cos(2πfn/Ain + φ) has X_f = (Ain/2)e^{iφ}, so it resamples to r·cos(2πfm/Aout + φ),
    // r = Ain/Aout, for 0 < f < Aout/2. At the output Nyquist f = Aout/2 only the real part
    // survives with weight 1: (r/2)·cos φ·(−1)^m. At the input Nyquist f = Ain/2 the input is
    // cos φ·(−1)^n with X_f = Ain·cos φ, which becomes an ordinary bin: 2r·cos φ·cos(2πfm/Aout).
    for (ain, aout) in [(16, 8), (50, 34), (4, 8), (22, 34)] {
      for f in 0...(Swift.min(ain, aout) / 2) {
        let phi = 0.3
        let x = (0..<ain).map { Float(cos(2 * Double.pi * Double(f * $0) / Double(ain) + phi)) }
        let y = Tensor([ain], data: x).fftResample(to: aout)
        let r = Double(ain) / Double(aout)
        let expected: [Float] = (0..<aout).map { m in
          if f == 0 { return Float(r * cos(phi)) }
          if 2 * f == aout { return Float(r / 2 * cos(phi) * (m % 2 == 0 ? 1 : -1)) }
          if 2 * f == ain { return Float(2 * r * cos(phi) * cos(2 * Double.pi * Double(f * m) / Double(aout))) }
          return Float(r * cos(2 * Double.pi * Double(f * m) / Double(aout) + phi))
        }
        assertClose(y.data, expected, tol: 1e-5)
      }
    }
    // The facts' examples: a constant 1 becomes 2 when 16 → 8 and 0.5 when 4 → 8.
    XCTAssertEqual(Tensor([16], repeating: 1).fftDown(8).data, [Float](repeating: 2, count: 8).map { $0 }, accuracy: 1e-6)
    XCTAssertEqual(Tensor([4], repeating: 1).fftInterp(4).data, [Float](repeating: 0.5, count: 8), accuracy: 1e-6)
  }

  func testCylConvEquivariantUnderAngularRoll() {
    // Roll the input by one angular bin → the output rolls by one bin (stride 1 along A).
    let xs = [2, 3, 6, 10]
    let x = rand(xs.reduce(1, *))
    let w = Tensor([4, 3, 3, 3], data: rand(108)), b = Tensor([4], data: rand(4))
    var rolled = x
    for row in 0..<(x.count / 10) { for a in 0..<10 { rolled[row * 10 + (a + 1) % 10] = x[row * 10 + a] } }
    let y = Tensor(xs, data: x).cylConv2d(w, b, padZ: true)
    let yr = Tensor(xs, data: rolled).cylConv2d(w, b, padZ: true)
    var yRolled = y.data
    for row in 0..<(y.count / 10) { for a in 0..<10 { yRolled[row * 10 + (a + 1) % 10] = y.data[row * 10 + a] } }
    assertClose(yr.data, yRolled, tol: 1e-6)
    // Same for the transposed conv.
    let wt = Tensor([3, 4, 3, 3], data: rand(108))
    let t = Tensor(xs, data: x).cylConvTranspose2d(wt, nil, padZ: true)
    let tr = Tensor(xs, data: rolled).cylConvTranspose2d(wt, nil, padZ: true)
    var tRolled = t.data
    for row in 0..<(t.count / 10) { for a in 0..<10 { tRolled[row * 10 + (a + 1) % 10] = t.data[row * 10 + a] } }
    assertClose(tr.data, tRolled, tol: 1e-6)
  }

  func testCylConvCentredAndTransposedWrapHandWorked() {
    // CylConv k=(1,3): y[a] = w0·x[a−1] + w1·x[a] + w2·x[a+1] (mod A) — centred.
    let w = Tensor([1, 1, 1, 3], data: [1, 10, 100])
    let delta = Tensor([1, 1, 1, 5], data: [0, 0, 0, 0, 1])   // delta at a = 4
    XCTAssertEqual(delta.cylConv2d(w, nil, padZ: false).data, [10 * 0 + 1, 0, 0, 100, 10].map { Float($0) })
    // CylConvT k=(1,3), s=1: a delta at i lands on i, i+1, i+2 (mod A) with w0, w1, w2 — NOT centred.
    XCTAssertEqual(delta.cylConvTranspose2d(w, nil, padZ: false).data, [10, 100, 0, 0, 1])
    let d1 = Tensor([1, 1, 1, 5], data: [0, 1, 0, 0, 0])
    XCTAssertEqual(d1.cylConvTranspose2d(w, nil, padZ: false).data, [0, 1, 10, 100, 0])
    // Stride 2 along A (A = 3 → 6): delta at a = 2 lands on 4, 5, 6 mod 6 = 0.
    let d2 = Tensor([1, 1, 1, 3], data: [0, 0, 1])
    XCTAssertEqual(d2.cylConvTranspose2d(w, nil, stride: (1, 2), padZ: false).data, [100, 0, 0, 0, 1, 10])
    // Z: k=(3,1), padZ, stride 1 keeps Z; a delta at z spreads to z−1, z, z+1 with w0, w1, w2.
    let wz = Tensor([1, 1, 3, 1], data: [1, 10, 100])
    let dz = Tensor([1, 1, 4, 1], data: [0, 1, 0, 0])
    XCTAssertEqual(dz.cylConvTranspose2d(wz, nil, padZ: true).data, [1, 10, 100, 0])
    XCTAssertEqual(dz.cylConvTranspose2d(wz, nil, padZ: false).data, [0, 1, 10, 100, 0, 0])
  }

  func testZPadAndCropRoundTrip() {
    let x = Tensor([2, 3, 5, 4], data: rand(120))
    let p = x.padded(axis: 2, before: 4, after: 8)
    XCTAssertEqual(p.shape, [2, 3, 17, 4])
    XCTAssertEqual(p.narrow(axis: 2, start: 4, length: 5).data, x.data)
    XCTAssertEqual(p.narrow(axis: 2, start: 0, length: 4).data.allSatisfy { $0 == 0 }, true)
  }

  func testNearestCodesMatchesNaive() {
    let D = 7, K = 300, M = 700
    let z = rand(M * D), cb = rand(K * D)
    let fast = nearestCodes(Tensor([M, D], data: z), codebook: Tensor([K, D], data: cb))
    let slow = nearestCodesNaive(z, codebook: cb, D: D)
    // Float32 GEMM vs Double distances may only disagree on exact near-ties.
    let mismatches = zip(fast, slow).filter { $0 != $1 }.count
    XCTAssertLessThanOrEqual(mismatches, 1)
    XCTAssertEqual(nearestCodes(Tensor([2, 1], data: [0.5, 2]), codebook: Tensor([3, 1], data: [0, 1, 2])), [0, 2])  // tie → first
  }

  func testSoftmaxSegmentsSumToOneAndCrossEntropyValue() {
    let x = Tensor([2, 6], data: rand(12))
    let s = x.softmax(segments: [1, 2, 3])
    for r in 0..<2 {
      XCTAssertEqual(s.data[r * 6], 1, accuracy: 1e-6)
      XCTAssertEqual(s.data[r * 6 + 1] + s.data[r * 6 + 2], 1, accuracy: 1e-6)
      XCTAssertEqual(s.data[(r * 6 + 3)..<(r * 6 + 6)].reduce(0, +), 1, accuracy: 1e-6)
    }
    let ce = x.crossEntropy(targets: [2, 5]).item
    let ls = x.logSoftmax().data
    XCTAssertEqual(ce, -(ls[2] + ls[11]) / 2, accuracy: 1e-6)
  }

  func testGeluSiluValues() {
    let x = Tensor([3], data: [-1, 0.5, 2])
    let g = x.gelu().data
    for (i, v) in [-1.0, 0.5, 2.0].enumerated() { XCTAssertEqual(Double(g[i]), 0.5 * v * (1 + erf(v / 2.0.squareRoot())), accuracy: 1e-6) }
    let s = x.silu().data
    for (i, v) in [-1.0, 0.5, 2.0].enumerated() { XCTAssertEqual(Double(s[i]), v / (1 + exp(-v)), accuracy: 1e-6) }
  }

  func testSeededRNGAndDropoutReproducible() {
    var a = RNG(seed: 7), b = RNG(seed: 7), c = RNG(seed: 8)
    let x = Tensor([1000], repeating: 1)
    let da = x.dropout(0.1, training: true, rng: &a).data, db = x.dropout(0.1, training: true, rng: &b).data
    XCTAssertEqual(da, db)
    XCTAssertNotEqual(da, x.dropout(0.1, training: true, rng: &c).data)
    let kept = da.filter { $0 != 0 }.count
    XCTAssertTrue((850...950).contains(kept), "kept \(kept)")
    XCTAssertEqual(da.filter { $0 != 0 }.first!, 1 / 0.9, accuracy: 1e-6)
    XCTAssertEqual(x.dropout(0.1, training: false, rng: &c).data, x.data)
  }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(a.count, b.count, file: file, line: line)
  for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
