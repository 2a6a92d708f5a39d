// End-to-end: layers + Adam must be able to memorise a toy batch (an MLP and a one-layer
// pre-LN transformer in the minGPT layout), and the optimiser and clipping do what they say.
import CaloNN
import CaloTensor
import XCTest

final class TrainingTests: XCTestCase {
  func testMLPOverfitsToyBatch() {
    var rng = RNG(seed: 1337)
    let ps = ParameterSet()
    let l1 = Linear(ps, "fc1", in: 5, out: 32, rng: &rng)
    let l2 = Linear(ps, "fc2", in: 32, out: 3, rng: &rng)
    let x = Tensor.uniform([16, 5], -1, 1, rng: &rng)
    let targets = (0..<16).map { _ in rng.int(below: 3) }
    let opt = Adam(ps, lr: 1e-2)
    var first: Float = 0, last: Float = 0
    for step in 0..<300 {
      opt.zeroGrad()
      let loss = l2(l1(x).silu()).crossEntropy(targets: targets)
      loss.backward()
      opt.update()
      if step == 0 { first = loss.item }
      last = loss.item
    }
    XCTAssertGreaterThan(first, 0.8)
    XCTAssertLessThan(last, 0.02, "MLP did not memorise the batch (loss \(first) → \(last))")
  }

  func testOneLayerTransformerOverfitsToyBatch() {
    var rng = RNG(seed: 7)
    let (V, T, C, H, B) = (11, 8, 16, 2, 4)
    let ps = ParameterSet()
    let wte = Embedding(ps, "wte", count: V, dim: C, initializer: .normal(std: 0.02), rng: &rng)
    let wpe = ps.make("wpe", [1, T, C], .normal(std: 0.02), rng: &rng)
    let ln1 = LayerNorm(ps, "h.0.ln1", C, rng: &rng), ln2 = LayerNorm(ps, "h.0.ln2", C, rng: &rng)
    let std = Initializer.normal(std: 0.02)
    let q = Linear(ps, "h.0.attn.query", in: C, out: C, weightInit: std, biasInit: .zeros, rng: &rng)
    let k = Linear(ps, "h.0.attn.key", in: C, out: C, weightInit: std, biasInit: .zeros, rng: &rng)
    let v = Linear(ps, "h.0.attn.value", in: C, out: C, weightInit: std, biasInit: .zeros, rng: &rng)
    let proj = Linear(ps, "h.0.attn.proj", in: C, out: C, weightInit: std, biasInit: .zeros, rng: &rng)
    let fc = Linear(ps, "h.0.mlp.fc", in: C, out: 4 * C, weightInit: std, biasInit: .zeros, rng: &rng)
    let fc2 = Linear(ps, "h.0.mlp.proj", in: 4 * C, out: C, weightInit: std, biasInit: .zeros, rng: &rng)
    let lnf = LayerNorm(ps, "ln_f", C, rng: &rng)
    let head = Linear(ps, "head", in: C, out: V, bias: false, weightInit: std, rng: &rng)
    let tokens = (0..<(B * (T + 1))).map { _ in rng.int(below: V) }
    var inputs: [Int] = [], targets: [Int] = []
    for b in 0..<B { inputs += tokens[(b * (T + 1))..<(b * (T + 1) + T)]; targets += tokens[(b * (T + 1) + 1)..<((b + 1) * (T + 1))] }
    let opt = Adam(ps, lr: 3e-3)
    var dropRng = RNG(seed: 1)
    func forward(training: Bool) -> Tensor {
      var x = wte(inputs, shape: [B, T]) + wpe                                   // (B, T, C)
      let h = ln1(x)
      let a = Tensor.causalAttention(q: q(h), k: k(h), v: v(h), nHead: H, dropout: 0.1, training: training, rng: &dropRng)
      x = x + proj(a)
      x = x + fc2(fc(ln2(x)).gelu())
      return head(lnf(x)).reshaped([B * T, V])                                  // (B·T, V)
    }
    var first: Float = 0
    for step in 0..<250 {
      opt.zeroGrad()
      let loss = forward(training: true).crossEntropy(targets: targets)
      if step == 0 { first = loss.item }
      loss.backward()
      ps.clipGradNorm(1.0)
      opt.update()
    }
    let final = withNoGrad { forward(training: false).crossEntropy(targets: targets).item }
    XCTAssertGreaterThan(first, 2.0)   // ≈ ln 11 at init
    XCTAssertLessThan(final, 0.25, "transformer did not memorise the batch (loss \(first) → \(final))")
  }

