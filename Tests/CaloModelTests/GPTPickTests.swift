// The blocked inverse-CDF search of GPTSampler.draw against a plain serial scan.
import CaloTensor
import XCTest

@testable import CaloModel

final class GPTPickTests: XCTestCase {
  /// Serial reference: first j with cumulative positive mass > target, else the last positive j.
  func serialPick(_ p: [Float], target: Float) -> Int {
    var cum: Float = 0, last = 0
    for j in 0..<p.count where p[j] > 0 {
      cum += p[j]
      last = j
      if cum > target { return j }
    }
    return last
  }

  func testBlockedPickMatchesSerialScan() {
    var rng = RNG(seed: 21)
    var mismatches = 0, trials = 0
    for n in [1, 7, 16, 17, 100, 1024] {
      for _ in 0..<200 {
        // Masked (zero) entries, as top-k and R constraints produce.
        let p = (0..<n).map { _ in rng.uniform() < 0.3 ? 0 : rng.uniform() }
        let total = p.reduce(0, +)
        for target in [0, rng.uniform() * total, total * 0.999_9, total * 2] {
          let got = p.withUnsafeBufferPointer { GPTSampler.pick($0.baseAddress!, n, target: target) }
          let want = serialPick(p, target: target)
          trials += 1
          // Sums in a different order may move a boundary by one rounding step; the chosen entry must
          // then still be a neighbouring positive one.
          if got != want {
            mismatches += 1
            XCTAssertGreaterThan(p[got], 0)
          }
          if total > 0 { XCTAssertGreaterThan(p[got], 0, "n \(n) target \(target)") }
        }
      }
    }
    XCTAssertLessThan(mismatches, trials / 100, "blocked search disagrees too often: \(mismatches)/\(trials)")
  }
}

final class GPTLinearSmallTests: XCTestCase {
  /// The unpacked small-batch product against a Double triple loop, odd sizes and both betas.
  func testLinearSmallMatchesDirectLoop() {
    var rng = RNG(seed: 5)
    for (M, N, K) in [(1, 1, 1), (3, 7, 13), (8, 1024, 64), (5, 18, 129)] {
      let x = (0..<(M * K)).map { _ in rng.uniform(-1, 1) }, w = (0..<(N * K)).map { _ in rng.uniform(-1, 1) }
      let y0 = (0..<(M * N)).map { _ in rng.uniform(-1, 1) }
      for beta: Float in [0, 1] {
        var y = y0
        x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
          GPTKernels.linearSmall(px.baseAddress!, pw.baseAddress!, py.baseAddress!, M: M, N: N, K: K, beta: beta)
        } } }
        for m in 0..<M { for n in 0..<N {
          var s = Double(beta * y0[m * N + n])
          for k in 0..<K { s += Double(x[m * K + k]) * Double(w[n * K + k]) }
          XCTAssertEqual(y[m * N + n], Float(s), accuracy: 1e-5 * Float(K), "M \(M) N \(N) K \(K)")
        } }
      }
    }
  }
}
