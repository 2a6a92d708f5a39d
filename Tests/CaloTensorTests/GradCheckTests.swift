// Finite-difference gradient checks (central differences, loss accumulated in Double) for every
// differentiable op, at odd shapes and strides. eps = 1e-2 on Float32 inputs of size O(1): the
// truncation error (≈ eps²·f‴/6) and the rounding error (≈ 1e-7·|f|/eps) both stay well below the
// tolerance atol 1e-3 + rtol 1e-2·|numeric|. Non-smooth ops get inputs ≥ 0.05 away from their kinks.
import CaloTensor
import XCTest

/// Random leaf with requiresGrad; values in [lo, hi).
func leaf(_ shape: [Int], _ rng: inout RNG, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
  Tensor.uniform(shape, lo, hi, rng: &rng, requiresGrad: true)
}

/// Random leaf whose values are at least `gap` away from 0 (for relu/abs/leaky kinks).
func awayFromZero(_ shape: [Int], _ rng: inout RNG, gap: Float = 0.05) -> Tensor {
  let t = leaf(shape, &rng)
  for i in 0..<t.count where Swift.abs(t.data[i]) < gap { t.data[i] = t.data[i] < 0 ? -gap - 0.01 : gap + 0.01 }
  return t
}

func assertGrad(_ inputs: [Tensor], eps: Float = 1e-2, atol: Double = 1e-3, rtol: Double = 1e-2,
                file: StaticString = #filePath, line: UInt = #line, _ f: () -> Tensor) {
  let r = gradCheck(inputs, eps: eps, atol: atol, rtol: rtol, f)
  XCTAssertTrue(r.passed, r.description, file: file, line: line)
}

final class GradCheckTests: XCTestCase {
  var rng = RNG(seed: 1337)

  func testBroadcastArithmetic() {
    let a = leaf([3, 1, 4], &rng), b = leaf([2, 4], &rng), c = leaf([3, 2, 4], &rng, 0.5, 1.5)
    assertGrad([a, b]) { a + b }
    assertGrad([a, b]) { a - b }
    assertGrad([a, b]) { a * b }
    assertGrad([a, c]) { a / c }
    assertGrad([c, b]) { c / b.abs() + 0 }   // b ≠ 0 almost surely; abs only to keep the sign fixed
    assertGrad([a]) { a * a }                 // same tensor on both sides accumulates twice
    let s = leaf([5], &rng), m = leaf([3, 5], &rng)
    assertGrad([s, m]) { m + s }              // bias-style trailing broadcast
    assertGrad([s, m]) { Tensor.maximum(m, s + 3) - Tensor.maximum(m, s - 3) }
  }

  func testScalarOps() {
    let x = leaf([2, 3], &rng)
    assertGrad([x]) { (x + 2) * 3 - 1 }
    assertGrad([x]) { 2 - x / 4 }
    assertGrad([x]) { -x }
  }

  func testUnaryMaths() {
    let x = leaf([4, 3], &rng), p = leaf([7], &rng, 0.2, 2)
    assertGrad([x]) { x.exp() }
    assertGrad([p]) { p.log() }
    assertGrad([p]) { p.log1p() }
    assertGrad([x]) { x.expm1() }
    assertGrad([x]) { x.square() }
    assertGrad([p]) { p.sqrt() }
    assertGrad([x]) { x.tanh() }
    assertGrad([x]) { x.sigmoid() }
    assertGrad([p]) { p.pow(1.7) }
    let k = awayFromZero([5, 3], &rng)
    assertGrad([k]) { k.abs() }
  }

  func testActivations() {
    let k = awayFromZero([3, 7], &rng)
    assertGrad([k]) { k.relu() }
    assertGrad([k]) { k.leakyRelu(0.2) }
    let x = leaf([3, 7], &rng, -3, 3)
    assertGrad([x]) { x.silu() }
    assertGrad([x]) { x.gelu() }
  }

  func testReductions() {
    let x = leaf([3, 4, 5], &rng)
    assertGrad([x]) { x.sum() }
    assertGrad([x]) { x.mean() }
    assertGrad([x]) { x.sum(axis: 1) }
    assertGrad([x]) { x.mean(axis: -1, keepDim: true) }
    // max: distinct values ≥ 0.05 apart so ±eps cannot change the arg-max.
    var vals = (0..<60).map { Float($0) * 0.05 - 1.5 }
    vals.shuffle(using: &rng)
    let m = Tensor.parameter([3, 4, 5], data: vals, name: "m")
    assertGrad([m]) { m.max(axis: 0) }
    assertGrad([m]) { m.max(axis: 2, keepDim: true) }
  }