  func testAdamFirstStepsMatchHandComputation() {
    // With bias correction, step 1 moves each weight by lr·sign(g) (|g| ≫ eps).
    let ps = ParameterSet()
    var rng = RNG(seed: 1)
    let w = ps.make("w", [3], .constant(1), rng: &rng)
    let opt = Adam(ps, lr: 0.1)
    w.grad = [2, -0.5, 0]
    opt.update()
    XCTAssertEqual(w.data[0], 0.9, accuracy: 1e-6)
    XCTAssertEqual(w.data[1], 1.1, accuracy: 1e-6)
    XCTAssertEqual(w.data[2], 1.0, accuracy: 1e-6)
    // Step 2 with the same gradient: m̂ = g, v̂ = g², so again lr·sign(g).
    w.grad = [2, -0.5, 0]
    opt.update()
    XCTAssertEqual(w.data[0], 0.8, accuracy: 1e-5)
    // L2 weight decay adds wd·w to the gradient; AdamW shrinks the weight directly.
    let ps2 = ParameterSet()
    let u = ps2.make("u", [1], .constant(2), rng: &rng)
    let adamw = Adam(ps2, lr: 0.1, weightDecay: 0.5, decoupled: true)
    u.grad = [1]
    adamw.update()
    XCTAssertEqual(u.data[0], 2 - 0.1 * 0.5 * 2 - 0.1, accuracy: 1e-6)
  }

  func testClipGradNormAndZeroGrad() {
    let ps = ParameterSet()
    var rng = RNG(seed: 1)
    let a = ps.make("a", [2], .zeros, rng: &rng), b = ps.make("b", [1], .zeros, rng: &rng)
    a.grad = [3, 0]; b.grad = [4]
    XCTAssertEqual(ps.clipGradNorm(1), 5, accuracy: 1e-6)
    XCTAssertEqual(a.grad![0], 0.6, accuracy: 1e-5)
    XCTAssertEqual(b.grad![0], 0.8, accuracy: 1e-5)
    XCTAssertEqual(ps.clipGradNorm(10), 1, accuracy: 1e-4)   // below the limit: unchanged
    XCTAssertEqual(b.grad![0], 0.8, accuracy: 1e-5)
    ps.zeroGrad()
    XCTAssertNil(a.grad)
    XCTAssertEqual(ps.scalarCount, 3)
    XCTAssertEqual(ps.names, ["a", "b"])
  }

  func testInitializersAreSeededAndBounded() {
    var r1 = RNG(seed: 3), r2 = RNG(seed: 3)
    let x1 = Initializer.xavierUniform(fanIn: 27, fanOut: 54).values(5000, rng: &r1)
    let x2 = Initializer.xavierUniform(fanIn: 27, fanOut: 54).values(5000, rng: &r2)
    XCTAssertEqual(x1, x2)
    let bound = Float((6.0 / 81).squareRoot())
    XCTAssertLessThanOrEqual(x1.map(abs).max()!, bound)
    XCTAssertGreaterThan(x1.map(abs).max()!, 0.95 * bound)
    let n = Initializer.normal(std: 0.02).values(20000, rng: &r1)
    let mean = n.reduce(0, +) / 20000
    let sd = (n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20000).squareRoot()
    XCTAssertEqual(sd, 0.02, accuracy: 0.001)
    let cb = Initializer.uniform(-1 / 1024, 1 / 1024).values(1000, rng: &r1)
    XCTAssertLessThanOrEqual(cb.map(abs).max()!, 1 / 1024)
  }
}
