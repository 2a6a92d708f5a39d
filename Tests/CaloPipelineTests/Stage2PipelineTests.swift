// Stage-2 pipeline end to end with a tiny test-only stage-1 codec: training + exact resume, generation
// into real HDF5 files, sharding == unsharded, merge, energy sampling and augmentation.
import CaloData
import CaloGeometry
import CaloModel
import CaloTensor
import Foundation
import XCTest
@testable import CaloPipeline

/// A deterministic stand-in for the VQ-VAE on ds1 photons: code j (of 4) is the quantised energy
/// fraction of the voxels v ≡ j (mod 4); decoding spreads each layer's energy by those fractions.
struct TinyCodec: ShowerCodec {
  struct Config: Codable { var layerwise: Bool }
  let config: Config
  var latentShape: [Int] { [4] }
  static let layers = [8, 160, 190, 5, 5]
  static let voxels = 368

  func encode(energies: [Double], showers: [Float]) throws -> [Int32] {
    var out: [Int32] = []
    for s in 0..<energies.count {
      var part = [Float](repeating: 0, count: 4)
      for v in 0..<Self.voxels { part[v % 4] += showers[s * Self.voxels + v] }
      let tot = max(part.reduce(0, +), 1e-20)
      out += part.map { Int32(min(1023, Int(1024 * $0 / tot))) }
    }
    return out
  }

  func decode(codes: [Int32], energies: [Double]) throws -> [Float] {
    var out: [Float] = []
    for s in 0..<energies.count {
      var u = (0..<Self.voxels).map { Float(1 + codes[s * 4 + $0 % 4]) }
      if config.layerwise {
        var o = 0
        for n in Self.layers { let z = u[o..<(o + n)].reduce(0, +); for i in o..<(o + n) { u[i] /= z }; o += n }
      } else {
        let z = u.reduce(0, +)
        u = u.map { $0 / z }
      }
      out += u
    }
    return out
  }

  func rValues(energies: [Double], showers: [Float]) throws -> [Float] {
    var out: [Float] = []
    for (s, e) in energies.enumerated() {
      let row = showers[(s * Self.voxels)..<((s + 1) * Self.voxels)].map { $0 / Float(e) }
      if config.layerwise {
        var o = row.startIndex
        for n in Self.layers { out.append(row[o..<(o + n)].reduce(0, +)); o += n }
      } else {
        out.append(row.reduce(0, +))
      }
    }
    return out
  }

  func assemble(pixelsU: [Float], r: [Float], energies: [Double]) throws -> [Float] {
    let nR = config.layerwise ? 5 : 1
    var out = pixelsU
    for s in 0..<energies.count {
      var o = 0
      for (l, n) in (config.layerwise ? Self.layers : [Self.voxels]).enumerated() {
        for i in o..<(o + n) { out[s * Self.voxels + i] *= r[s * nR + l] * Float(energies[s]) }
        o += n
      }
    }
    return out
  }

  static func load(from path: String) throws -> TinyCodec {
    guard let d = FileManager.default.contents(atPath: path), let c = try? JSONDecoder().decode(Config.self, from: d) else {
      throw Stage2Error.noStage1Loader(path: path)
    }
    return TinyCodec(config: c)
  }
}

final class Stage2PipelineTests: XCTestCase {
  var dir: String!

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "stage2-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

  /// Shower-like synthetic ds1-photon file: energy deposited mostly in layers 1–2, seeded.
  func writeData(_ n: Int) throws -> String {
    var rng = RNG(seed: 42)
    var energies: [Double] = [], showers: [Float] = []
    for _ in 0..<n {
      let e = DatasetKind.ds1Energies[rng.int(below: 15)]
      energies.append(e)
      for v in 0..<368 {
        let w: Float = (8..<358).contains(v) ? 1 : 0.1
        showers.append(Float(e) * w * rng.uniform() * (v % 4 == 1 ? 0.01 : 0.004))
      }
    }
    let path = dir + "/train.h5"
    try writeShowerFile(path: path, energies: energies, showers: showers, voxels: 368)
    return path
  }

  func trainer(_ data: String, out: String, steps: Int, resume: Bool = false, rLogMin: Double? = nil,
               linearTotal: Bool = false, layerBits: Int? = nil, layerwise: Bool = true,
               dropout: Float? = nil) throws -> Stage2Trainer {
    var o = Stage2TrainOptions(dataPath: data, outDir: out)
    o.preset = "sample"; o.steps = steps; o.batchSize = 16; o.logEvery = 2; o.checkpointEvery = 2
    o.resume = resume; o.learningRate = 3e-3; o.rLogMin = rLogMin; o.rLinearTotal = linearTotal
    o.rLayerBits = layerBits
    o.dropout = dropout
    return try Stage2Trainer(codec: TinyCodec(config: .init(layerwise: layerwise)), options: o) { _ in }
  }

