// `fitRSupport` end to end on real files: a model folder and a CaloChallenge training file in a temp
// folder; the support and the empty-rate offsets land in stage2.safetensors, nothing else changes.
import CaloData
import CaloGeometry
import CaloModel
import CaloTestSupport
import Foundation
import XCTest
@testable import CaloPipeline

final class RSupportJobTests: TempDirTestCase {
  /// ds1-photon training showers: every layer filled, except the last relevant one, which is empty
  /// below 8 GeV and in every third shower of each energy above.
  private func writeData(_ path: String, count n: Int) throws -> [Double] {
    let g = DatasetKind.ds1Photon.geometry, v = g.voxelCount
    let bounds = g.relevantLayerIndices.map { g.offsets[$0] } + [v]
    let energies = (0..<n).map { DatasetKind.ds1Energies[$0 % 15] }
    var showers = [Float](repeating: 0, count: n * v)
    for i in 0..<n {
      for k in 0..<(bounds.count - 1) {
        let last = k == bounds.count - 2
        if last && (energies[i] < 8000 || (i / 15) % 3 == 0) { continue }
        for j in bounds[k]..<bounds[k + 1] { showers[i * v + j] = Float(energies[i]) * 1e-3 * Float(1 + (i + j) % 5) }
      }
    }
    try writeShowerFile(path: path, energies: energies, showers: showers, voxels: v)
    return energies
  }

  private func writeModel(_ folder: String) throws -> GPT {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "tiny"), seed: 4).save(to: folder + "/stage1.safetensors")
    let gpt = GPT(config: try GPTPresets.config(dataset: .ds1Photon, layerwise: true, preset: "sample", latentLength: 32), seed: 3)
    try gpt.save(to: folder + "/stage2.safetensors", extraMetadata: ["step": "7"])
    return gpt
  }

  func testSupportAndEmptyRatesAreWrittenIntoTheModelFile() throws {
    let src = dir.file("model")
    let gpt = try writeModel(src)
    _ = try writeData(dir.file("train.h5"), count: 450)
    let s = try fitRSupport(modelDirectory: src, dataPath: dir.file("train.h5"), count: nil, emptyRateIterations: 2,
                            emptyRateShowers: 600)
    XCTAssertEqual(s.showers, 450)
    let loaded = try GPT.load(from: src + "/stage2.safetensors")
    XCTAssertEqual(loaded.config.rSupport, s.support)
    for (a, b) in zip(gpt.parameters.tensors, loaded.parameters.tensors) { XCTAssertEqual(a.data, b.data, a.name!) }
    XCTAssertEqual(try SafeTensorsF32.read(src + "/stage2.safetensors").metadata["step"], "7")
    // The last layer (value 5): only empty at 1 GeV, never empty plus mixed above 8 GeV.
    let last = s.support.allowedLeadingDigits(bin: s.support.bin(forEnergy: 1024), value: 5)
    XCTAssertTrue(last.zero); XCTAssertNil(last.nonZero)
    let high = s.support.allowedLeadingDigits(bin: s.support.bin(forEnergy: 262_144), value: 5)
    XCTAssertTrue(high.zero); XCTAssertNotNil(high.nonZero)
    XCTAssertFalse(s.support.allowedLeadingDigits(bin: 0, value: 1).zero, "layer 0 is never empty")
    XCTAssertGreaterThan(s.zeroExcluded, 0)
    // Three measurements (before, after each of 2 rounds). The untrained GPT draws the last layer empty
    // at some rate far from the training rate of 1/3 above 8 GeV; the offsets must close most of the gap,
    // and only cells where training has both empty and non-empty values get one.
    XCTAssertEqual(s.emptyRateGaps.count, 3)
    XCTAssertGreaterThan(s.emptyRateGaps[0].mean, 0.05)
    XCTAssertLessThan(s.emptyRateGaps[2].mean, 0.5 * s.emptyRateGaps[0].mean, "\(s.emptyRateGaps)")
    let offsets = try XCTUnwrap(s.support.zeroLogitOffsets)
    XCTAssertNotEqual(offsets[s.support.bin(forEnergy: 262_144)][5], 0)
    XCTAssertEqual(offsets[s.support.bin(forEnergy: 1024)][5], 0, "always empty at 1 GeV: nothing to fit")
    XCTAssertTrue(offsets.allSatisfy { $0[1] == 0 }, "layer 0 is never empty")

    // A packed (float16) folder stays float16.
    let packed = dir.file("packed")
    _ = try packModelDirectory(from: src, to: packed)
    _ = try fitRSupport(modelDirectory: packed, dataPath: dir.file("train.h5"), count: 100)
    XCTAssertTrue(try SafeTensorsF32.storesFloat16(packed + "/stage2.safetensors"))
    XCTAssertNil(try GPT.load(from: packed + "/stage2.safetensors").config.rSupport?.zeroLogitOffsets)
  }

  func testBadInputIsNamedAndLeavesTheModelAlone() throws {
    let src = dir.file("model")
    _ = try writeModel(src)
    let before = try Data(contentsOf: URL(fileURLWithPath: src + "/stage2.safetensors"))
    let pion = DatasetKind.ds1Pion.geometry.voxelCount
    try writeShowerFile(path: dir.file("pion.h5"), energies: [1024, 2048], showers: [Float](repeating: 1, count: 2 * pion), voxels: pion)
    XCTAssertThrowsError(try fitRSupport(modelDirectory: src, dataPath: dir.file("pion.h5"), count: nil)) {
      XCTAssertTrue("\($0)".contains("533"), "\($0)")
    }
    XCTAssertThrowsError(try fitRSupport(modelDirectory: src, dataPath: dir.file("missing.h5"), count: nil)) {
      XCTAssertTrue("\($0)".contains("missing.h5"), "\($0)")
    }
    XCTAssertThrowsError(try fitRSupport(modelDirectory: src, dataPath: dir.file("pion.h5"), count: 0)) {
      XCTAssertTrue("\($0)".contains("--count"), "\($0)")
    }
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: src + "/stage2.safetensors")), before)
  }
}
