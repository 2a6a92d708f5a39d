// The reference voxel histogram is filled during the feature pass in the binning of the running
// maximum; pass 2 only replays the showers before the batch that set the final maximum. The result must
// equal the plain definition: numpy.histogram of every thresholded voxel with edges
// logspace(log10(threshold), log10(max voxel), 50).
import CaloGeometry
import XCTest

@testable import CaloMetrics

final class ReferenceBuilderTests: XCTestCase {
  let kind = DatasetKind.ds1Photon

  /// `batches` batches of `rows` showers; batch `peak` holds the largest voxel.
  func batches(_ count: Int, rows: Int, peak: Int, seed: UInt64) -> [[Float]] {
    var rng = SeededRandom(seed: seed)
    let v = kind.voxelCount
    return (0..<count).map { b in
      var s = (0..<(rows * v)).map { _ -> Float in
        let u = Double.random(in: 0..<1, using: &rng)
        // Log-uniform voxel energies from 0.1 to 1000 MeV (some below the 1 MeV threshold), some empty.
        return u < 0.3 ? 0 : Float(pow(10, Double.random(in: -1...3, using: &rng)))
      }
      // A growing maximum in batches before the peak exercises restarts of the provisional histogram.
      s[5] = Float(1000 + 100 * b)
      if b == peak { s[rows * v / 2] = 5e4 }
      return s
    }
  }

  func plainVoxelHistogram(_ bs: [[Float]]) throws -> [Int] {
    let all = bs.flatMap { $0 }
    let mx = Double(all.max()!)
    var h = Histogram(binning: try XCTUnwrap(Binning.geometric(from: kind.voxelThresholdMeV, to: mx, edgeCount: 50)))
    for x in all where Double(x) >= kind.voxelThresholdMeV { h.add(Double(x)) }
    return h.counts
  }

  func build(_ bs: [[Float]], rows: Int, replayAll: Bool) -> (counts: [Int], needed: Int) {
    var b = ReferenceBuilder(kind: kind)
    let e = [Double](repeating: 65536, count: rows)
    for s in bs { b.addFeatures(energies: e, showers: s) }
    b.endFeaturePass()
    let needed = b.voxelRowsNeeded
    var seen = 0
    for s in bs where replayAll || seen < needed {
      b.addVoxels(showers: s)
      seen += rows
    }
    let r = b.finish()
    let vi = r.specs.firstIndex { $0.feature == .voxelEnergy }!
    return (r.histograms[vi]!.counts, needed)
  }

  func testVoxelHistogramEqualsThePlainDefinition() throws {
    let rows = 7
    for peak in [0, 2, 4] {
      let bs = batches(5, rows: rows, peak: peak, seed: UInt64(10 + peak))
      let want = try plainVoxelHistogram(bs)
      let a = build(bs, rows: rows, replayAll: true), b = build(bs, rows: rows, replayAll: false)
      XCTAssertEqual(a.needed, peak * rows, "peak in batch \(peak)")
      XCTAssertEqual(a.counts, want, "peak in batch \(peak), full replay")
      XCTAssertEqual(b.counts, want, "peak in batch \(peak), replay of the needed rows only")
      // Sanity of the reference itself: every voxel from the threshold up to the last edge (which
      // numpy's logspace may put an ulp below the maximum, dropping it) is counted once.
      let top = Binning.geometric(from: 1, to: Double(bs.flatMap { $0 }.max()!), edgeCount: 50)!.edges.last!
      XCTAssertEqual(want.reduce(0, +), bs.flatMap { $0 }.filter { $0 >= 1 && Double($0) <= top }.count)
    }
  }

  func testBuildMatchesRunningTwoPassDefinition() throws {
    let rows = 5
    let bs = batches(4, rows: rows, peak: 3, seed: 99)
    let e = [Double](repeating: 1024, count: rows)
    var calls = 0
    let r = try ReferenceHistograms.build(kind: kind) { body in
      calls += 1
      for s in bs { try body(e, s) }
    }
    XCTAssertEqual(calls, 2, "the maximum is in the last batch, so pass 2 is needed")
    let vi = r.specs.firstIndex { $0.feature == .voxelEnergy }!
    XCTAssertEqual(r.histograms[vi]!.counts, try plainVoxelHistogram(bs))
  }
}
