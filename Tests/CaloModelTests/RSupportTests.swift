// The per-energy R support: which leading digits it records per energy bin, how it merges neighbouring
// bins, what it masks, its empty-rate offsets, and that a corrupt table is refused, not trusted.
import CaloGeometry
import CaloTensor
import XCTest
@testable import CaloModel

final class RSupportTests: XCTestCase {
  // Two layers, log quantiser from 1e-8: a layer's leading digit 0 means an empty layer.
  private let tok = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3, logMin: 1e-8)

  private func lead(_ r: Float) -> Int { Int(tok.encodeValue(r, ofValue: 1)[0]) }

  func testFitRecordsTheDigitsOfEachEnergyBinAndMergesNeighbours() {
    // 1 GeV: layer 0 at 0.5 or 0.4, layer 1 empty. 10 GeV: layer 1 at 0.001. 1 TeV: layer 1 at 0.01 or 0.02.
    let energies: [Double] = [1000, 1000, 10_000, 1_000_000, 1_000_000]
    let ratios: [Float] = [0.5, 0, 0.4, 0, 0.3, 0.001, 0.2, 0.01, 0.1, 0.02]
    let s = RSupport.fit(tokens: tok.encode(ratios: ratios), energies: energies, tokenizer: tok, binsPerDecade: 4, neighbours: 1)
    XCTAssertEqual(s.logEnergyStart, 3)
    XCTAssertEqual(s.binWidth, 0.25)
    XCTAssertEqual(s.binCount, 13)                        // log10 E 3.00 … 6.25
    XCTAssertEqual(s.bin(forEnergy: 1000), 0)
    XCTAssertEqual(s.bin(forEnergy: 10_000), 4)
    XCTAssertEqual(s.bin(forEnergy: 1_000_000), 12)
    XCTAssertEqual(s.bin(forEnergy: 10), 0, "below the table: the first bin")
    XCTAssertEqual(s.bin(forEnergy: 1e9), 12, "above: the last")
    XCTAssertEqual(s.bin(forEnergy: 0), 0)
    XCTAssertEqual(s.bin(forEnergy: .infinity), 12)
    XCTAssertEqual(s.bin(forEnergy: .nan), 0, "no trap on a non-finite energy")
    // Bin 0 (and its empty neighbour 1): layer 1 only ever empty, layer 0 between the digits of 0.4 and 0.5.
    var a = s.allowedLeadingDigits(bin: 0, value: 2)
    XCTAssertTrue(a.zero); XCTAssertNil(a.nonZero)
    a = s.allowedLeadingDigits(bin: 0, value: 1)
    XCTAssertFalse(a.zero); XCTAssertEqual(a.nonZero, lead(0.4)...lead(0.5))
    // Bin 12: layer 1 never empty, between 0.01 and 0.02.
    a = s.allowedLeadingDigits(bin: 12, value: 2)
    XCTAssertFalse(a.zero); XCTAssertEqual(a.nonZero, lead(0.01)...lead(0.02))
    // Bin 5 merges bins 4…6, of which only 4 holds showers.
    a = s.allowedLeadingDigits(bin: 5, value: 2)
    XCTAssertFalse(a.zero); XCTAssertEqual(a.nonZero, lead(0.001)...lead(0.001))
    // Bin 8 has no filled bin within one: it widens to the nearest ones (4 and 12), equally far.
    a = s.allowedLeadingDigits(bin: 8, value: 2)
    XCTAssertFalse(a.zero); XCTAssertEqual(a.nonZero, lead(0.001)...lead(0.02))
    // Bin 2 widens to bins 0 and 4: empty allowed, and 0.001.
    a = s.allowedLeadingDigits(bin: 2, value: 2)
    XCTAssertTrue(a.zero); XCTAssertEqual(a.nonZero, lead(0.001)...lead(0.001))
    XCTAssertNil(s.problem(valueCount: 3, digitLimit: 1024))
  }

  func testMaskRemovesOnlyUnseenDigitsAndAddsTheEmptyOffset() {
    var s = RSupport(logEnergyStart: 3, binWidth: 1, zero: [[false, true]], lowest: [[10, 5]], highest: [[20, 7]])
    var p = [Float](repeating: 0, count: 1024)
    s.mask(&p, count: 1024, bin: 0, value: 0)
    let kept = p.indices.filter { p[$0] > -.infinity }
    XCTAssertEqual(kept, Array(10...20), "value 0: no empty value, digits 10…20")
    p = [Float](repeating: 0, count: 1024)
    s.mask(&p, count: 6, bin: 0, value: 1)
    XCTAssertEqual(p.indices.filter { p[$0] == -.infinity }, [1, 2, 3, 4], "value 1 under an upper limit of 6 digits: 0 and 5")
    // An upper limit below the whole support leaves the logits alone rather than masking everything.
    p = [Float](repeating: 0, count: 1024)
    s.mask(&p, count: 8, bin: 0, value: 0)
    XCTAssertFalse(p.contains(-.infinity))
    // The empty-rate offset moves the logit of digit 0 where an empty value is allowed.
    s.zeroLogitOffsets = [[3, -1.5]]
    p = [Float](repeating: 0.25, count: 1024)
    s.mask(&p, count: 1024, bin: 0, value: 1)
    XCTAssertEqual(p[0], -1.25)
    XCTAssertEqual(p[6], 0.25)
  }

  func testCorruptTablesAreNamed() {
    let good = RSupport(logEnergyStart: 3, binWidth: 0.25, zero: [[true, false]], lowest: [[1, 3]], highest: [[0, 9]])
    XCTAssertNil(good.problem(valueCount: 2, digitLimit: 1024))
    XCTAssertNotNil(good.problem(valueCount: 3, digitLimit: 1024), "values disagree with the GPT")
    var bad = good; bad.binWidth = 0
    XCTAssertNotNil(bad.problem(valueCount: 2, digitLimit: 1024))
    bad = good; bad.highest = [[0, 2000]]
    XCTAssertNotNil(bad.problem(valueCount: 2, digitLimit: 1024), "a digit beyond the vocabulary")
    bad = good; bad.lowest = []
    XCTAssertNotNil(bad.problem(valueCount: 2, digitLimit: 1024))
    bad = good; bad.zeroLogitOffsets = [[0, .nan]]
    XCTAssertNotNil(bad.problem(valueCount: 2, digitLimit: 1024))
    bad = good; bad.zeroLogitOffsets = [[0]]
    XCTAssertNotNil(bad.problem(valueCount: 2, digitLimit: 1024))
  }
}
