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
