// Stage-1 model tests: paper parameter counts and latent grids (calovq_facts.md §10), output shapes
// and normalisation, encode/decode API, model files.
import CaloGeometry
import CaloNN
import CaloTensor
import XCTest

@testable import CaloModel

/// Every (dataset, norm) combination the project supports.
let stage1Combos: [(DatasetKind, NormMode)] = [
  (.ds1Photon, .layerwise), (.ds1Photon, .global), (.ds1Pion, .layerwise), (.ds2, .global), (.ds2, .layerwise),
  (.ds3, .global), (.ds3, .layerwise),
]

func countByPart(_ m: Stage1Model) -> [String: Int] {
  var out: [String: Int] = [:]
  for t in m.generator.tensors {
    let part = String(t.name!.split(separator: ".").first!)
    out[part, default: 0] += t.count
  }
  out["generator"] = m.generator.scalarCount
  out["disc"] = m.discriminator.scalarCount
  return out
}

final class Stage1ModelTests: XCTestCase {
  func testPaperParameterCountsMatchReference() throws {
    // (dataset, norm) → encoder, quant_conv, codebook, post_quant_conv, decoder, generator, disc (§10).
    let expected: [(DatasetKind, NormMode, [Int])] = [
      (.ds1Photon, .layerwise, [1_462_829, 65_792, 262_144, 65_792, 1_593_789, 3_450_346, 379_566]),
      (.ds1Pion, .layerwise, [1_547_309, 65_792, 262_144, 65_792, 1_678_434, 3_619_471, 464_046]),
      (.ds2, .global, [429_584, 33_024, 262_144, 32_896, 701_833, 1_459_481, 1_623_505]),
      (.ds3, .global, [652_576, 49_344, 196_608, 49_408, 592_050, 1_539_986, 577_793]),
      (.ds3, .layerwise, [652_576, 65_792, 262_144, 65_792, 592_050, 1_638_354, 577_793]),
    ]
    for (d, norm, want) in expected {
      let m = Stage1Model(config: try Stage1Presets.config(dataset: d, norm: norm, preset: "paper"), seed: 1)
      let c = countByPart(m)
      let got = [c["encoder"]!, c["quant_conv"]!, c["quantize"]!, c["post_quant_conv"]!, c["decoder"]!, c["generator"]!, c["disc"]!]
      XCTAssertEqual(got, want, "\(d) \(norm)")
    }
    // Our variants share the paper networks: same counts as their reference counterparts.
    let g1 = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, norm: .global, preset: "paper"))
    XCTAssertEqual(g1.generator.scalarCount, 3_450_346)
    let l2 = Stage1Model(config: try Stage1Presets.config(dataset: .ds2, norm: .layerwise, preset: "paper"))
    XCTAssertEqual(l2.generator.scalarCount, 1_459_481)
    XCTAssertEqual(l2.discriminator.scalarCount, 1_623_505)
  }

  func testPaperLatentGrids() throws {
    let want: [(DatasetKind, NormMode, [Int])] = [
      (.ds1Photon, .layerwise, [32]), (.ds1Pion, .layerwise, [32]), (.ds2, .global, [17, 4]), (.ds2, .layerwise, [17, 4]),
      (.ds3, .global, [13, 14]), (.ds3, .layerwise, [24, 26]),
    ]
    for (d, n, g) in want {
      let m = Stage1Model(config: try Stage1Presets.config(dataset: d, norm: n, preset: "paper"))
      XCTAssertEqual(m.latentShape, g, "\(d) \(n)")
      XCTAssertEqual(m.config.codebookSize, 1024)
    }
  }

  func testSamplePresetsKeepGridKAndD() throws {
    for (d, n) in stage1Combos {
      let paper = Stage1Model(config: try Stage1Presets.config(dataset: d, norm: n, preset: "paper"))
      let sample = Stage1Model(config: try Stage1Presets.config(dataset: d, norm: n, preset: "sample"))
      XCTAssertEqual(sample.latentShape, paper.latentShape, "\(d) \(n)")
      XCTAssertEqual(sample.config.codebookSize, 1024)
      XCTAssertEqual(sample.config.codeDim, paper.config.codeDim)
      XCTAssertLessThan(sample.generator.scalarCount, paper.generator.scalarCount / 2, "\(d) \(n)")
    }
  }

  func testDecodeShapesAndGroupSums() throws {
    for (d, n) in stage1Combos {
      let m = Stage1Model(config: try Stage1Presets.config(dataset: d, norm: n, preset: "tiny"), seed: 3)
      let (e, s) = Stage1ToyShowers.make(d, count: 3, seed: 9)
      let codes = m.encode(energies: e, showers: s)
      XCTAssertEqual(codes.count, 3 * m.latentCount)
      XCTAssertTrue(codes.allSatisfy { $0 >= 0 && $0 < Int32(m.config.codebookSize) })
      let u = m.decode(codes: codes, energies: e)
      XCTAssertEqual(u.count, 3 * d.voxelCount)
      let pre = m.preprocessing
      for sh in 0..<3 {
        for g in 0..<pre.groupCount {
          var sum = 0.0
          for i in pre.groupBounds[g]..<pre.groupBounds[g + 1] { sum += Double(u[sh * d.voxelCount + i]); XCTAssertGreaterThanOrEqual(u[sh * d.voxelCount + i], 0) }
          // relu→expm1 heads may output an all-zero layer (§2.6); softmax heads never do.
          if sum != 0 || !(d == .ds3 || (d == .ds2 && n == .layerwise)) {
            XCTAssertEqual(sum, 1, accuracy: 1e-4, "\(d) \(n) shower \(sh) group \(g)")
          }
        }
      }
      XCTAssertEqual(m.rValues(energies: e, showers: s).count, 3 * m.rCount)
      let rec = m.reconstruct(energies: e, showers: s)
      XCTAssertEqual(rec.count, s.count)
    }
  }

  func testSaveLoadRoundTrip() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stage1-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let m = Stage1Model(config: try Stage1Presets.config(dataset: .ds2, norm: .global, preset: "tiny"), seed: 5)
    let path = dir.appendingPathComponent("m.safetensors").path
    try m.save(to: path)
    let m2 = try Stage1Model.load(from: path)
    XCTAssertEqual(m2.config, m.config)
    for (a, b) in zip(m.generator.tensors + m.discriminator.tensors, m2.generator.tensors + m2.discriminator.tensors) {
      XCTAssertEqual(a.name, b.name)
      XCTAssertEqual(a.data, b.data)
    }
    let (e, s) = Stage1ToyShowers.make(.ds2, count: 2, seed: 1)
    XCTAssertEqual(m.encode(energies: e, showers: s), m2.encode(energies: e, showers: s))
    // float16 file: half the size, values within half precision.
    let p16 = dir.appendingPathComponent("m16.safetensors").path
    try m.save(to: p16, float16: true)
    let m3 = try Stage1Model.load(from: p16)
    let w = m.generator.tensors[0].data, w3 = m3.generator.tensors[0].data
    for i in w.indices { XCTAssertEqual(w3[i], w[i], accuracy: Swift.abs(w[i]) * 1e-3 + 1e-6) }
    let size32 = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    let size16 = try FileManager.default.attributesOfItem(atPath: p16)[.size] as! Int
    XCTAssertLessThan(size16, size32 * 6 / 10)
    // A non-model file is rejected with a typed error.
    let junk = dir.appendingPathComponent("junk").path
    try Data("hello world, not safetensors".utf8).write(to: URL(fileURLWithPath: junk))
    XCTAssertThrowsError(try Stage1Model.load(from: junk))
  }

  func testConfigJSONRoundTrip() throws {
    for (d, n) in stage1Combos {
      let c = try Stage1Presets.config(dataset: d, norm: n, preset: "paper")
      let back = try JSONDecoder().decode(Stage1Config.self, from: JSONEncoder().encode(c))
      XCTAssertEqual(back, c)
    }
    XCTAssertThrowsError(try Stage1Presets.config(dataset: .ds2, preset: "huge"))
  }

  func testConfigWithoutHeInitKeyStillDecodes() throws {
    // Model files written before the heInit option existed carry no such key.
    var c = try Stage1Presets.config(dataset: .ds1Photon, preset: "sample")
    c.heInit = true
    var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as! [String: Any]
    XCTAssertEqual(json["heInit"] as? Bool, true)
    json["heInit"] = nil
    let old = try JSONDecoder().decode(Stage1Config.self, from: JSONSerialization.data(withJSONObject: json))
    XCTAssertNil(old.heInit)
  }

  func testHeInitScalesHiddenLayersOnly() throws {
    var c = try Stage1Presets.config(dataset: .ds1Photon, preset: "sample")
    XCTAssertEqual(c.heInit, true)                       // the sample preset's choice for ds1
    XCTAssertNil(try Stage1Presets.config(dataset: .ds1Photon, preset: "paper").heInit)   // the paper's: defaults
    c.heInit = nil
    let reference = Stage1Model(config: c, seed: 5)
    c.heInit = true
    let he = Stage1Model(config: c, seed: 5)
    func t(_ m: Stage1Model, _ name: String) -> [Float] { m.generator[name]!.data }
    // Hidden ReLU layers: the same draws ×√6 (He-uniform bound √(6/fan_in)), biases zero.
    for name in ["encoder.mlp.0", "encoder.convs.1", "encoder.out", "decoder.convs.0", "decoder.mlp.1"] {
      let w0 = t(reference, name + ".weight"), w1 = t(he, name + ".weight")
      let fanIn = Float(reference.generator[name + ".weight"]!.shape.dropFirst().reduce(1, *))
      for (a, b) in zip(w0, w1) { XCTAssertEqual(b, a * Float(6).squareRoot(), accuracy: 1e-6 * max(1, abs(b))) }
      XCTAssertLessThanOrEqual(w1.map(abs).max()!, (6 / fanIn).squareRoot(), name)
      XCTAssertGreaterThan(w1.map(abs).max()!, 1 / fanIn.squareRoot(), name)   // really rescaled
      XCTAssertTrue(t(he, name + ".bias").allSatisfy { $0 == 0 }, name)
      XCTAssertFalse(t(reference, name + ".bias").allSatisfy { $0 == 0 }, name)
    }
    // The output layer, the codebook and the 1×1 quant convs keep the reference init.
    for name in ["decoder.last.weight", "decoder.last.bias", "quantize.embedding.weight", "quant_conv.weight"] {
      XCTAssertEqual(t(he, name), t(reference, name), name)
    }
    // Why: with the reference init, two different latent grids give almost the same decoder trunk
    // output (the input signal shrinks through the ReLU stack); He init keeps them apart.
    let n = 2 * 32 * 64
    let q1 = Tensor([2, 32, 64], data: (0..<n).map { Float(($0 * 7919) % 13) / 13 - 0.5 })
    let q2 = Tensor([2, 32, 64], data: (0..<n).map { Float(($0 * 104_729) % 17) / 17 - 0.5 })
    func sensitivity(_ m: Stage1Model) -> Float {
      guard case let .hybrid(_, dec, _) = m.nets else { return 0 }
      let (h1, h2) = withNoGrad { (dec.trunk(q1, cls: [0, 14]).data, dec.trunk(q2, cls: [0, 14]).data) }
      let diff = zip(h1, h2).map { abs($0 - $1) }.reduce(0, +), size = h1.map(abs).reduce(0, +)
      return diff / max(size, 1e-30)
    }
    print("decoder sensitivity: reference \(sensitivity(reference)), He \(sensitivity(he))")
    XCTAssertGreaterThan(sensitivity(he), 10 * sensitivity(reference))
  }
}
