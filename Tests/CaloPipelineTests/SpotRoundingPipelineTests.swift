// Spot rounding through the pipeline: a table fitted with a real (untrained, tiny) model folder makes
// `generateShowerFile` as sparse as the target showers, the table travels with pack-model, and bad
// tables are refused with the file's name.
import CaloData
import CaloGeometry
import CaloModel
import CaloTestSupport
import Foundation
import XCTest
@testable import CaloPipeline

final class SpotRoundingPipelineTests: XCTestCase {
  private var temps: [TempDir] = []   // removed in tearDown (XCTest keeps test case objects to the end)

  override func tearDown() {
    temps = []
    super.tearDown()
  }

  private func tempDir() throws -> String {
    temps.append(TempDir())
    return temps.last!.path
  }

  /// A loadable ds1-photon model folder with untrained sample-preset stages (stage 1 has the GPT's
  /// 1024 codes; its softmax head makes every voxel > 0).
  private func modelFolder() throws -> String {
    let m = try tempDir()
    try Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "sample"), seed: 4).save(to: m + "/stage1.safetensors")
    try GPT(config: try GPTPresets.config(dataset: .ds1Photon, layerwise: true, preset: "sample", latentLength: 32), seed: 3)
      .save(to: m + "/stage2.safetensors")
    return m
  }

  /// Mean non-empty voxels per shower in each layer of a file.
  private func occupancy(_ path: String) throws -> [Double] {
    let r = try ShowerFileReader(path: path)
    let g = DatasetKind.ds1Photon.geometry
    var occ = [Double](repeating: 0, count: g.layers.count)
    try r.forEachBatch(size: 1000) { b in
      for i in 0..<b.count { for l in g.layers.indices {
        for k in g.offsets[l]..<g.offsets[l + 1] where b.showers[i * g.voxelCount + k] > 0 { occ[l] += 1 }
      } }
    }
    return occ.map { $0 / Double(r.count) }
  }

  /// The E_tot/E_inc map's dither is one level of a global model's linear R quantiser, 0 otherwise.
  func testTotalRatioDitherIsOneLinearLevel() throws {
    XCTAssertEqual(totalRatioDither(GPTPresets.rTokenizer(.ds3, layerwise: false)), 1.7 / 1024, accuracy: 1e-15)
    XCTAssertEqual(totalRatioDither(GPTPresets.rTokenizer(.ds2, layerwise: false)), 1.3 / 1024, accuracy: 1e-15)
    XCTAssertEqual(totalRatioDither(GPTPresets.rTokenizer(.ds3, layerwise: true)), 0)
    XCTAssertEqual(totalRatioDither(GPTPresets.rTokenizer(.ds2, layerwise: false).withLogMin(1e-3)), 0)
    // Through the pipeline: a 300-shower target at one energy gives the map a row, with that dither.
    let m = try modelFolder(), dir = try tempDir(), g = DatasetKind.ds1Photon.geometry, n = 300
    let target = (0..<(n * g.voxelCount)).map { Float(($0 % 7) + 1) }
    try writeShowerFile(path: dir + "/target.h5", energies: [Double](repeating: 65536, count: n), showers: target, voxels: g.voxelCount)
    let t = try calibrateSpotRounding(modelDirectory: m, dataPath: dir + "/target.h5", count: n, seed: 7,
                                      options: SpotRoundingFitOptions(totalEnergyMap: true)).table
    XCTAssertEqual(t.totalRatioDither, nil, "the ds1 model here is layer-wise: no dither")
    XCTAssertEqual(t.totalRatioDense?[t.bin(of: 65536)].count, SpotRoundingFit.totalMapKnots)
  }

  func testCalibratedModelGeneratesAsSparseAsTheTarget() throws {
    let m = try modelFolder(), dir = try tempDir()
    let g = DatasetKind.ds1Photon.geometry, n = 300, e = 65536.0
    // Target: in each layer, the first third of its voxels hold 1 MeV.
    func want(_ l: Int) -> Int { max(1, g.layers[l].voxelCount / 3) }
    var target = [Float](repeating: 0, count: n * g.voxelCount)
    for i in 0..<n { for l in g.relevantLayerIndices { for k in 0..<want(l) { target[i * g.voxelCount + g.offsets[l] + k] = 1 } } }
    try writeShowerFile(path: dir + "/target.h5", energies: [Double](repeating: e, count: n), showers: target, voxels: g.voxelCount)

    let cal = try calibrateSpotRounding(modelDirectory: m, dataPath: dir + "/target.h5", count: n, seed: 7)
    XCTAssertEqual(cal.showers, n)
    try cal.table.save(to: m + "/" + modelSpotRoundingFileName)
    XCTAssertEqual(try loadModelSpotRounding(m), cal.table)

    let (codec, gpt) = try loadModelDirectory(m)
    var opts = GenerateOptions(count: n)
    opts.energies = .fixed(e)
    opts.seed = 7
    let dense = try ShowerGenerator(codec: codec, gpt: gpt)
    let rounded = try ShowerGenerator(codec: codec, gpt: gpt, spotRounding: try loadModelSpotRounding(m))
    _ = try generateShowerFile(generator: dense, options: opts, outPath: dir + "/dense.h5", source: "test")
    _ = try generateShowerFile(generator: rounded, options: opts, outPath: dir + "/rounded.h5", source: "test")
    let occDense = try occupancy(dir + "/dense.h5"), occRounded = try occupancy(dir + "/rounded.h5")
    for l in g.relevantLayerIndices {
      let w = Double(want(l))
      XCTAssertEqual(occDense[l], Double(g.layers[l].voxelCount), "softmax head: all voxels non-empty before rounding")
      XCTAssertEqual(occRounded[l], w, accuracy: 0.1 * w, "layer \(l)")
      XCTAssertGreaterThan(cal.table.thresholdsMeV[8][l], 0)
    }
    // Energy is kept in expectation: the layer sums of the two files agree to a few per cent.
    let a = try ShowerFileReader(path: dir + "/dense.h5").read(from: 0, count: n).showers.reduce(0, +)
    let b = try ShowerFileReader(path: dir + "/rounded.h5").read(from: 0, count: n).showers.reduce(0, +)
    XCTAssertEqual(Double(b / a), 1, accuracy: 0.03)

    // spot-round on a file reproduces the same kind of result, and the same seed the same file.
    XCTAssertEqual(try spotRoundFile(inputPath: dir + "/dense.h5", table: cal.table, seed: 3, outPath: dir + "/r1.h5"), n)
    _ = try spotRoundFile(inputPath: dir + "/dense.h5", table: cal.table, seed: 3, outPath: dir + "/r2.h5")
    XCTAssertEqual(try ShowerFileReader(path: dir + "/r1.h5").read(from: 0, count: n).showers,
                   try ShowerFileReader(path: dir + "/r2.h5").read(from: 0, count: n).showers)
    XCTAssertTrue(try ShowerFileReader(path: dir + "/r1.h5").source?.contains("spot-rounded (seed 3)") ?? false)

    // A table of another dataset is refused by the generator.
    let other = SpotRoundingTable(dataset: .ds2, log10EnergyEdges: SpotRoundingTable.defaultEdges(for: .ds2),
                                  thresholdsMeV: Array(repeating: Array(repeating: 0, count: 45), count: 12))
    XCTAssertThrowsError(try ShowerGenerator(codec: codec, gpt: gpt, spotRounding: other)) {
      XCTAssertTrue("\($0)".contains("for ds2 but the model is ds1-photon"), "\($0)")
    }
  }

  func testPackCopiesTheTableAndRemovesAStaleOne() throws {
    let m = try modelFolder(), dst = try tempDir() + "/packed"
    let edges = SpotRoundingTable.defaultEdges(for: .ds1Photon)
    let t = SpotRoundingTable(dataset: .ds1Photon, log10EnergyEdges: edges,
                              thresholdsMeV: Array(repeating: Array(repeating: 0.5, count: 24), count: 15))
    try t.save(to: m + "/" + modelSpotRoundingFileName)
    XCTAssertTrue(try packModelDirectory(from: m, to: dst).hasSpotRounding)
    XCTAssertEqual(try loadModelSpotRounding(dst), t)
    try FileManager.default.removeItem(atPath: m + "/" + modelSpotRoundingFileName)
    XCTAssertFalse(try packModelDirectory(from: m, to: dst).hasSpotRounding)
    XCTAssertNil(try loadModelSpotRounding(dst), "a stale table would change how the new pack generates")

    try "{\"dataset\": \"ds1-photon\"}".write(toFile: m + "/" + modelSpotRoundingFileName, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try packModelDirectory(from: m, to: dst)) { XCTAssertTrue("\($0)".contains("spot-rounding.json"), "\($0)") }
  }
}
