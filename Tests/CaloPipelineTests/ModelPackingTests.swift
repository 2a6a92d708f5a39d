// pack-model: float16 copies of both stages that load back to the half-precision-rounded weights,
// sampling.json copied, and clear refusals.
import CaloGeometry
import CaloModel
import Foundation
import XCTest
@testable import CaloPipeline

final class ModelPackingTests: XCTestCase {
  private func tempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "calovq-pack-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  private func size(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.size] as! NSNumber).intValue }

  func testPackedFolderHoldsHalfPrecisionWeightsAndTheSampling() throws {
    let src = try tempDir(), dst = try tempDir() + "/packed"
    let s1 = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "tiny"), seed: 4)
    try s1.save(to: src + "/stage1.safetensors")
    let gpt = GPT(config: try GPTPresets.config(dataset: .ds1Photon, layerwise: true, preset: "sample", latentLength: 32), seed: 3)
    for p in gpt.parameters.tensors { p.data = p.data.enumerated().map { Float($0.offset % 7) * 0.0123 - 0.03 + $0.element } }
    try gpt.save(to: src + "/stage2.safetensors", extraMetadata: ["step": "42"])
    try #"{"temperature": 1.1, "rTopP": 0.99}"#.write(toFile: src + "/sampling.json", atomically: true, encoding: .utf8)

    let summary = try packModelDirectory(from: src, to: dst)
    XCTAssertTrue(summary.hasSampling)
    XCTAssertEqual(summary.stage2Bytes, try size(dst + "/stage2.safetensors"))
    XCTAssertLessThan(Double(try size(dst + "/stage1.safetensors")), 0.55 * Double(try size(src + "/stage1.safetensors")))
    XCTAssertLessThan(Double(try size(dst + "/stage2.safetensors")), 0.55 * Double(try size(src + "/stage2.safetensors")))

    let g2 = try GPT.load(from: dst + "/stage2.safetensors")
    var changed = 0
    for (a, b) in zip(gpt.parameters.tensors, g2.parameters.tensors) {
      XCTAssertEqual(a.name, b.name)
      for (x, y) in zip(a.data, b.data) { XCTAssertEqual(y, Float(Float16(x))); if x != y { changed += 1 } }
    }
    XCTAssertGreaterThan(changed, 0, "float16 rounding must be visible in some weights")
    XCTAssertEqual(try SafeTensorsF32.read(dst + "/stage2.safetensors").metadata["step"], "42")
    let s1b = try Stage1Model.load(from: dst + "/stage1.safetensors")
    for (a, b) in zip(s1.generator.tensors, s1b.generator.tensors) {
      for (x, y) in zip(a.data, b.data) { XCTAssertEqual(y, Float(Float16(x))) }
    }
    XCTAssertEqual(try loadModelSampling(dst), SamplingOptions(temperature: 1.1, rTopP: 0.99))
  }

  func testRefusesItsOwnSourceAndIncompleteFolders() throws {
    let src = try tempDir()
    XCTAssertThrowsError(try packModelDirectory(from: src, to: try tempDir())) { XCTAssertTrue("\($0)".contains("stage1.safetensors"), "\($0)") }
    let s1 = Stage1Model(config: try Stage1Presets.config(dataset: .ds1Photon, preset: "tiny"), seed: 4)
    try s1.save(to: src + "/stage1.safetensors")
    let out = try tempDir()
    XCTAssertThrowsError(try packModelDirectory(from: src, to: out)) { XCTAssertTrue("\($0)".contains("stage2.safetensors"), "\($0)") }
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/stage1.safetensors"), "nothing is written for a broken source")
    XCTAssertThrowsError(try packModelDirectory(from: src, to: src + "/.")) { XCTAssertTrue("\($0)".contains("source folder"), "\($0)") }
  }
}
