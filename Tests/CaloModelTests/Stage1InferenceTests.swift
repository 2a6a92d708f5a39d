// The fast decoder (Stage1Decoder) against its naive twin Stage1Model.decode: same unit pixels on
// random weights, random codes and random energies for every dataset/normalisation, batch sizes
// that exercise chunking and both lanes; the inference kernels against direct loops, and the
// Winograd F(4,3) Conv1d of the ds1 decoder against its shifted-GEMM twin.
import CaloGeometry
import CaloTensor
import XCTest

@testable import CaloModel

final class Stage1InferenceTests: XCTestCase {
  /// Random biases too (the presets initialise conv biases to zero, which would hide bias bugs).
  func randomised(_ m: Stage1Model, seed: UInt64) -> Stage1Model {
    var rng = RNG(seed: seed)
    for t in m.generator.tensors where t.rank == 1 {
      t.data = t.data.map { $0 + rng.uniform(-0.2, 0.2) }
    }
    return m
  }

  func check(_ d: DatasetKind, _ norm: NormMode, preset: String, n: Int, lanes: Int, file: StaticString = #filePath, line: UInt = #line) throws {
    let cfg = try Stage1Presets.config(dataset: d, norm: norm, preset: preset)
    let m = randomised(Stage1Model(config: cfg, seed: 11), seed: 5)
    guard let dec = Stage1Decoder(model: m) else { return XCTFail("no fast decoder for \(d) \(norm)", file: file, line: line) }
    var rng = RNG(seed: 3)
    let codes = (0..<(n * m.latentCount)).map { _ in Int32(rng.next() % UInt64(cfg.codebookSize)) }
    let energies = (0..<n).map { _ in pow(2, 8 + 14 * rng.uniformDouble()) }
    let want = m.decode(codes: codes, energies: energies, batchSize: 7)
    let got = dec.decode(codes: codes, energies: energies, lanes: lanes)
    XCTAssertEqual(got.count, want.count, file: file, line: line)
    var maxDiff: Float = 0, maxVal: Float = 0
    for i in 0..<want.count { maxDiff = max(maxDiff, abs(got[i] - want[i])); maxVal = max(maxVal, abs(want[i])) }
    // Unit pixels are ≤ 1; float32 reassociation and the fast exp give ~1e-7 relative differences.
    XCTAssertLessThan(maxDiff, 2e-5 * max(maxVal, 1e-3), "\(d) \(norm) \(preset): max |Δ| \(maxDiff) (max value \(maxVal))",
                      file: file, line: line)
    XCTAssertGreaterThan(maxVal, 0, file: file, line: line)
  }

  func testFastDecoderMatchesNaiveTwinTiny() throws {
    for (d, norm) in [(DatasetKind.ds1Photon, NormMode.layerwise), (.ds1Photon, .global), (.ds1Pion, .layerwise),
                      (.ds2, .global), (.ds2, .layerwise), (.ds3, .global), (.ds3, .layerwise)] {
      try check(d, norm, preset: "tiny", n: 9, lanes: 2)
      try check(d, norm, preset: "tiny", n: 1, lanes: 2)
    }
  }

  func testFastDecoderMatchesNaiveTwinSample() throws {
    // Realistic widths (GEMM blocking, several blocks per layer), one shower and a multi-chunk batch.
    try check(.ds1Photon, .layerwise, preset: "sample", n: 300, lanes: 2)
    try check(.ds2, .global, preset: "sample", n: 3, lanes: 2)
    try check(.ds3, .global, preset: "sample", n: 2, lanes: 1)
  }

  func testSameShowersForAnyLaneCount() throws {
    let m = randomised(Stage1Model(config: try Stage1Presets.config(dataset: .ds2, preset: "tiny"), seed: 2), seed: 9)
    let dec = try XCTUnwrap(Stage1Decoder(model: m))
    var rng = RNG(seed: 8)
    let n = 13
    let codes = (0..<(n * m.latentCount)).map { _ in Int32(rng.next() % 32) }
    let e = (0..<n).map { _ in 1000 + 1e5 * rng.uniformDouble() }
    XCTAssertEqual(dec.decode(codes: codes, energies: e, lanes: 1), dec.decode(codes: codes, energies: e, lanes: 2))
  }