  func testMovement() {
    let x = leaf([2, 3, 4], &rng), y = leaf([2, 5, 4], &rng)
    assertGrad([x]) { x.reshaped([4, -1]) * x.reshaped([4, 6]) }
    let r = Tensor.uniform([4, 2, 3], -1, 1, rng: &rng)
    assertGrad([x]) { x.permuted([2, 0, 1]) * r }
    assertGrad([x]) { x.transposed() }
    assertGrad([x, y]) { Tensor.concat([x, y, x], axis: 1) }
    assertGrad([x]) { x.narrow(axis: 2, start: 1, length: 2) }
    assertGrad([y]) { let p = y.split(axis: 1, sizes: [2, 3]); return p[0].sum(axis: 1) * p[1].sum(axis: 1) }
    assertGrad([x]) { x.padded(axis: 1, before: 2, after: 3) }
    let c = leaf([2, 1, 1], &rng)
    assertGrad([c]) { c.expanded(to: [2, 3, 4]) }
  }

  func testMatmulAllTransposes() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      let a = leaf(ta ? [5, 3] : [3, 5], &rng), b = leaf(tb ? [4, 5] : [5, 4], &rng)
      assertGrad([a, b]) { a.matmul(b, transA: ta, transB: tb) }
      let ab = leaf(ta ? [2, 5, 3] : [2, 3, 5], &rng), bb = leaf(tb ? [2, 4, 5] : [2, 5, 4], &rng)
      assertGrad([ab, bb]) { ab.matmul(bb, transA: ta, transB: tb) }
      assertGrad([ab, b]) { ab.matmul(b, transA: ta, transB: tb) }   // shared right factor
    }
  }

  func testLinear() {
    let x = leaf([2, 3, 5], &rng), w = leaf([7, 5], &rng), b = leaf([7], &rng)
    assertGrad([x, w, b]) { x.linear(w, b) }
    assertGrad([x, w]) { x.linear(w, nil) }
  }

  func testSoftmaxFamily() {
    let x = leaf([3, 9], &rng, -2, 2)
    assertGrad([x]) { x.softmax() }
    assertGrad([x]) { x.softmax(segments: [2, 4, 3]) }
    assertGrad([x]) { x.logSoftmax() }
    assertGrad([x]) { x.logSoftmax(segments: [5, 1, 3]) }
    assertGrad([x]) { x.crossEntropy(targets: [0, 8, 3]) }
  }

  func testLayerNormEmbeddingDropout() {
    let x = leaf([2, 3, 6], &rng), w = leaf([6], &rng), b = leaf([6], &rng)
    assertGrad([x, w, b]) { x.layerNorm(weight: w, bias: b) }
    let e = leaf([5, 3], &rng)
    assertGrad([e]) { Tensor.embedding(e, indices: [4, 0, 4, 2], indexShape: [2, 2]) }
    let d = leaf([4, 6], &rng)
    assertGrad([d]) { var r = RNG(seed: 9); return d.dropout(0.3, training: true, rng: &r) }
  }

  func testAttention() {
    let q = leaf([2, 5, 6], &rng), k = leaf([2, 5, 6], &rng), v = leaf([2, 5, 6], &rng)
    assertGrad([q, k, v]) { Tensor.causalAttention(q: q, k: k, v: v, nHead: 3) }
    let q2 = leaf([2, 2, 6], &rng)   // Tq < Tk (key/value cache)
    assertGrad([q2, k, v]) { Tensor.causalAttention(q: q2, k: k, v: v, nHead: 2) }
    assertGrad([q, k, v]) {
      var r = RNG(seed: 4)
      return Tensor.causalAttention(q: q, k: k, v: v, nHead: 2, dropout: 0.25, training: true, rng: &r)
    }
  }

  func testConv1d() {
    let x = leaf([2, 3, 7], &rng), w = leaf([4, 3, 3], &rng), b = leaf([4], &rng)
    assertGrad([x, w, b]) { x.conv1d(w, b, stride: 1, padding: 1) }
    assertGrad([x, w, b]) { x.conv1d(w, b, stride: 2, padding: 0) }
    let w1 = leaf([5, 3, 1], &rng)
    assertGrad([x, w1]) { x.conv1d(w1, nil) }   // 1×1 identity-gather path
  }

  func testCylConv2d() {
    let x = leaf([2, 3, 7, 6], &rng)
    let cases: [(kz: Int, ka: Int, s: (z: Int, a: Int), padZ: Bool)] = [
      (3, 3, (1, 1), true), (5, 3, (3, 1), true), (3, 3, (2, 1), false), (3, 3, (1, 2), false), (2, 2, (1, 1), true), (1, 1, (1, 1), false),
    ]
    for c in cases {
      let w = leaf([4, 3, c.kz, c.ka], &rng), b = leaf([4], &rng)
      assertGrad([x, w, b]) { x.cylConv2d(w, b, stride: c.s, padZ: c.padZ) }
    }
  }

  func testCylConvTranspose2d() {
    let x = leaf([2, 3, 5, 4], &rng)
    let cases: [(kz: Int, ka: Int, s: (z: Int, a: Int), padZ: Bool)] = [
      (3, 3, (1, 1), true), (3, 3, (1, 1), false), (5, 3, (3, 1), true), (3, 3, (2, 1), false), (3, 3, (1, 2), false), (1, 1, (1, 1), false),
    ]
    for c in cases {
      let w = leaf([3, 2, c.kz, c.ka], &rng), b = leaf([2], &rng)
      assertGrad([x, w, b]) { x.cylConvTranspose2d(w, b, stride: c.s, padZ: c.padZ) }
    }
  }

  func testFFTResample() {
    let x = leaf([2, 3, 16], &rng)
    assertGrad([x]) { x.fftDown(8) }
    assertGrad([x]) { x.fftInterp(4) }
    let o = leaf([2, 5], &rng)      // odd input length
    assertGrad([o]) { o.fftResample(to: 4) }
  }

  func testVectorQuantizeLoss() {
    // The VQ loss uses stop-gradients, so its tape gradient is *not* the derivative of its value;
    // check it against the closed form instead: dL/dz = 2(z − z_q)/(M·D) (commitment, weight 1),
    // dL/de_k = β·2·Σ_{rows with code k}(z_q − z)/(M·D) (codebook term).
    let cb = Tensor.parameter([4, 3], data: [0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3], name: "cb")
    let z = Tensor.parameter([5, 3], data: [0.2, -0.1, 0.3, 2.7, 0.2, 0.1, 0.1, 3.2, -0.2, -0.3, 0.1, 2.6, 2.9, 0.3, -0.2], name: "z")
    let q = vectorQuantize(z, codebook: cb, beta: 0.25)
    XCTAssertEqual(q.indices, [0, 1, 2, 3, 1])
    var expLoss = 0.0
    var dz = [Double](repeating: 0, count: 15), de = [Double](repeating: 0, count: 12)
    for m in 0..<5 {
      for d in 0..<3 {
        let diff = Double(z.data[m * 3 + d]) - Double(cb.data[q.indices[m] * 3 + d])
        expLoss += 1.25 * diff * diff / 15
        dz[m * 3 + d] = 2 * diff / 15
        de[q.indices[m] * 3 + d] += 0.25 * 2 * -diff / 15
      }
    }
    XCTAssertEqual(Double(q.loss.item), expLoss, accuracy: 1e-6)
    q.loss.backward()
    for i in 0..<15 { XCTAssertEqual(Double(z.grad![i]), dz[i], accuracy: 1e-6) }
    for i in 0..<12 { XCTAssertEqual(Double(cb.grad![i]), de[i], accuracy: 1e-6) }
    // Straight-through: quantized has z_q's values; d quantized/dz is the identity; no codebook grad.
    z.zeroGrad(); cb.zeroGrad()
    let q2 = vectorQuantize(z, codebook: cb)
    for m in 0..<5 { for d in 0..<3 { XCTAssertEqual(q2.quantized.data[m * 3 + d], cb.data[q2.indices[m] * 3 + d], accuracy: 1e-6) } }
    let seed = (0..<15).map { Float($0) - 7 }
    q2.quantized.backward(seed: seed)
    XCTAssertEqual(z.grad!, seed)
    XCTAssertNil(cb.grad)
  }
}

