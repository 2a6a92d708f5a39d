// Two ways of turning drawn R tokens into layer energies (session 13): the last digit of an R value
// drawn from a straight line through its level's and the neighbouring levels' probabilities
// (`SamplingOptions.rLevelInterpolation`), and layers made to add up to the total with the large
// layers absorbing the mismatch (`RTokenizer.LayerFit.sizeWeighted`).
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class RLevelSamplingTests: XCTestCase {
  // MARK: size-weighted layer fit

  func testSizeWeightedFitLeavesSmallLayersAlmostUntouched() {
    // Layers 1 and 0.01 must add up to 1.1: e^g + 0.01 e^(0.01 g) = 1.1 gives g = 0.086171 (by hand:
    // the small term is 0.0100086, so e^g = 1.0899914), i.e. the large layer takes 1.08999 and the
    // small one 0.0100086 (+0.09 %), where the proportional rule would raise both by 8.9 %.
    let out = RTokenizer.sizeWeightedFit([1, 0.01], sum: 1.01, total: 1.1)
    XCTAssertEqual(out[0], 1.0899914, accuracy: 2e-6)
    XCTAssertEqual(out[1], 0.0100086, accuracy: 2e-7)
    XCTAssertEqual(out[0] + out[1], 1.1, accuracy: 1e-6)
  }

  func testSizeWeightedFitOfEqualLayersIsProportional() {
    // All weights are 1, so every layer takes total / n — also below the sum.
    let out = RTokenizer.sizeWeightedFit([0.2, 0.2, 0.2], sum: 0.6, total: 0.45)
    for v in out { XCTAssertEqual(v, 0.15, accuracy: 1e-6) }
  }

  func testSizeWeightedFitFarBelowTheSumStaysNonNegativeAndAddsUp() {
    // A total of 1 % of the layers' sum: the bracket has to step far down; nothing goes negative.
    let r: [Float] = [1, 0.5, 1e-4, 0]
    let out = RTokenizer.sizeWeightedFit(r, sum: r.reduce(0, +), total: 0.015)
    XCTAssertTrue(out.allSatisfy { $0 >= 0 && $0.isFinite }, "\(out)")
    XCTAssertEqual(out.reduce(0, +), 0.015, accuracy: 1e-6)
    XCTAssertEqual(out[3], 0)
    XCTAssertLessThan(out[0], out[1], "the larger layer gives up more")
    // Edge cases: a zero total empties the layers; empty layers stay empty.
    XCTAssertEqual(RTokenizer.sizeWeightedFit([0.3, 0.1], sum: 0.4, total: 0), [0, 0])
    XCTAssertEqual(RTokenizer.sizeWeightedFit([0, 0], sum: 0, total: 0.5), [0, 0])
  }

  func testDecodeWithSizeWeightedFitMatchesTheTotalAndKeepsSmallLayers() {
    let t = RTokenizer(mode: .layerwise(layers: 3), tokensPerValue: 2, rMax: 3, logMin: 1e-8,
                       linearTotal: true, layerBits: 16)
    // Layers that add up to 0.8 under a total of 0.9: the GPT drew them inconsistently.
    var tokens = t.encode(ratios: [0.6, 0.19, 0.01])
    let total = t.encodeValue(0.9, ofValue: 0)
    tokens[0] = total[0]; tokens[1] = total[1]
    let decodedTotal = t.decodeValue(tokens[0..<2], ofValue: 0)
    let raw = (1...3).map { t.decodeValue(tokens[(2 * $0)..<(2 * $0 + 2)], ofValue: $0) }
    let prop = t.decode(tokens: tokens), sized = t.decode(tokens: tokens, fit: .sizeWeighted)
    XCTAssertEqual(prop, t.decode(tokens: tokens, fit: .proportional), "proportional stays the default")
    XCTAssertEqual(prop.reduce(0, +), decodedTotal, accuracy: 1e-6)
    XCTAssertEqual(sized.reduce(0, +), decodedTotal, accuracy: 1e-6)
    // Proportional raises every layer by the same ~12.5 %; size-weighted raises the 0.01 layer by
    // e^(g · 0.01/0.6) − 1, under 0.5 %, and the largest layer most.
    XCTAssertEqual(prop[2] / raw[2], decodedTotal / raw.reduce(0, +), accuracy: 1e-5)
    XCTAssertLessThan(abs(sized[2] / raw[2] - 1), 0.005)
    XCTAssertGreaterThan(sized[0] / raw[0], prop[0] / raw[0])
  }

  // MARK: level interpolation

  func testLevelInterpolationWeightsFollowTheStraightLines() {
    // Neighbours 0.2 | 0.5 | 0.3: lower edge 0.35, middle 0.5, upper edge 0.4.
    var p = [Float](repeating: 7, count: 1030)
    let sum = p.withUnsafeMutableBufferPointer {
      GPTSampler.levelInterpolation($0.baseAddress!, 1030, 1030, below: 0.2, at: 0.5, above: 0.3)
    }
    XCTAssertEqual(p[0], 0.35 + 0.15 * 2 * (0.5 / 1024), accuracy: 1e-6)
    XCTAssertEqual(p[511], 0.35 + 0.15 * 2 * (511.5 / 1024), accuracy: 1e-6)
    XCTAssertEqual(p[768], 0.5 - 0.1 * (2 * (768.5 / 1024) - 1), accuracy: 1e-6)
    XCTAssertEqual(p[1023], 0.5 - 0.1 * (2 * (1023.5 / 1024) - 1), accuracy: 1e-6)
    XCTAssertTrue(p[1024...].allSatisfy { $0 == 0 }, "only 1024 positions inside a level")
    // Area: half a level at mean (0.35 + 0.5)/2 plus half at (0.5 + 0.4)/2, times 1024 positions.
    XCTAssertEqual(sum, 1024 * (0.2125 + 0.225), accuracy: 0.01)
    // A bound below 1024 (the R constraint) cuts the level.
    let cut = p.withUnsafeMutableBufferPointer {
      GPTSampler.levelInterpolation($0.baseAddress!, 100, 1030, below: 0.2, at: 0.5, above: 0.3)
    }
    XCTAssertTrue(p[100...].allSatisfy { $0 == 0 })
    XCTAssertEqual(cut, p[0..<100].reduce(0, +), accuracy: 1e-3)
  }

  private func config() throws -> GPTConfig {
    var c = try GPTPresets.config(dataset: .ds1Photon, layerwise: true, preset: "sample", latentLength: 3)
    c.nLayer = 1
    c.rTokens = RTokenizer(mode: .layerwise(layers: 5), tokensPerValue: 2, rMax: 3, logMin: 1e-8,
                           linearTotal: true, layerBits: 16)
    return c
  }

  /// Draws at position t from logits ln(probs) (other digits far below), with a given prefix.
  private func drawOnce(_ cfg: GPTConfig, t: Int, prefix: [Int32], probs: [Int: Float], options: SamplingOptions,
                        neighbours: inout [Float], seed: UInt64) -> (token: Int32, p: [Float]) {
    var row = [Float](repeating: -50, count: cfg.vocabSize)
    for (j, q) in probs { row[j] = Foundation.log(q) }
    var rng = RNG(seed: seed)
    let limits = [Float](repeating: 3, count: cfg.rTokens.valueCount)
    var pre = prefix + [Int32](repeating: 0, count: cfg.blockSize - prefix.count)
    let token = row.withUnsafeMutableBufferPointer { rp in
      pre.withUnsafeMutableBufferPointer { pp in
        neighbours.withUnsafeMutableBufferPointer { nb in
          GPTSampler.draw(rp.baseAddress!, position: t, prefix: pp.baseAddress!, config: cfg, options: options,
                          limits: limits, neighbours: nb.baseAddress!, rng: &rng).0
        }
      }
    }
    return (token, row)
  }

  func testTheLastDigitComesFromTheLeadingDigitsNeighboursNotFromTheLogits() throws {
    let cfg = try config()
    let on = SamplingOptions(rLevelInterpolation: true)
    // Leading digit of layer value 1 (position 2): only digits 4, 5, 6 are likely (0.2, 0.5, 0.3).
    var nb = [Float](repeating: -1, count: 3)
    var drawnFive = false
    for seed in 0..<40 where !drawnFive {
      var scratch = [Float](repeating: -1, count: 3)
      let (tok, _) = drawOnce(cfg, t: 2, prefix: [300, 5], probs: [4: 0.2, 5: 0.5, 6: 0.3], options: on,
                              neighbours: &scratch, seed: UInt64(seed))
      if tok == 5 { drawnFive = true; nb = scratch }
    }
    XCTAssertTrue(drawnFive)
    XCTAssertEqual(nb[0], 0.2, accuracy: 1e-4)
    XCTAssertEqual(nb[1], 0.5, accuracy: 1e-4)
    XCTAssertEqual(nb[2], 0.3, accuracy: 1e-4)
    // The last digit (position 3) ignores logits that want digit 7 and follows the straight line.
    let (_, p) = drawOnce(cfg, t: 3, prefix: [300, 5, 5], probs: [7: 0.999], options: on, neighbours: &nb, seed: 1)
    let first: Float = 0.35 + 0.15 / 1024, middle: Float = 0.35 + 0.15 * 511.5 / 512
    XCTAssertEqual(p[0] / p[511], first / middle, accuracy: 1e-5)
    XCTAssertLessThan(p[7] / p[6], 1.001)
    // Without the option the logits decide.
    var unused = nb
    let (tok, _) = drawOnce(cfg, t: 3, prefix: [300, 5, 5], probs: [7: 0.999], options: SamplingOptions(),
                            neighbours: &unused, seed: 1)
    XCTAssertEqual(tok, 7)
    // A value whose leading digit is 0 (empty or near-empty layer) keeps the GPT's last digit.
    let (zero, _) = drawOnce(cfg, t: 3, prefix: [300, 5, 0], probs: [7: 0.999], options: on, neighbours: &nb, seed: 1)
    XCTAssertEqual(zero, 7)
    // At the edge of the valid digits (64 with 16 bits) the missing neighbour counts as the level.
    var edge = [Float](repeating: -1, count: 3)
    let (top, _) = drawOnce(cfg, t: 2, prefix: [300, 5], probs: [62: 0.4, 63: 0.6], options: on,
                            neighbours: &edge, seed: 3)
    if top == 63 { XCTAssertEqual(edge[2], edge[1]) } else { XCTAssertEqual(edge[0], 0, accuracy: 1e-6) }
  }

  func testInterpolatedSamplingMatchesTheReferenceSamplerAndChangesOnlyLastDigits() throws {
    let cfg = try config()
    let g = GPT(config: cfg, seed: 4)
    var rng = RNG(seed: 77)
    for t in g.parameters.tensors where !(t.name!.contains("ln")) {
      for i in 0..<t.count { t.data[i] += rng.normal(mean: 0, std: 0.35) }
    }
    let energies: [Double] = [256, 4096, 65536, 1_048_576, 2048, 512]
    let seeds: [UInt64] = (0..<energies.count).map { UInt64($0) * 31 + 2 }
    let on = SamplingOptions(rLevelInterpolation: true)
    let fast = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds, options: on).run()
    XCTAssertEqual(fast, GPTSampler.sampleWithoutCache(model: g, energies: energies, seeds: seeds, options: on))
    // Against plain sampling, the first difference of each sequence is a last R digit after a
    // non-zero digit (everything before it was drawn from the same logits with the same numbers).
    let plain = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds).run()
    let T = cfg.blockSize
    var differing = 0
    for i in 0..<energies.count {
      guard let t = (0..<T).first(where: { fast[i * T + $0] != plain[i * T + $0] }) else { continue }
      differing += 1
      XCTAssertLessThan(t, cfg.rTokens.tokenCount, "sequence \(i): first difference at code position \(t)")
      XCTAssertEqual(t % 2, 1, "sequence \(i): first difference at a leading digit (position \(t))")
      XCTAssertNotEqual(fast[i * T + t - 1], 0)
    }
    XCTAssertGreaterThan(differing, 0)
  }
}