  func testKernelsAgainstDirectLoops() {
    for x: Float in [-90, -20, -1, -1e-3, 0, 1e-4, 0.5, 3, 40] {
      XCTAssertEqual(InferenceKernels.exp(x), Foundation.exp(x), accuracy: 1e-6 * Foundation.exp(x) + 1e-30, "exp(\(x))")
    }
    for x: Float in [0, 1e-6, 5e-3, 9.9e-3, 1e-2, 0.3, 4] {
      XCTAssertEqual(InferenceKernels.expm1NonNegative(x), Foundation.expm1(x), accuracy: 2e-6 * Foundation.expm1(x) + 1e-12, "expm1(\(x))")
    }
    // Strided transposed conv in scatter form against the naive twin of CaloTensor.
    var rng = RNG(seed: 4)
    let xs = [2, 3, 4, 5], ws = [3, 2, 3, 3]
    let x = (0..<xs.reduce(1, *)).map { _ in rng.uniform(-1, 1) }
    let w = (0..<ws.reduce(1, *)).map { _ in rng.uniform(-1, 1) }
    let b: [Float] = [0.3, -0.2]
    for padZ in [false, true] {
      let want = cylConvTranspose2dNaive(x: x, xShape: xs, w: w, wShape: ws, b: b, stride: (2, 1), padZ: padZ)
      let op = ScatterConvT(weight: w, shape: ws, bias: b, stride: (2, 1), padZ: padZ, Z: 4, A: 5)
      XCTAssertEqual([2, op.cout, op.zOut, op.aOut], want.shape)
      // channels-last input
      var xl = [Float](repeating: 0, count: x.count)
      for n in 0..<2 { for c in 0..<3 { for z in 0..<4 { for a in 0..<5 { xl[((n * 4 + z) * 5 + a) * 3 + c] = x[((n * 3 + c) * 4 + z) * 5 + a] } } } }
      var y = [Float](repeating: 0, count: 2 * op.outPlane), s = [Float](repeating: 0, count: op.scratchFloats)
      xl.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in s.withUnsafeMutableBufferPointer { ps in
        op.apply(px.baseAddress!, n: 2, py.baseAddress!, scratch: ps.baseAddress!, act: .none)
      } } }
      for n in 0..<2 { for o in 0..<2 { for z in 0..<op.zOut { for a in 0..<op.aOut {
        XCTAssertEqual(y[((n * op.zOut + z) * op.aOut + a) * 2 + o], want.y[((n * 2 + o) * op.zOut + z) * op.aOut + a], accuracy: 1e-5)
      } } } }
    }
  }

  /// Winograd F(4,3) against the three shifted GEMMs on padded rows (random weights, biases and
  /// inputs, non-zero garbage in the output's pad rows to check they are zeroed), and both against a
  /// direct Double loop. Tolerance of the largest |output|: 1e-5 for Winograd (its transforms scale by
  /// up to 8 and 1/24; ~2e-6 measured at 256 channels), 1e-6 for the shifted GEMMs.
  func testConv1dK3WinogradMatchesDirectTwin() {
    var rng = RNG(seed: 12)
    // The last case has 40 × 8 = 320 output quads: several `blockTiles` blocks and a partial one.
    XCTAssertLessThan(Conv1dK3.blockTiles, 320)
    for (cin, cout, L, m) in [(8, 5, 4, 3), (16, 16, 32, 7), (33, 9, 12, 2), (16, 8, 32, 40), (256, 256, 32, 2)] {
      let Lp = L + 2
      let w = (0..<(3 * cin * cout)).map { _ in rng.uniform(-0.5, 0.5) }, b = (0..<cout).map { _ in rng.uniform(-0.3, 0.3) }
      var x = [Float](repeating: 0, count: m * Lp * cin)
      for s in 0..<m { for l in 1...L { for c in 0..<cin { x[(s * Lp + l) * cin + c] = rng.uniform(-1, 1) } } }
      let conv = Conv1dK3(weight: w, bias: b, cin: cin, cout: cout)
      var ya = [Float](repeating: 7, count: m * Lp * cout), yb = ya
      var scratch = [Float](repeating: 0, count: conv.scratchFloats(showers: m, L: L))
      conv.apply(x, showers: m, L: L, &ya, scratch: &scratch)
      conv.applyDirect(x, showers: m, L: L, &yb)
      var scale: Float = 1e-3
      for v in yb { scale = max(scale, abs(v)) }
      for s in 0..<m {
        for l in 0..<Lp {
          for o in 0..<cout {
            var want = 0.0
            if l > 0 && l <= L {
              want = Double(b[o])
              for j in 0..<3 { for c in 0..<cin { want += Double(x[(s * Lp + l - 1 + j) * cin + c]) * Double(w[(j * cin + c) * cout + o]) } }
              want = max(want, 0)
            }
            let i = (s * Lp + l) * cout + o
            XCTAssertEqual(ya[i], Float(want), accuracy: 1e-5 * scale, "winograd cin \(cin) s \(s) l \(l) o \(o)")
            XCTAssertEqual(yb[i], Float(want), accuracy: 1e-6 * scale, "direct cin \(cin) s \(s) l \(l) o \(o)")
          }
        }
      }
    }
  }
}