  func testTrainingLowersTheLossAndResumesExactly() throws {
    let data = try writeData(64)
    let full = try trainer(data, out: dir + "/a", steps: 12)
    XCTAssertEqual(full.gpt.config.blockSize, 12 + 4)   // 6 R values × 2 tokens + 4 codes
    let s = try full.run()
    XCTAssertEqual(s.steps, 12)
    XCTAssertLessThan(s.lastLoss, 6.5)                   // from ≈ ln 1024 = 6.93
    // 5 steps, stop, resume to 12: identical parameters.
    _ = try trainer(data, out: dir + "/b", steps: 5).run()
    let resumed = try trainer(data, out: dir + "/b", steps: 12, resume: true)
    _ = try resumed.run()
    for (p, q) in zip(full.gpt.parameters.tensors, resumed.gpt.parameters.tensors) {
      XCTAssertEqual(p.data, q.data, p.name!)
    }
    // The final model file loads with its config and the observed R range.
    let g = try GPT.load(from: dir + "/a/stage2.safetensors")
    XCTAssertEqual(g.parameters["head.weight"]!.data, full.gpt.parameters["head.weight"]!.data)
    XCTAssertEqual(g.config.rLimits?.count, 6)
    XCTAssertGreaterThan(g.config.rLimits![0], 0)
    let lower = try XCTUnwrap(g.config.rLowerLimits)
    XCTAssertEqual(lower.count, 6)
    for v in 0..<6 { XCTAssertLessThanOrEqual(lower[v], g.config.rLimits![v]) }
    XCTAssertGreaterThan(lower[0], 0, "every training total is positive")
    // The resumed run read the minimum from its checkpoint: the same bounds as the uninterrupted one.
    XCTAssertEqual(try GPT.load(from: dir + "/b/stage2.safetensors").config.rLowerLimits, lower)
    // A stop request ends the run after the current step and still writes the model.
    let stop = StopFlag()
    stop.stop()
    let st = try trainer(data, out: dir + "/c", steps: 100).run(stop: stop)
    XCTAssertTrue(st.stopped)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/c/stage2.safetensors"))
  }

  func testLogRQuantiserIsStoredInTheModelAndGuardsTheResume() throws {
    let data = try writeData(64)
    let t = try trainer(data, out: dir + "/log", steps: 4, rLogMin: 1e-8)
    XCTAssertEqual(t.gpt.config.rTokens.logMin, 1e-8)
    _ = try t.run()
    // The model file carries the quantiser, so generation decodes R the way training encoded it.
    let g = try GPT.load(from: dir + "/log/stage2.safetensors")
    XCTAssertEqual(g.config.rTokens, GPTPresets.rTokenizer(.ds1Photon, layerwise: true).withLogMin(1e-8))
    // Resuming with the linear quantiser would continue on differently tokenised targets: refused.
    XCTAssertThrowsError(try trainer(data, out: dir + "/log", steps: 6, resume: true)) { e in
      XCTAssertTrue("\(e)".contains("R quantiser"), "\(e)")
    }
    XCTAssertNoThrow(try trainer(data, out: dir + "/log", steps: 6, resume: true, rLogMin: 1e-8))
    // Log layers with a linear total (--r-quantiser log-layers): stored, and not mixed up with all-log.
    let m = try trainer(data, out: dir + "/mixed", steps: 4, rLogMin: 1e-8, linearTotal: true)
    _ = try m.run()
    XCTAssertEqual(try GPT.load(from: dir + "/mixed/stage2.safetensors").config.rTokens,
                   GPTPresets.rTokenizer(.ds1Photon, layerwise: true).withLogMin(1e-8, linearTotal: true))
    XCTAssertThrowsError(try trainer(data, out: dir + "/mixed", steps: 6, resume: true, rLogMin: 1e-8)) { e in
      XCTAssertTrue("\(e)".contains("R quantiser"), "\(e)")
    }
  }

