// Stage-2 GPT: preset sizes (calovq_facts.md §10), KV-cache sampling vs full recomputation, the fast
// kernels vs Foundation, and a tiny GPT learning a deterministic conditional toy sequence.
import CaloGeometry
import CaloNN
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class GPTTests: XCTestCase {
  func testPaperPresetParameterCountsMatchTheReference() throws {
    let expected: [(DatasetKind, Bool, Int, Int)] = [
      (.ds1Photon, true, 230_966, 44), (.ds1Pion, true, 231_222, 48), (.ds2, false, 234_560, 69),
      (.ds3, false, 37_984, 183), (.ds3, true, 551_296, 716),
    ]
    for (ds, lw, count, T) in expected {
      let cfg = try GPTPresets.config(dataset: ds, layerwise: lw, preset: "paper")
      XCTAssertEqual(cfg.blockSize, T, "\(ds) layerwise \(lw)")
      XCTAssertEqual(GPT(config: cfg).parameterCount, count, "\(ds) layerwise \(lw)")
    }
    // Our variants so every dataset has both normalisations.
    XCTAssertEqual(try GPTPresets.config(dataset: .ds2, layerwise: true).blockSize, 92 + 68)
    XCTAssertEqual(try GPTPresets.config(dataset: .ds1Photon, layerwise: false).blockSize, 2 + 32)
    for ds in DatasetKind.allCases {
      for lw in [false, true] {
        let s = try GPTPresets.config(dataset: ds, layerwise: lw, preset: "sample")
        let p = try GPTPresets.config(dataset: ds, layerwise: lw, preset: "paper")
        XCTAssertEqual(s.blockSize, p.blockSize)
        XCTAssertLessThanOrEqual(GPT(config: s).parameterCount, GPT(config: p).parameterCount)
        let l = try GPTPresets.config(dataset: ds, layerwise: lw, preset: "large")
        XCTAssertEqual(l.blockSize, p.blockSize, "large keeps the tokenisation")
        XCTAssertGreaterThan(GPT(config: l).parameterCount, GPT(config: p).parameterCount)
      }
    }
    XCTAssertThrowsError(try GPTPresets.config(dataset: .ds2, preset: "huge"))
  }

  func testInitialisationFollowsTheReference() throws {
    let g = GPT(config: try GPTPresets.config(dataset: .ds1Photon), seed: 3)
    XCTAssertTrue(g.parameters["pos_emb"]!.data.allSatisfy { $0 == 0 })
    XCTAssertTrue(g.parameters["blocks.0.attn.query.bias"]!.data.allSatisfy { $0 == 0 })
    XCTAssertNil(g.parameters["head.bias"])
    let w = g.parameters["blocks.1.mlp.0.weight"]!.data
    let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
    XCTAssertEqual(std, 0.02, accuracy: 0.001)
    XCTAssertEqual(g.parameters["cond_emb.weight"]!.shape, [15, 3])
    XCTAssertEqual(g.parameters["cond_proj.weight"]!.shape, [3, 3])
    // Same seed, same weights.
    let g2 = GPT(config: g.config, seed: 3)
    XCTAssertEqual(g2.parameters["tok_emb.weight"]!.data, g.parameters["tok_emb.weight"]!.data)
  }

  /// A small model with large random weights so the token distributions are far from uniform.
  private func roughModel(_ cfg: GPTConfig, seed: UInt64) -> GPT {
    let g = GPT(config: cfg, seed: seed)
    var rng = RNG(seed: seed &+ 99)
    for t in g.parameters.tensors where !(t.name!.contains("ln")) {
      for i in 0..<t.count { t.data[i] += rng.normal(mean: 0, std: 0.35) }
    }
    return g
  }

  private func tinyConfig(_ ds: DatasetKind, layerwise: Bool, latent: Int = 9) throws -> GPTConfig {
    var c = try GPTPresets.config(dataset: ds, layerwise: layerwise, preset: "sample", latentLength: latent)
    c.nLayer = 2
    return c
  }

  func testKVCacheSamplingDrawsExactlyTheTokensOfFullRecomputation() throws {
    for (ds, lw) in [(DatasetKind.ds1Photon, true), (.ds2, false)] {
      let cfg = try tinyConfig(ds, layerwise: lw)
      let g = roughModel(cfg, seed: 11)
      let energies: [Double] = [256, 4096, 65536, 1_048_576, 3000, 500_000, 2048]
      let seeds: [UInt64] = (0..<energies.count).map { UInt64($0) * 7919 + 5 }
      let reference = GPTSampler.sampleWithoutCache(model: g, energies: energies, seeds: seeds)
      let engine = GPTEngine(model: g)
      let cached = GPTSampler(engine: engine, energies: energies, seeds: seeds, lanes: 2).run()
      XCTAssertEqual(cached, reference, "\(ds)")
      // Token by token with the probabilities exposed gives the same sequences.
      let s = GPTSampler(engine: engine, energies: energies, seeds: seeds, lanes: 1)
      var distinct = Set<Int32>()
      while !s.isFinished {
        let t = s.position
        let drawn = s.step()
        for i in 0..<energies.count {
          XCTAssertEqual(drawn[i], reference[i * cfg.blockSize + t])
          let p = s.probabilities(sequence: i)
          XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-4)
          XCTAssertGreaterThan(p[Int(drawn[i])], 0)
          distinct.insert(drawn[i])
        }
      }
      XCTAssertEqual(s.tokens, reference)
      XCTAssertGreaterThan(distinct.count, 5, "the test model should not be degenerate")
      // The sequence of one shower does not depend on its batch.
      let alone = GPTSampler(engine: engine, energies: [energies[3]], seeds: [seeds[3]]).run()
      XCTAssertEqual(alone, Array(reference[(3 * cfg.blockSize)..<(4 * cfg.blockSize)]))
    }
  }

  func testCachedProbabilitiesMatchTheModelSoftmax() throws {
    let cfg = try tinyConfig(.ds1Pion, layerwise: true, latent: 4)
    let g = roughModel(cfg, seed: 5)
    let energies: [Double] = [8192, 131_072]
    let s = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: [1, 2])
    var rng = RNG(seed: 0)
    while !s.isFinished {
      let t = s.position
      let prefix = (0..<2).flatMap { i in s.tokens[(i * cfg.blockSize)..<(i * cfg.blockSize + t)] }
      let lg = withNoGrad { g.logits(tokens: prefix, energies: energies, training: false, rng: &rng) }
      let sm = lg.softmax().data
      s.step()
      for i in 0..<2 {
        let p = s.probabilities(sequence: i)
        let ref = sm[((i * (t + 1) + t) * 1024)..<((i * (t + 1) + t + 1) * 1024)]
        for (a, b) in zip(p, ref) { XCTAssertEqual(a, b, accuracy: 2e-5) }
      }
    }
  }

  func testTopKAndRConstraint() throws {
    var cfg = try tinyConfig(.ds1Photon, layerwise: true, latent: 3)
    cfg.rLimits = [Float](repeating: 0.9, count: cfg.rTokens.valueCount)
    cfg.rLowerLimits = [Float](repeating: 0.3, count: cfg.rTokens.valueCount)
    let g = roughModel(cfg, seed: 8)
    let energies = [Double](repeating: 16384, count: 40)
    let seeds = (0..<40).map { UInt64($0) }
    let s = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds,
                       options: SamplingOptions(topK: 3, constrainR: true))
    while !s.isFinished {
      s.step()
      let p = s.probabilities(sequence: 0)
      XCTAssertLessThanOrEqual(p.filter { $0 > 0 }.count, 3)
    }
    let ratios = cfg.rTokens.decode(tokens: s.tokens.enumerated().filter { $0.offset % cfg.blockSize < 12 }.map(\.element))
    // Every decoded layer value came from digits ≤ 0.9 (the rescaling can move layers, the raw values cannot).
    for i in 0..<40 {
      let row = Array(s.tokens[(i * cfg.blockSize)..<(i * cfg.blockSize + 12)])
      for v in 0..<6 {
        XCTAssertLessThanOrEqual(cfg.rTokens.decodeValue(row[(2 * v)..<(2 * v + 2)]), 0.9)
        XCTAssertGreaterThanOrEqual(Int(row[2 * v]), cfg.rTokens.minLeadingDigit(ofValue: v, limit: 0.3), "leading digit below the lower bound")
      }
    }
    XCTAssertEqual(ratios.count, 40 * 5)
  }

  func testPerEnergyRSupportBoundsTheLeadingDigitsOfEachEnergy() throws {
    var cfg = try tinyConfig(.ds1Photon, layerwise: true, latent: 3)   // 6 R values × 2 tokens
    let V = cfg.rTokens.valueCount
    // Bins of one decade from 10^2 MeV: 256 MeV in bin 0, 1 TeV in bin 4.
    var support = RSupport(logEnergyStart: 2, binWidth: 1, zero: [[Bool]](repeating: [Bool](repeating: false, count: V), count: 5),
                           lowest: [[Int]](repeating: [Int](repeating: 100, count: V), count: 5),
                           highest: [[Int]](repeating: [Int](repeating: 110, count: V), count: 5))
    support.zero[4] = [Bool](repeating: true, count: V)
    support.lowest[4] = [Int](repeating: 500, count: V)
    support.highest[4] = [Int](repeating: 520, count: V)
    cfg.rSupport = support
    let g = roughModel(cfg, seed: 8)
    let n = 30
    let energies = (0..<n).map { $0 % 2 == 0 ? 256.0 : 1_048_576 }
    let seeds = (0..<n).map { UInt64($0) }
    func leading(_ tokens: [Int32]) -> [(energy: Double, digit: Int)] {
      (0..<n).flatMap { i in (0..<V).map { v in (energies[i], Int(tokens[i * cfg.blockSize + 2 * v])) } }
    }
    let on = leading(GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds,
                                options: SamplingOptions(constrainR: true)).run())
    for (e, d) in on {
      if e == 256 { XCTAssertTrue((100...110).contains(d), "256 MeV: digit \(d)") }
      else { XCTAssertTrue(d == 0 || (500...520).contains(d), "1 TeV: digit \(d)") }
    }
    XCTAssertTrue(on.contains { $0.energy > 256 && $0.digit > 0 })
    // Without the constraint the same model draws outside those ranges, so the bounds above are the support's doing.
    let off = leading(GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds).run())
    XCTAssertTrue(off.contains { $0.energy == 256 && !(100...110).contains($0.digit) })
    // The reference sampler applies the support identically.
    XCTAssertEqual(GPTSampler.sampleWithoutCache(model: g, energies: [256, 1_048_576], seeds: [3, 4], options: SamplingOptions(constrainR: true)),
                   GPTSampler(engine: GPTEngine(model: g), energies: [256, 1_048_576], seeds: [3, 4], options: SamplingOptions(constrainR: true)).run())
    // A large empty-rate offset in bin 4 makes every 1 TeV value empty; 256 MeV (no empty value allowed) is unaffected.
    cfg.rSupport!.zeroLogitOffsets = (0..<5).map { [Float](repeating: $0 == 4 ? 60 : 0, count: V) }
    let g2 = roughModel(cfg, seed: 8)
    let pushed = leading(GPTSampler(engine: GPTEngine(model: g2), energies: energies, seeds: seeds,
                                    options: SamplingOptions(constrainR: true)).run())
    XCTAssertTrue(pushed.filter { $0.energy > 256 }.allSatisfy { $0.digit == 0 })
    XCTAssertTrue(pushed.filter { $0.energy == 256 }.allSatisfy { (100...110).contains($0.digit) })
    // The table travels in the model file; a corrupt one is refused with the file's name.
    let dir = NSTemporaryDirectory() + "calovq-rsupport-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try g2.save(to: dir + "/g.safetensors")
    XCTAssertEqual(try GPT.load(from: dir + "/g.safetensors").config.rSupport, cfg.rSupport)
    var broken = cfg
    broken.rSupport!.highest[2][1] = 5000
    try GPT(config: broken, seed: 1).save(to: dir + "/b.safetensors")
    XCTAssertThrowsError(try GPT.load(from: dir + "/b.safetensors")) {
      XCTAssertTrue("\($0)".contains("b.safetensors") && "\($0)".contains("R support"), "\($0)")
    }
  }

  func testLayerLeadingDigitsStayWithinTheirLayerBits() throws {
    var cfg = try tinyConfig(.ds1Photon, layerwise: true, latent: 3)
    cfg.rTokens = cfg.rTokens.withLayerBits(13)   // leading digit of each layer: 8 values
    let g = roughModel(cfg, seed: 8)
    let n = 60
    let s = GPTSampler(engine: GPTEngine(model: g), energies: [Double](repeating: 16384, count: n),
                       seeds: (0..<n).map { UInt64($0) })
    let tokens = s.run()
    var leading = Set<Int32>(), second = Set<Int32>()
    for i in 0..<n {
      for v in 1..<cfg.rTokens.valueCount {
        leading.insert(tokens[i * cfg.blockSize + 2 * v])
        second.insert(tokens[i * cfg.blockSize + 2 * v + 1])
      }
    }
    XCTAssertTrue(leading.allSatisfy { $0 < 8 }, "leading layer digits \(leading.sorted())")
    XCTAssertGreaterThan(leading.count, 1)
    XCTAssertTrue(second.contains { $0 >= 8 }, "the second digit keeps all 1024 values")
    // The reference sampler masks identically.
    let ref = GPTSampler.sampleWithoutCache(model: g, energies: [16384, 16384], seeds: [3, 4])
    let fast = GPTSampler(engine: GPTEngine(model: g), energies: [16384, 16384], seeds: [3, 4])
    XCTAssertEqual(ref, fast.run())
  }

  func testNucleusMaskKeepsTheSmallestSetReachingTheShare() {
    // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (logits ln p): a share of 0.8 needs the first
    // three (0.875); 0.75 is reached exactly by two; 0.9 needs four, and the tie at 0.0625 keeps five.
    let probs: [Float] = [0.125, 0.5, 0.0625, 0.25, 0.0625]
    func kept(_ share: Float, temperature: Float = 1) -> [Bool] {
      var p = probs.map { Foundation.log($0) }
      p.withUnsafeMutableBufferPointer { GPTSampler.maskOutsideNucleus($0.baseAddress!, 5, share: share, temperature: temperature) }
      return p.map { $0 > -.infinity }
    }
    XCTAssertEqual(kept(0.8), [true, true, false, true, false])
    XCTAssertEqual(kept(0.75), [false, true, false, true, false])
    XCTAssertEqual(kept(0.9), [true, true, true, true, true])
    XCTAssertEqual(kept(0.3), [false, true, false, false, false])
    // Temperature 2 flattens to ∝ √p = 0.354, 0.707, 0.25, 0.5, 0.25 (sum 2.06): 0.6 of the total needs
    // 0.707 + 0.5 = 1.207 (0.585) plus 0.354 → three tokens.
    XCTAssertEqual(kept(0.6, temperature: 2), [true, true, false, true, false])
  }

  func testRTopPActsOnLeadingRDigitsOnlyAndMatchesTheReferenceSampler() throws {
    let cfg = try tinyConfig(.ds1Photon, layerwise: true, latent: 3)
    let g = roughModel(cfg, seed: 8)
    let energies = [Double](repeating: 16384, count: 6)
    let seeds = (0..<6).map { UInt64(100 + $0) }
    let opts = SamplingOptions(rTopP: 0.5)
    let s = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds, options: opts)
    let full = GPTSampler(engine: GPTEngine(model: g), energies: energies, seeds: seeds)
    while !s.isFinished {
      let t = s.position
      s.step(); full.step()
      let nonzero = s.probabilities(sequence: 0).filter { $0 > 0 }.count
      let nonzeroFull = full.probabilities(sequence: 0).filter { $0 > 0 }.count
      if t < cfg.rTokens.tokenCount && t % cfg.rTokens.tokensPerValue == 0 {
        XCTAssertLessThan(nonzero, nonzeroFull, "position \(t): a 0.5 nucleus must drop tokens")
      } else if Array(s.tokens[0..<t]) == Array(full.tokens[0..<t]) {
        // Same prefix, not a leading R digit: nothing is masked.
        XCTAssertEqual(nonzero, nonzeroFull, "position \(t) is not a leading R digit")
      }
    }
    let reference = GPTSampler.sampleWithoutCache(model: g, energies: energies, seeds: seeds, options: opts)
    XCTAssertEqual(reference, s.tokens)
  }

  func testFastKernelsAgreeWithFoundation() {
    for i in 0..<20001 {
      let x = -90 + Float(i) * 0.0045
      let e = GPTKernels.exp(x), r = Foundation.exp(x)
      if x < -87.3 { XCTAssertEqual(e, 0) } else { XCTAssertEqual(e, r, accuracy: r * 4e-7) }
      let y = -6 + Float(i) * 0.0006
      XCTAssertEqual(GPTKernels.erf(y), Foundation.erf(y), accuracy: 3e-7)
    }
    XCTAssertEqual(GPTKernels.exp(-.infinity), 0)
    let a = (0..<37).map { Float($0) * 0.1 - 1 }, b = (0..<37).map { Float($0 % 5) - 2 }
    let d = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { GPTKernels.dot(pa.baseAddress!, $0.baseAddress!, 37) } }
    XCTAssertEqual(d, zip(a, b).map { $0 * $1 }.reduce(0, +), accuracy: 1e-4)
    XCTAssertEqual(a.withUnsafeBufferPointer { GPTKernels.maxValue($0.baseAddress!, 37) }, a.max()!)
  }

  func testTinyGPTLearnsADeterministicConditionalSequence() throws {
    let cfg = GPTConfig(dataset: .ds2, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, condition: .logEnergy,
                        rTokens: RTokenizer(mode: .global, bits: 10, rMax: 1.3), latentLength: 7)
    let g = GPT(config: cfg, seed: 1)
    // Two energies, each with its own fixed sequence; codes follow a pattern that needs the prefix.
    let lowE = 1000.0, highE = 500_000.0
    func seq(_ e: Double) -> [Int32] {
      let r: Int32 = e < 10_000 ? 400 : 700
      var s: [Int32] = [r]
      for i in 0..<7 { s.append((s.last! * 3 + Int32(i) + (e < 10_000 ? 11 : 500)) % 1024) }
      return s
    }
    let energies = (0..<16).map { $0 % 2 == 0 ? lowE : highE }
    let targets = energies.flatMap(seq)
    let opt = Adam(g.parameters, lr: 3e-3)
    var rng = RNG(seed: 2)
    var first: Float = 0, last: Float = 0
    for step in 0..<250 {
      opt.zeroGrad()
      let loss = g.loss(targets: targets, energies: energies, training: true, rng: &rng)
      loss.backward()
      opt.update()
      if step == 0 { first = loss.item }
      last = loss.item
    }
    XCTAssertGreaterThan(first, 6.5)          // ≈ ln 1024 at the start
    XCTAssertLessThan(last, 0.05)
    let out = GPTSampler(engine: GPTEngine(model: g), energies: [lowE, highE, lowE], seeds: [1, 2, 3]).run()
    XCTAssertEqual(out, seq(lowE) + seq(highE) + seq(lowE))
  }
}