final class PartialGradTests: XCTestCase {
  /// Backward when only some inputs need gradients (frozen weights, constant inputs).
  func testConvWithFrozenInputs() {
    var rng = RNG(seed: 5)
    let x = Tensor.uniform([3, 2, 5, 4], -1, 1, rng: &rng)                     // constant input
    let w = Tensor.uniform([4, 2, 3, 3], -1, 1, rng: &rng, requiresGrad: true)
    assertGrad([w]) { x.cylConv2d(w, nil, padZ: true) }
    let xg = Tensor.uniform([3, 2, 5, 4], -1, 1, rng: &rng, requiresGrad: true)
    let wf = Tensor.uniform([4, 2, 3, 3], -1, 1, rng: &rng)                    // frozen weight
    assertGrad([xg]) { xg.cylConv2d(wf, nil, padZ: true) }
    let wt = Tensor.uniform([2, 4, 3, 3], -1, 1, rng: &rng)
    assertGrad([xg]) { xg.cylConvTranspose2d(wt, nil, padZ: true) }
    let q = Tensor.uniform([1, 4, 4], -1, 1, rng: &rng, requiresGrad: true), kv = Tensor.uniform([1, 4, 4], -1, 1, rng: &rng)
    assertGrad([q]) { Tensor.causalAttention(q: q, k: kv, v: kv, nHead: 2) }
  }
}