  func testLayerBitsAreStoredCheckedAndGuardTheResume() throws {
    let data = try writeData(64)
    let t = try trainer(data, out: dir + "/coarse", steps: 4, rLogMin: 1e-8, linearTotal: true, layerBits: 16)
    _ = try t.run()
    let expected = GPTPresets.rTokenizer(.ds1Photon, layerwise: true).withLogMin(1e-8, linearTotal: true).withLayerBits(16)
    XCTAssertEqual(try GPT.load(from: dir + "/coarse/stage2.safetensors").config.rTokens, expected)
    XCTAssertThrowsError(try trainer(data, out: dir + "/coarse", steps: 6, resume: true, rLogMin: 1e-8, linearTotal: true)) { e in
      XCTAssertTrue("\(e)".contains("R quantiser"), "\(e)")
    }
    XCTAssertNoThrow(try trainer(data, out: dir + "/coarse", steps: 6, resume: true, rLogMin: 1e-8, linearTotal: true, layerBits: 16))
    // Bits that would need another token count, and a global model, are refused with the fix named.
    XCTAssertThrowsError(try trainer(data, out: dir + "/x", steps: 2, layerBits: 24)) { e in
      XCTAssertTrue("\(e)".contains("use 11…20"), "\(e)")
    }
    XCTAssertThrowsError(try trainer(data, out: dir + "/y", steps: 2, layerBits: 16, layerwise: false)) { e in
      XCTAssertTrue("\(e)".contains("layer-wise"), "\(e)")
    }
  }

  func testDropoutIsATrainingSettingThatMayChangeOnResume() throws {
    let data = try writeData(64)
    _ = try trainer(data, out: dir + "/d", steps: 4).run()
    // Resuming without dropout continues the same model (the resume guard ignores dropout) ...
    let noDrop = try trainer(data, out: dir + "/d", steps: 6, resume: true, dropout: 0)
    XCTAssertEqual(noDrop.gpt.config.dropout, 0)
    _ = try noDrop.run()
    // ... and trains differently from resuming with the preset's 0.1.
    _ = try trainer(data, out: dir + "/e", steps: 4).run()
    let withDrop = try trainer(data, out: dir + "/e", steps: 6, resume: true)
    XCTAssertEqual(withDrop.gpt.config.dropout, 0.1)
    _ = try withDrop.run()
    XCTAssertNotEqual(noDrop.gpt.parameters.tensors[0].data, withDrop.gpt.parameters.tensors[0].data)
    // Without dropout a step does not depend on the dropout draws: two runs agree exactly.
    _ = try trainer(data, out: dir + "/f", steps: 4).run()
    let again = try trainer(data, out: dir + "/f", steps: 6, resume: true, dropout: 0)
    _ = try again.run()
    for (p, q) in zip(noDrop.gpt.parameters.tensors, again.gpt.parameters.tensors) { XCTAssertEqual(p.data, q.data, p.name!) }
    // The quantiser still guards the resume; a dropout outside [0, 1) is refused.
    XCTAssertThrowsError(try trainer(data, out: dir + "/d", steps: 8, resume: true, layerBits: 16, dropout: 0))
    XCTAssertThrowsError(try trainer(data, out: dir + "/g", steps: 2, dropout: 1)) { e in
      XCTAssertTrue("\(e)".contains("--dropout must be in [0, 1)"), "\(e)")
    }
  }

  func makeModelDir(layerwise: Bool) throws -> String {
    let m = dir + "/model"
    try FileManager.default.createDirectory(atPath: m, withIntermediateDirectories: true)
    try JSONEncoder().encode(TinyCodec.Config(layerwise: layerwise)).write(to: URL(fileURLWithPath: m + "/stage1.safetensors"))
    let cfg = try GPTPresets.config(dataset: .ds1Photon, layerwise: layerwise, preset: "sample", latentLength: 4)
    try GPT(config: cfg, seed: 9).save(to: m + "/stage2.safetensors")
    return m
  }

  let tinyLoader: Stage1Loaders.Loader = { path in try TinyCodec.load(from: path) }

  func testGeneratedFileHasTheRequestedEnergiesAndSource() throws {
    let m = try makeModelDir(layerwise: true)
    XCTAssertThrowsError(try loadModelDirectory(m))       // no VQ-VAE loader in this build
    let (codec, gpt) = try loadModelDirectory(m, extraLoaders: [tinyLoader])
    let gen = try ShowerGenerator(codec: codec, gpt: gpt)
    var o = GenerateOptions(count: 10)
    o.energies = .fixed(65536)
    o.batchSize = 4
    let out = dir + "/gen.h5"
    let s = try generateShowerFile(generator: gen, options: o, outPath: out, source: ShowerSource.model("test"))
    XCTAssertEqual(s.showers, 10)
    let r = try ShowerFileReader(path: out, expected: .ds1Photon)
    XCTAssertEqual(r.count, 10)
    XCTAssertEqual(r.energies, [Double](repeating: 65536, count: 10))
    XCTAssertEqual(r.source, "Calo-VQ model test")
    let b = try r.read(from: 0, count: 10)
    XCTAssertTrue(b.showers.allSatisfy { $0.isFinite && $0 >= 0 })
    // Total energy = decoded R sum × E (the layers were rescaled to the decoded total).
    for i in 0..<10 {
      let tot = b.shower(i).reduce(0, +)
      XCTAssertGreaterThan(tot, 0)
      XCTAssertLessThan(tot, 3 * 65536)
    }
  }

