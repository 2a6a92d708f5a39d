// R tokenisation (calovq_facts.md §6.3/§6.6): the worked example, round trips, layer-wise rescaling.
import CaloGeometry
import XCTest
@testable import CaloModel

final class RTokenTests: XCTestCase {
  func testWorkedExampleOfTheSpec() {
    let t = RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3)
    XCTAssertEqual(t.bits, 20)
    XCTAssertEqual(t.level(0.877889), 306_844)
    XCTAssertEqual(t.encodeValue(0.877889), [299, 668])
    // Decoding has no half-bin offset: q / 2^20 · 3.
    XCTAssertEqual(Double(t.decodeValue([299, 668][...])), 306_844.0 / 1_048_576.0 * 3, accuracy: 1e-7)
  }

  func testOneTokenTenBitQuantiserAndClipping() {
    let t = RTokenizer(mode: .global, bits: 10, rMax: 1.3)
    XCTAssertEqual(t.tokensPerValue, 1)
    XCTAssertEqual(t.encodeValue(0), [0])
    XCTAssertEqual(t.encodeValue(-0.5), [0])
    XCTAssertEqual(t.encodeValue(1.3), [1023])     // saturates at 2^10 − 1
    XCTAssertEqual(t.encodeValue(7), [1023])
    XCTAssertEqual(t.encodeValue(.nan), [0])
    XCTAssertEqual(t.encodeValue(0.65), [512])
  }

  func testRoundTripErrorIsBelowOneStepAndBiasedLow() {
    var rng = SystemRandomNumberGenerator()
    for (bits, rMax) in [(10, 1.3), (10, 1.7), (20, 3.0)] {
      let t = RTokenizer(mode: .global, bits: bits, rMax: rMax)
      let lsb = rMax / Double(1 << bits)
      for _ in 0..<2000 {
        let r = Float.random(in: 0..<Float(rMax) * 0.999, using: &rng)
        let tokens = t.encodeValue(r)
        XCTAssertTrue(tokens.allSatisfy { $0 >= 0 && $0 < 1024 })
        let back = Double(t.decodeValue(tokens[...]))
        XCTAssertLessThanOrEqual(back, Double(r) + 1e-6 * rMax)          // floor: never above
        XCTAssertGreaterThan(back, Double(r) - lsb - 1e-6 * rMax)       // within one step
      }
    }
  }

  func testDigitsAreMostSignificantFirst() {
    let t = RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3)
    XCTAssertEqual(t.digits(1023), [0, 1023])
    XCTAssertEqual(t.digits(1024), [1, 0])
    XCTAssertEqual(t.level(digits: [5, 7][...]), 5 * 1024 + 7)
  }

  func testLayerwiseEncodesTheSumFirstAndRescalesOnDecode() {
    let t = RTokenizer(mode: .layerwise(layers: 3), tokensPerValue: 2, rMax: 3)
    XCTAssertEqual(t.valueCount, 4)
    XCTAssertEqual(t.tokenCount, 8)
    let ratios: [Float] = [0.1, 0.5, 0.25, 0, 0, 0]     // two showers, the second empty
    let tokens = t.encode(ratios: ratios)
    XCTAssertEqual(tokens.count, 16)
    XCTAssertEqual(Array(tokens[0..<2]), t.encodeValue(0.85))
    XCTAssertEqual(Array(tokens[2..<4]), t.encodeValue(0.1))
    XCTAssertEqual(Array(tokens[6..<8]), t.encodeValue(0.25))
    let back = t.decode(tokens: tokens)
    XCTAssertEqual(back.count, 6)
    for i in 0..<3 { XCTAssertEqual(back[i], ratios[i], accuracy: 1e-5) }
    XCTAssertEqual(back[0] + back[1] + back[2], t.decodeValue(tokens[0..<2]), accuracy: 1e-6)
    XCTAssertEqual(Array(back[3..<6]), [0, 0, 0])        // 0/0 → factor 1
  }

  func testLayerwiseDecodeRescalesInconsistentLayers() {
    // A GPT may draw a total that disagrees with the layers: the layers are scaled to the total.
    let t = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3)
    let tokens = t.encodeValue(1.0) + t.encodeValue(0.2) + t.encodeValue(0.6)
    let back = t.decode(tokens: tokens)
    XCTAssertEqual(back[0] + back[1], 1.0, accuracy: 1e-5)
    XCTAssertEqual(back[1] / back[0], 3, accuracy: 1e-4)
    // All layers zero but a positive total: no NaN.
    let z = t.decode(tokens: t.encodeValue(1.0) + t.encodeValue(0) + t.encodeValue(0))
    XCTAssertEqual(z, [0, 0])
  }

  func testMaxTokenKeepsValuesBelowTheLimit() {
    let t = RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3)
    let limitDigits = t.encodeValue(1.2)                     // hi digit 409
    XCTAssertEqual(t.maxToken(at: 0, prefix: [][...], limits: [1.2]), Int(limitDigits[0]))
    XCTAssertEqual(t.maxToken(at: 1, prefix: [limitDigits[0]][...], limits: [1.2]), Int(limitDigits[1]))
    XCTAssertEqual(t.maxToken(at: 1, prefix: [limitDigits[0] - 1][...], limits: [1.2]), 1023)
  }

  func testPresetTokenizersMatchTheReference() {
    XCTAssertEqual(GPTPresets.rTokenizer(.ds1Photon, layerwise: true).tokenCount, 12)
    XCTAssertEqual(GPTPresets.rTokenizer(.ds1Pion, layerwise: true).tokenCount, 16)
    XCTAssertEqual(GPTPresets.rTokenizer(.ds1Photon, layerwise: false).tokenCount, 2)
    XCTAssertEqual(GPTPresets.rTokenizer(.ds2, layerwise: false), RTokenizer(mode: .global, bits: 10, rMax: 1.3))
    XCTAssertEqual(GPTPresets.rTokenizer(.ds3, layerwise: false), RTokenizer(mode: .global, bits: 10, rMax: 1.7))
    XCTAssertEqual(GPTPresets.rTokenizer(.ds2, layerwise: true).tokenCount, 92)
    XCTAssertEqual(GPTPresets.rTokenizer(.ds3, layerwise: true).tokenCount, 92)
  }
}
