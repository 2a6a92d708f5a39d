// R tokenisation (calovq_facts.md §6.3/§6.6): the worked example, round trips, layer-wise rescaling.
import CaloGeometry
import CaloTensor
import Foundation
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
    // The lower side: 1.2 of rMax 3 in 20 bits is level floor(2^20 · 1.2 / 3) = 419430, leading digit 419430 >> 10.
    XCTAssertEqual(t.minLeadingDigit(ofValue: 0, limit: 1.2), 419430 >> 10)
    XCTAssertEqual(t.minLeadingDigit(ofValue: 0, limit: 0), 0)
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

  // MARK: - logarithmic quantiser (our variant)

  func testLogQuantiserLevelsByHand() {
    // 10 bits from 1e-6 to 1: 1023 levels above 0, each a factor 1e6^(1/1023) wide.
    let t = RTokenizer(mode: .global, bits: 10, rMax: 1, logMin: 1e-6)
    XCTAssertEqual(t.level(0), 0)
    XCTAssertEqual(t.level(-1), 0)
    XCTAssertEqual(t.level(.nan), 0)
    XCTAssertEqual(t.level(5e-7), 0)                  // below logMin
    XCTAssertEqual(t.level(1e-3), 512)                // u = ½: 1 + floor(511.5)
    XCTAssertEqual(t.level(2e-6), 1 + Int(1023 * log(2.0) / log(1e6)))   // 1 + floor(51.33) = 52
    XCTAssertEqual(t.level(52), 1023)                  // saturates above rMax
    XCTAssertEqual(t.level(.infinity), 1023)
    XCTAssertEqual(t.value(level: 0), 0)
    // Level 512 decodes to the geometric middle of its range: 1e-6 · 1e6^(511.5/1023) = 1e-3.
    XCTAssertEqual(Double(t.value(level: 512)), 1e-3, accuracy: 1e-9)
  }

  func testLogQuantiserKeepsSmallRatiosTheLinearOneRoundsToZero() {
    let linear = RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3)
    let log = linear.withLogMin(1e-8)
    XCTAssertEqual(log.bits, 20)
    // A MIP of ~2 MeV in a layer of a 2 TeV pion: R = 1e-6, below the linear step 3/2^20 ≈ 2.9e-6.
    XCTAssertEqual(linear.decodeValue(linear.encodeValue(1e-6)[...]), 0)
    let step = Foundation.pow(3e8, 1.0 / Double(log.maxLevel)) - 1            // ≈ 1.86e-5 relative
    var rng = RNG(seed: 3)
    for _ in 0..<2000 {
      let r = Float(Foundation.pow(10, -7.9 + 8.3 * rng.uniformDouble()))         // 1.3e-8 … 2.5
      let back = Double(log.decodeValue(log.encodeValue(r)[...]))
      XCTAssertEqual(back / Double(r), 1, accuracy: step / 2 + 1e-6, "R = \(r)")
    }
    // Monotone: larger R never gets a smaller level.
    var last = -1
    for k in 0...400 {
      let q = log.level(Float(Foundation.pow(10, -9 + 0.024 * Double(k))))
      XCTAssertGreaterThanOrEqual(q, last)
      last = q
    }
    // The leading digit resolves the log range in 1024 steps (~0.8 % of a decade each): 1e-6 and
    // 1.1e-6 already differ there, while the linear quantiser's leading digit is 0 below R = 2.9e-3.
    XCTAssertNotEqual(log.encodeValue(1e-6)[0], log.encodeValue(1.1e-6)[0])
    XCTAssertEqual(linear.encodeValue(2e-3)[0], 0)
  }

  func testLogQuantiserWithTheRConstraintAndLayerwiseDecode() {
    let t = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3, logMin: 1e-8)
    let limitDigits = t.encodeValue(1e-4)
    XCTAssertEqual(t.maxToken(at: 0, prefix: [][...], limits: [1e-4, 1e-4, 1e-4]), Int(limitDigits[0]))
    XCTAssertEqual(t.maxToken(at: 1, prefix: [limitDigits[0]][...], limits: [1e-4, 1e-4, 1e-4]), Int(limitDigits[1]))
    let back = t.decode(tokens: t.encode(ratios: [2e-6, 0.5]))
    XCTAssertEqual(Double(back[0]) / 2e-6, 1, accuracy: 1e-4)
    XCTAssertEqual(Double(back[1]) / 0.5, 1, accuracy: 1e-4)
  }

  func testLinearConfigsKeepTheirJSONAndLogConfigsRoundTrip() throws {
    let linear = try GPTPresets.config(dataset: .ds1Pion, layerwise: true, preset: "sample")
    // Model files written before the log quantiser have no logMin key: they must read as linear.
    XCTAssertFalse(linear.jsonString().contains("logMin"))
    XCTAssertNil(try GPTConfig.fromJSON(linear.jsonString()).rTokens.logMin)
    var log = linear
    log.rTokens = linear.rTokens.withLogMin(1e-8)
    let back = try GPTConfig.fromJSON(log.jsonString())
    XCTAssertEqual(back.rTokens.logMin, 1e-8)
    XCTAssertEqual(back, log)
    XCTAssertEqual(back.rTokens.quantiserDescription, "log 1e-08…3.0")
  }

  // MARK: - linear total, log layers (--r-quantiser log-layers)

  func testLinearTotalKeepsTheReferenceQuantiserForValueZeroOnly() {
    let log = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3, logMin: 1e-8)
    let mixed = log.withLogMin(1e-8, linearTotal: true)
    let linear = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3)
    XCTAssertEqual(mixed.linearTotal, true)
    XCTAssertNil(linear.withLogMin(nil, linearTotal: true).linearTotal, "no log quantiser, nothing to keep linear")
    // The reference's hand case for the total: 0.877889 → q = 306844 = [299, 668]; the layers go log.
    let tokens = mixed.encode(ratios: [0.8, 0.077889])
    XCTAssertEqual(Array(tokens[0..<2]), [299, 668])
    XCTAssertEqual(Array(tokens[2..<4]), log.encodeValue(0.8))
    XCTAssertEqual(Array(tokens[4..<6]), log.encodeValue(0.077889))
    XCTAssertNotEqual(Array(tokens[2..<4]), linear.encodeValue(0.8))
    // Decoding: the total by the linear rule (no half-bin offset), the layers rescaled to it.
    let back = mixed.decode(tokens: tokens)
    XCTAssertEqual(Double(back[0] + back[1]), 306_844.0 / 1_048_576.0 * 3, accuracy: 1e-6)
    XCTAssertEqual(Double(back[0] / back[1]), 0.8 / 0.077889, accuracy: 1e-3)
    // The leading digit of a total near 1 moves every 3/1024 ≈ 0.29 %, the log one every ≈ 1.9 %.
    XCTAssertNotEqual(mixed.encodeValue(0.985, ofValue: 0)[0], mixed.encodeValue(0.99, ofValue: 0)[0])
    XCTAssertEqual(log.encodeValue(0.985)[0], log.encodeValue(0.99)[0])
    // The R constraint bounds the total with its own quantiser.
    XCTAssertEqual(mixed.maxToken(at: 0, prefix: [][...], limits: [1.2, 1e-4, 1e-4]), Int(linear.encodeValue(1.2)[0]))
    XCTAssertEqual(mixed.maxToken(at: 2, prefix: [0, 0][...], limits: [1.2, 1e-4, 1e-4]), Int(log.encodeValue(1e-4)[0]))
    // Global mode: the one value is the total.
    let global = RTokenizer(mode: .global, tokensPerValue: 2, rMax: 3, logMin: 1e-8, linearTotal: true)
    XCTAssertEqual(global.encode(ratios: [0.877889]), [299, 668])
    XCTAssertEqual(global.quantiserDescription, "log 1e-08…3.0 (total: linear 0…3.0)")
  }

  func testLinearTotalConfigsRoundTripAndOldFilesLackTheKey() throws {
    let base = try GPTPresets.config(dataset: .ds2, layerwise: true, preset: "sample")
    var log = base
    log.rTokens = base.rTokens.withLogMin(1e-8)
    XCTAssertFalse(log.jsonString().contains("linearTotal"), "all-log files (session 9) read as before")
    var mixed = base
    mixed.rTokens = base.rTokens.withLogMin(1e-8, linearTotal: true)
    let back = try GPTConfig.fromJSON(mixed.jsonString())
    XCTAssertEqual(back, mixed)
    XCTAssertEqual(back.rTokens.linearTotal, true)
    XCTAssertNotEqual(back, log)
  }

  // MARK: - coarse leading digit for the layers (--r-layer-bits)

  func testLayerBitsCoarsenTheLayersLeadingDigitOnly() {
    let fine = RTokenizer(mode: .layerwise(layers: 2), tokensPerValue: 2, rMax: 3)
    let coarse = fine.withLayerBits(16)
    XCTAssertEqual(coarse.layerBits, 16)
    XCTAssertEqual(coarse.bits(ofValue: 0), 20)
    XCTAssertEqual(coarse.bits(ofValue: 2), 16)
    XCTAssertEqual(coarse.maxLevel(ofValue: 1), 65_535)
    XCTAssertNil(fine.withLayerBits(20).layerBits, "the preset's own bits are not a variant")
    XCTAssertEqual(RTokenizer.layerBitsRange(tokensPerValue: 2), 11...20)
    // By hand, linear: q = floor(2^16 · 0.1 / 3) = 2184 = [2, 136]; the total keeps 20 bits.
    let tokens = coarse.encode(ratios: [0.777889, 0.1])
    XCTAssertEqual(Array(tokens[0..<2]), [299, 668])
    XCTAssertEqual(Array(tokens[4..<6]), [2, 136])
    XCTAssertEqual(Double(coarse.value(level: 2184, ofValue: 1)), 2184.0 / 65_536 * 3, accuracy: 1e-7)
    // Log: level 1 + floor(65535 · ln(R/1e-8) / ln(3e8)); 1e-4 → 1 + floor(65535 · 9.21034 / 19.5193) = 30924.
    let log = coarse.withLogMin(1e-8, linearTotal: true)
    XCTAssertEqual(log.layerBits, 16, "withLogMin keeps the layer bits")
    XCTAssertEqual(log.level(1e-4, ofValue: 1), 1 + Int(65_535 * Foundation.log(1e4) / Foundation.log(3e8)))
    XCTAssertEqual(log.encodeValue(1e-4, ofValue: 1), [30, 204])           // 30924 = 30 · 1024 + 204
    XCTAssertEqual(log.encodeValue(0.9, ofValue: 0), fine.encodeValue(0.9), "the total is untouched")
    // Every layer's leading digit is below 64; one leading level is (3e8)^(1024/65535) − 1 ≈ 36 % wide.
    XCTAssertEqual(log.encodeValue(2.99, ofValue: 1)[0], 63)
    let ratio = Double(log.value(level: 1024 * 31, ofValue: 1) / log.value(level: 1024 * 30, ofValue: 1))
    XCTAssertEqual(ratio, Foundation.pow(3e8, 1024.0 / 65_535), accuracy: 1e-4)
    XCTAssertEqual(ratio, 1.36, accuracy: 0.01)
    // Digits beyond the range clip to the top level (the sampler never draws them: digitCount).
    XCTAssertEqual(log.level(digits: [100, 5][...], ofValue: 1), 65_535)
    XCTAssertEqual(log.level(digits: [100, 5][...], ofValue: 0), 100 * 1024 + 5)
    XCTAssertEqual((0..<6).map { log.digitCount(at: $0) }, [1024, 1024, 64, 1024, 64, 1024])
    XCTAssertEqual((0..<6).map { fine.digitCount(at: $0) }, [Int](repeating: 1024, count: 6))
    // Decoding rescales the layers to the total, as before.
    let back = log.decode(tokens: log.encode(ratios: [0.5, 1e-3]))
    XCTAssertEqual(Double(back[0] / back[1]), 500, accuracy: 500 * 0.001)
    XCTAssertEqual(log.quantiserDescription, "log 1e-08…3.0 (total: linear 0…3.0), layers 16 bits")
  }

  func testLayerBitsRoundTripAndCorruptTokenizersAreRefused() throws {
    let base = try GPTPresets.config(dataset: .ds1Pion, layerwise: true, preset: "paper")
    XCTAssertFalse(base.jsonString().contains("layerBits"), "files without the key read as before")
    var coarse = base
    coarse.rTokens = base.rTokens.withLogMin(1e-8, linearTotal: true).withLayerBits(16)
    let back = try GPTConfig.fromJSON(coarse.jsonString())
    XCTAssertEqual(back, coarse)
    XCTAssertEqual(back.rTokens.layerBits, 16)
    // A corrupt config is an error, not a trap in the initialiser.
    let good = coarse.jsonString()
    for (from, to) in [("\"layerBits\":16", "\"layerBits\":25"), ("\"layerBits\":16", "\"layerBits\":0"),
                       ("\"bits\":20", "\"bits\":99"), ("\"logMin\":1e-08", "\"logMin\":5"),
                       ("\"tokensPerValue\":2", "\"tokensPerValue\":3")] {
      XCTAssertTrue(good.contains(from), "fixture: \(from) in \(good)")
      XCTAssertThrowsError(try GPTConfig.fromJSON(good.replacingOccurrences(of: from, with: to)), to)
    }
  }
}