  func testShardsMergeToTheUnshardedRun() throws {
    let m = try makeModelDir(layerwise: false)
    let (codec, gpt) = try loadModelDirectory(m, extraLoaders: [tinyLoader])
    let gen = try ShowerGenerator(codec: codec, gpt: gpt)
    var o = GenerateOptions(count: 11)
    o.seed = 77
    o.batchSize = 5
    _ = try generateShowerFile(generator: gen, options: o, outPath: dir + "/all.h5", source: "x")
    var parts: [String] = []
    for i in 0..<3 {
      var p = o
      p.shard = Shard(index: i, count: 3)
      p.batchSize = 2
      let path = dir + "/part\(i).h5"
      _ = try generateShowerFile(generator: gen, options: p, outPath: path, source: "x")
      parts.append(path)
    }
    XCTAssertEqual(try mergeShowerFiles(parts, into: dir + "/merged.h5"), 11)
    let a = try ShowerFileReader(path: dir + "/all.h5"), b = try ShowerFileReader(path: dir + "/merged.h5")
    XCTAssertEqual(a.energies, b.energies)
    XCTAssertEqual(try a.read(from: 0, count: 11).showers, try b.read(from: 0, count: 11).showers)
    XCTAssertEqual(b.source, "x")
    // A different seed gives different showers.
    o.seed = 78
    _ = try generateShowerFile(generator: gen, options: o, outPath: dir + "/other.h5", source: "x")
    XCTAssertNotEqual(try ShowerFileReader(path: dir + "/other.h5").read(from: 0, count: 11).showers,
                      try a.read(from: 0, count: 11).showers)
  }

  func testEnergySampling() {
    let photons = sampleEnergies(.automatic, dataset: .ds1Photon, total: 121_000, range: 0..<121_000, seed: 3)
    for (k, e) in DatasetKind.ds1Energies.enumerated() {
      XCTAssertEqual(photons.filter { $0 == e }.count, DatasetKind.ds1Photon.ds1OfficialCounts[k])
    }
    XCTAssertNotEqual(Array(photons.prefix(20)), Array(photons.sorted().prefix(20)))   // shuffled
    let part = sampleEnergies(.automatic, dataset: .ds1Photon, total: 121_000, range: 500..<600, seed: 3)
    XCTAssertEqual(part, Array(photons[500..<600]))
    let small = sampleEnergies(.ds1List, dataset: .ds1Pion, total: 7, range: 0..<7, seed: 1)
    XCTAssertEqual(small.count, 7)
    let u = sampleEnergies(.automatic, dataset: .ds3, total: 5000, range: 0..<5000, seed: 5)
    XCTAssertTrue(u.allSatisfy { $0 >= 1000 && $0 <= 1_000_000 })
    let logs = u.map { log10($0) }
    XCTAssertEqual(logs.reduce(0, +) / 5000, 4.5, accuracy: 0.05)                       // log-uniform
    XCTAssertEqual(sampleEnergies(.automatic, dataset: .ds3, total: 5000, range: 10..<20, seed: 5), Array(u[10..<20]))
    XCTAssertEqual(Shard(parsing: "2/3"), Shard(index: 2, count: 3))
    XCTAssertNil(Shard(parsing: "3/3"))
    XCTAssertEqual(Shard(index: 1, count: 3).range(of: 11), 3..<7)
  }

  func testAugmentationRollsAndFlipsTheAngle() {
    // ds2: index z·(16·9) + a·9 + r. One hot voxel at (z 3, a 2, r 5).
    var rng = RNG(seed: 4)
    var x = [Float](repeating: 0, count: 2 * 6480)
    x[3 * 144 + 2 * 9 + 5] = 1
    x[6480 + 10 * 144 + 15 * 9] = 2
    Stage2Augmentation.apply(&x, count: 2, dataset: .ds2, layerwise: false, rng: &rng)
    var check = RNG(seed: 4)
    let n = check.int(below: 16)
    XCTAssertEqual(x[3 * 144 + ((2 + n) % 16) * 9 + 5], 1)
    XCTAssertEqual(x[6480 + 10 * 144 + ((15 + n) % 16) * 9], 2)   // same roll for the whole batch
    XCTAssertEqual(x.reduce(0, +), 3)
    var y = [Float](repeating: 1, count: 40500)
    Stage2Augmentation.apply(&y, count: 1, dataset: .ds3, layerwise: false, rng: &rng)
    XCTAssertTrue(y.allSatisfy { $0 == 1 })                        // ds3 global: none
    XCTAssertEqual(Stage2Augmentation.kinds(.ds3, layerwise: true).flip, true)
  }
}
