// Kernel throughput measurements for `calovq bench kernels`: GEMM peak and the Calo-VQ-sized
// convolution / attention / FFT kernels, forward and backward, in GFLOP/s. Lives here (not in the
// executable) so the command stays a thin printer.
import Dispatch
import Foundation

/// One measured kernel.
public struct KernelBenchResult: Sendable {
  /// What was measured, e.g. "ds3 dec convT 32→32 k33 @45×50".
  public let name: String
  /// "fwd", "bwd" or "gemm".
  public let pass: String
  /// Useful floating-point operations per call (multiply–adds × 2; the masked half of causal
  /// attention scores is counted, since the kernel computes it).
  public let flops: Double
  /// Best wall time per call over the repetitions, seconds.
  public let seconds: Double
  public var gflops: Double { flops / seconds / 1e9 }
}

/// The benchmark suite. All inputs are seeded; nothing is asserted (speed is reported, not tested).
public enum KernelBench {
  /// Best-of-`reps` wall time of `body` after one warm-up call.
  public static func time(reps: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<Swift.max(reps, 1) {
      let t0 = DispatchTime.now().uptimeNanoseconds
      body()
      best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
  }

  /// Large square sgemm, single BLAS thread ("1 core") and split across `Compute.lanes` cores.
  public static func gemmPeak(size n: Int = 1024, reps: Int = 5) -> [KernelBenchResult] {
    var rng = RNG(seed: 1)
    let a = (0..<(n * n)).map { _ in rng.uniform(-1, 1) }, b = (0..<(n * n)).map { _ in rng.uniform(-1, 1) }
    var c = [Float](repeating: 0, count: n * n)
    let flops = 2 * Double(n) * Double(n) * Double(n)
    var out: [KernelBenchResult] = []
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
      let t1 = time(reps: reps) { sgemm(false, false, n, n, n, 1, pa.baseAddress!, n, pb.baseAddress!, n, 0, pc.baseAddress!, n) }
      out.append(KernelBenchResult(name: "sgemm \(n)³, 1 core", pass: "gemm", flops: flops, seconds: t1))
      let t2 = time(reps: reps) { sgemmParallel(false, false, n, n, n, 1, pa.baseAddress!, n, pb.baseAddress!, n, 0, pc.baseAddress!, n) }
      out.append(KernelBenchResult(name: "sgemm \(n)³, \(Compute.lanes) cores", pass: "gemm", flops: flops, seconds: t2))
    } } }
    return out
  }

  /// A convolution case: (input C, Z, A), output channels, kernel, stride, padZ, transposed?
  public struct ConvCase: Sendable {
    public let name: String
    public let cin: Int, z: Int, a: Int, cout: Int
    public let kz: Int, ka: Int, sz: Int, sa: Int
    public let padZ: Bool, transposed: Bool
  }

  /// The decoder convolutions of ds2 and ds3 (calovq_facts.md §2.4, §2.5) plus the largest encoder ones.
  public static let caloVQConvs: [ConvCase] = [
    ConvCase(name: "ds2 dec convT 129→256 @17×4", cin: 129, z: 17, a: 4, cout: 256, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds2 dec convT 256→128 @19×8", cin: 256, z: 19, a: 8, cout: 128, kz: 3, ka: 3, sz: 1, sa: 1, padZ: true, transposed: true),
    ConvCase(name: "ds2 dec convT 128→64 @19×8", cin: 128, z: 19, a: 8, cout: 64, kz: 3, ka: 3, sz: 1, sa: 1, padZ: true, transposed: true),
    ConvCase(name: "ds2 dec convT 64→32 k53 s31 @19×16", cin: 64, z: 19, a: 16, cout: 32, kz: 5, ka: 3, sz: 3, sa: 1, padZ: true, transposed: true),
    ConvCase(name: "ds2 dec convT 32→16 @57×16", cin: 32, z: 57, a: 16, cout: 16, kz: 3, ka: 3, sz: 1, sa: 1, padZ: true, transposed: true),
    ConvCase(name: "ds3 dec convT 257→128 @13×14", cin: 257, z: 13, a: 14, cout: 128, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec convT 128→128 @15×22", cin: 128, z: 15, a: 22, cout: 128, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec convT 128→64 @17×22", cin: 128, z: 17, a: 22, cout: 64, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec convT 64→64 @19×34", cin: 64, z: 19, a: 34, cout: 64, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec convT 64→32 s21 @21×34", cin: 64, z: 21, a: 34, cout: 32, kz: 3, ka: 3, sz: 2, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec convT 32→32 @43×50", cin: 32, z: 43, a: 50, cout: 32, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: true),
    ConvCase(name: "ds3 dec conv1×1 32→18 @45×50", cin: 32, z: 45, a: 50, cout: 18, kz: 1, ka: 1, sz: 1, sa: 1, padZ: false, transposed: false),
    ConvCase(name: "ds3 enc conv 19→32 @48×50", cin: 19, z: 48, a: 50, cout: 32, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: false),
    ConvCase(name: "ds3 enc conv 128→256 @15×14", cin: 128, z: 15, a: 14, cout: 256, kz: 3, ka: 3, sz: 1, sa: 1, padZ: false, transposed: false),
  ]

  /// Forward and backward of one convolution case at batch `n`.
  public static func conv(_ c: ConvCase, batch n: Int, reps: Int) -> [KernelBenchResult] {
    var rng = RNG(seed: 2)
    let x = Tensor.uniform([n, c.cin, c.z, c.a], -1, 1, rng: &rng, requiresGrad: true)
    let wShape = c.transposed ? [c.cin, c.cout, c.kz, c.ka] : [c.cout, c.cin, c.kz, c.ka]
    let w = Tensor.uniform(wShape, -0.1, 0.1, rng: &rng, requiresGrad: true)
    let b = Tensor.zeros([c.cout], requiresGrad: true)
    func run() -> Tensor {
      c.transposed ? x.cylConvTranspose2d(w, b, stride: (c.sz, c.sa), padZ: c.padZ) : x.cylConv2d(w, b, stride: (c.sz, c.sa), padZ: c.padZ)
    }
    let probe = withNoGrad { run() }
    // Multiply–adds: every (input or output) position × Cin × Cout × taps.
    let positions = c.transposed ? Double(c.z * c.a) : Double(probe.shape[2] * probe.shape[3])
    let fwdFlops = 2 * Double(n) * positions * Double(c.cin * c.cout * c.kz * c.ka)
    let tf = time(reps: reps) { _ = withNoGrad { run() } }
    // Backward: dX and dW, each one GEMM of the forward's size.
    let seed = [Float](repeating: 1, count: probe.count)
    var tb = Double.infinity
    for _ in 0...Swift.max(reps, 1) {
      x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
      let y = run()
      let t0 = DispatchTime.now().uptimeNanoseconds
      y.backward(seed: seed)
      tb = Swift.min(tb, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return [
      KernelBenchResult(name: c.name, pass: "fwd", flops: fwdFlops, seconds: tf),
      KernelBenchResult(name: c.name, pass: "bwd", flops: 2 * fwdFlops, seconds: tb),
    ]
  }

  /// Causal attention of GPT size (B, T, C, heads), forward and backward.
  public static func attention(name: String, B: Int, T: Int, C: Int, heads: Int, reps: Int) -> [KernelBenchResult] {
    var rng = RNG(seed: 3)
    let q = Tensor.uniform([B, T, C], -1, 1, rng: &rng, requiresGrad: true)
    let k = Tensor.uniform([B, T, C], -1, 1, rng: &rng, requiresGrad: true)
    let v = Tensor.uniform([B, T, C], -1, 1, rng: &rng, requiresGrad: true)
    let fwd = 4 * Double(B) * Double(T) * Double(T) * Double(C)   // QKᵀ and PV
    let tf = time(reps: reps) { _ = withNoGrad { Tensor.causalAttention(q: q, k: k, v: v, nHead: heads) } }
    let seed = [Float](repeating: 1, count: B * T * C)
    var tb = Double.infinity
    for _ in 0...Swift.max(reps, 1) {
      q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
      let y = Tensor.causalAttention(q: q, k: k, v: v, nHead: heads)
      let t0 = DispatchTime.now().uptimeNanoseconds
      y.backward(seed: seed)
      tb = Swift.min(tb, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return [KernelBenchResult(name: name, pass: "fwd", flops: fwd, seconds: tf),
            KernelBenchResult(name: name, pass: "bwd", flops: 2 * fwd, seconds: tb)]
  }

  /// Linear layer (GPT MLP-sized), forward and backward.
  public static func linear(name: String, rows: Int, inF: Int, outF: Int, reps: Int) -> [KernelBenchResult] {
    var rng = RNG(seed: 4)
    let x = Tensor.uniform([rows, inF], -1, 1, rng: &rng, requiresGrad: true)
    let w = Tensor.uniform([outF, inF], -0.1, 0.1, rng: &rng, requiresGrad: true)
    let b = Tensor.zeros([outF], requiresGrad: true)
    let fwd = 2 * Double(rows) * Double(inF) * Double(outF)
    let tf = time(reps: reps) { _ = withNoGrad { x.linear(w, b) } }
    let seed = [Float](repeating: 1, count: rows * outF)
    var tb = Double.infinity
    for _ in 0...Swift.max(reps, 1) {
      x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
      let y = x.linear(w, b)
      let t0 = DispatchTime.now().uptimeNanoseconds
      y.backward(seed: seed)
      tb = Swift.min(tb, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return [KernelBenchResult(name: name, pass: "fwd", flops: fwd, seconds: tf),
            KernelBenchResult(name: name, pass: "bwd", flops: 2 * fwd, seconds: tb)]
  }
}
