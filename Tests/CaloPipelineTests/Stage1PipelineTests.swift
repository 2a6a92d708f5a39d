// Stage-1 jobs end to end on small toy files: a run interrupted and resumed from its checkpoint
// ends bit-identical to an uninterrupted one; encode/reconstruct write readable files.
import CaloData
import CaloGeometry
import CaloModel
import Foundation
import XCTest

@testable import CaloPipeline

final class Stage1PipelineTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "stage1pipe-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let (e, s) = Stage1ToyShowers.make(.ds1Photon, count: 64, seed: 5)
    try writeShowerFile(path: dir + "/train.h5", energies: e, showers: s, voxels: 368)
    let (ve, vs) = Stage1ToyShowers.make(.ds1Photon, count: 20, seed: 6)
    try writeShowerFile(path: dir + "/val.h5", energies: ve, showers: vs, voxels: 368)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

  func options(_ out: String, steps: Int, resume: Bool = false) -> Stage1TrainOptions {
    var o = Stage1TrainOptions(dataset: .ds1Photon, preset: "tiny", dataPath: dir + "/train.h5", valPath: dir + "/val.h5",
                               outDir: dir + "/" + out)
    o.steps = steps; o.checkpointEvery = 2; o.resume = resume; o.seed = 77
    return o
  }

  func testInterruptedAndResumedRunIsBitIdentical() throws {
    // 64 showers / batch 16 = 4 batches per epoch: 7 batches cross an epoch boundary (new shuffle,
    // validation) and the GAN start (tiny disc_start 10 → batch 6).
    var events: [String] = []
    try Stage1TrainingJob(options: options("a", steps: 7)).run { ev in
      if case .validation = ev { events.append("val") }
    }
    XCTAssertEqual(events.count, 1)
    // Same run stopped after batch 3 (as Ctrl-C would), then resumed.
    let b = try Stage1TrainingJob(options: options("b", steps: 7))
    var n = 0
    try b.run(shouldStop: { n += 1; return n >= 3 }) { _ in }
    XCTAssertEqual(b.trainer.batchesDone, 3)
    XCTAssertThrowsError(try Stage1TrainingJob(options: options("b", steps: 7)))   // needs --resume
    let b2 = try Stage1TrainingJob(options: options("b", steps: 7, resume: true))
    XCTAssertEqual(b2.trainer.batchesDone, 3)
    try b2.run { _ in }
    let ma = try Stage1Model.load(from: dir + "/a/stage1.safetensors")
    let mb = try Stage1Model.load(from: dir + "/b/stage1.safetensors")
    for (x, y) in zip(ma.generator.tensors + ma.discriminator.tensors, mb.generator.tensors + mb.discriminator.tensors) {
      XCTAssertEqual(x.data, y.data, x.name!)
    }
    XCTAssertThrowsError(try Stage1TrainingJob(options: options("c", steps: 7, resume: true)))   // nothing to resume
  }

  func testInitFromStartsWithTheFilesWeightsAndTheOverrides() throws {
    try Stage1TrainingJob(options: options("a", steps: 3)).run { _ in }
    let source = try Stage1Model.load(from: dir + "/a/stage1.safetensors")
    var o = options("b", steps: 2)
    o.initFrom = dir + "/a/stage1.safetensors"
    o.discWeight = 0.7
    o.ecWeight = 0.02
    let job = try Stage1TrainingJob(options: o)
    XCTAssertEqual(job.trainer.batchesDone, 0, "a new run: counters start at 0")
    XCTAssertEqual(job.model.config.discWeight, 0.7)
    XCTAssertEqual(job.model.config.ecWeight, 0.02)
    XCTAssertEqual(job.model.config.widthWeight, source.config.widthWeight)
    for (x, y) in zip(source.generator.tensors + source.discriminator.tensors, job.model.generator.tensors + job.model.discriminator.tensors) {
      XCTAssertEqual(x.data, y.data, x.name!)
    }
    try job.run { _ in }
    let trained = try Stage1Model.load(from: dir + "/b/stage1.safetensors")
    XCTAssertNotEqual(trained.generator.tensors[0].data, source.generator.tensors[0].data, "training moved the weights")
    XCTAssertEqual(trained.config.discWeight, 0.7, "the override is saved with the model")

    var wrong = options("c", steps: 2)
    wrong.initFrom = dir + "/a/stage1.safetensors"
    wrong.dataset = .ds1Pion
    XCTAssertThrowsError(try Stage1TrainingJob(options: wrong)) { XCTAssertTrue("\($0)".contains("ds1-photon model"), "\($0)") }
  }

  func testDecoderOnlyRunKeepsEveryShowersCodes() throws {
    try Stage1TrainingJob(options: options("a", steps: 3)).run { _ in }
    let source = try Stage1Model.load(from: dir + "/a/stage1.safetensors")
    // 22 batches: past the tiny preset's dead-code restart window (20), which must not touch the codebook.
    var o = options("d", steps: 22)
    o.initFrom = dir + "/a/stage1.safetensors"
    o.decoderOnly = true
    o.learningRate = 5e-3
    // Stopped after 2 batches and resumed: the resumed trainer must freeze the same tensors.
    var n = 0
    try Stage1TrainingJob(options: o).run(shouldStop: { n += 1; return n >= 2 }) { _ in }
    o.resume = true; o.initFrom = nil; o.decoderOnly = false; o.learningRate = nil
    let resumed = try Stage1TrainingJob(options: o)
    XCTAssertTrue(resumed.model.config.trainsDecoderOnly, "the checkpoint remembers the decoder-only run")
    XCTAssertTrue(resumed.model.codeFixingTensors.allSatisfy { !$0.requiresGrad })
    try resumed.run { _ in }
    let refit = try Stage1Model.load(from: dir + "/d/stage1.safetensors")
    XCTAssertEqual(refit.config.decoderOnly, true)
    XCTAssertEqual(refit.config.learningRate, 5e-3)
    let fixedNames = Set(source.codeFixingTensors.map { $0.name! })
    XCTAssertTrue(fixedNames.contains("quant_conv.weight") && fixedNames.contains { $0.hasPrefix("encoder.") }
                  && fixedNames.contains { $0.hasPrefix("quantize.") } && !fixedNames.contains("post_quant_conv.weight"), "\(fixedNames)")
    var decoderMoved = false
    for (x, y) in zip(source.generator.tensors, refit.generator.tensors) {
      if fixedNames.contains(x.name!) { XCTAssertTrue(x.data == y.data, "\(x.name!) changed") } else if x.data != y.data { decoderMoved = true }
    }
    XCTAssertTrue(decoderMoved, "the decoder trained")
    let (ve, vs) = Stage1ToyShowers.make(.ds1Photon, count: 20, seed: 6)
    XCTAssertEqual(source.encode(energies: ve, showers: vs), refit.encode(energies: ve, showers: vs))
    XCTAssertNotEqual(source.decode(codes: source.encode(energies: ve, showers: vs), energies: ve),
                      refit.decode(codes: refit.encode(energies: ve, showers: vs), energies: ve))

    // A full run from the refitted model trains the encoder again.
    var full = options("u", steps: 2)
    full.initFrom = dir + "/d/stage1.safetensors"
    let fullJob = try Stage1TrainingJob(options: full)
    XCTAssertFalse(fullJob.model.config.trainsDecoderOnly)
    XCTAssertTrue(fullJob.model.codeFixingTensors.allSatisfy { $0.requiresGrad })

    var fresh = options("f", steps: 2)
    fresh.decoderOnly = true
    XCTAssertThrowsError(try Stage1TrainingJob(options: fresh)) { XCTAssertTrue("\($0)".contains("--init-from"), "\($0)") }
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/f"), "a refused run leaves no output folder")
  }

  func testLayerEnergyLossIsSavedWithTheModelAndRefusedForLayerwise() throws {
    var o = options("g", steps: 2)
    o.norm = .global
    o.layerEnergyWeight = 0.05
    o.steps = 4   // one epoch of 4 batches, then validation
    var held: [Double?] = []
    try Stage1TrainingJob(options: o).run { if case let .validation(_, _, _, le, _, _) = $0 { held.append(le) } }
    XCTAssertEqual(held.count, 1)
    let le = try XCTUnwrap(held[0], "validation reports the held-out layer-energy loss")
    XCTAssertTrue(le > 0 && le.isFinite, "\(le)")
    var plain: [Double?] = []
    try Stage1TrainingJob(options: options("p", steps: 4)).run { if case let .validation(_, _, _, le, _, _) = $0 { plain.append(le) } }
    XCTAssertEqual(plain.count, 1)
    XCTAssertNil(plain[0], "no layer-energy figure when the loss is off")
    XCTAssertEqual(try Stage1Model.load(from: dir + "/g/stage1.safetensors").config.layerEnergyWeight, 0.05)
    var lw = options("l", steps: 2)
    lw.norm = .layerwise
    lw.layerEnergyWeight = 0.05
    XCTAssertThrowsError(try Stage1TrainingJob(options: lw)) { XCTAssertTrue("\($0)".contains("applies to global normalisation"), "\($0)") }
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/l"), "a refused run leaves no output folder")
  }

  func testRadialEnergyLossIsSavedWithTheModelAndRefusedForDS1() throws {
    let dir2 = dir + "/radial"
    try FileManager.default.createDirectory(atPath: dir2, withIntermediateDirectories: true)
    let path = dir2 + "/ds2.h5"
    let (e, s) = Stage1ToyShowers.make(.ds2, count: 8, seed: 21)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 6480)
    var o = Stage1TrainOptions(dataset: .ds2, norm: .global, preset: "tiny", dataPath: path, outDir: dir2 + "/m")
    o.batchSize = 4; o.steps = 2; o.seed = 3
    o.radialEnergyWeight = 0.02
    var seen: [Float] = []
    try Stage1TrainingJob(options: o).run { if case let .step(_, _, _, _, st, _, _, _) = $0 { seen.append(st.radialEnergy) } }
    XCTAssertEqual(seen.count, 2)
    XCTAssertTrue(seen.allSatisfy { $0 > 0 && $0.isFinite }, "\(seen)")
    XCTAssertEqual(try Stage1Model.load(from: dir2 + "/m/stage1.safetensors").config.radialEnergyWeight, 0.02)
    var ds1 = options("r1", steps: 2)
    ds1.radialEnergyWeight = 0.02
    XCTAssertThrowsError(try Stage1TrainingJob(options: ds1)) { XCTAssertTrue("\($0)".contains("applies to ds2 and ds3"), "\($0)") }
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r1"), "a refused run leaves no output folder")
  }

  func testCodebookUsageByHand() {
    // Two codes used equally: perplexity 2. Counts 1 and 3: exp(−(¼ ln ¼ + ¾ ln ¾)) = 1.7548.
    let even = CodebookUsage(counts: [2, 0, 2, 0])
    XCTAssertEqual(even.used, 2); XCTAssertEqual(even.dead, 2)
    XCTAssertEqual(even.perplexity, 2, accuracy: 1e-8)
    let skewed = CodebookUsage(counts: [1, 0, 0, 3, 0])
    XCTAssertEqual(skewed.used, 2); XCTAssertEqual(skewed.dead, 3)
    XCTAssertEqual(skewed.perplexity, 1.754765, accuracy: 1e-5)
  }

  func testEncodeAndReconstructFiles() throws {
    try Stage1TrainingJob(options: options("m", steps: 2)).run { _ in }
    let model = dir + "/m/stage1.safetensors"
    for ext in ["npy", "bin"] {
      let summary = try stage1Encode(modelPath: model, dataPath: dir + "/val.h5", out: dir + "/codes.\(ext)", rOut: dir + "/r.npy")
      XCTAssertEqual(summary.showers, 20)
      let (codes, shape) = try Stage1CodeFile.read(dir + "/codes.\(ext)")
      XCTAssertEqual(shape, [20, 32])
      let m = try Stage1Model.load(from: model)
      let val = try ShowerFileReader(path: dir + "/val.h5").read(from: 0, count: 20)
      XCTAssertEqual(codes, m.encode(energies: val.energies, showers: val.showers))
      // The usage summary counts exactly the codes written.
      XCTAssertEqual(summary.codebookSize, m.config.codebookSize)
      XCTAssertEqual(summary.usage.used, Set(codes).count)
      XCTAssertEqual(summary.usage.used + summary.usage.dead, m.config.codebookSize)
    }
    XCTAssertThrowsError(try stage1Encode(modelPath: model, dataPath: dir + "/val.h5", out: dir + "/codes.txt"))
    let n = try stage1Reconstruct(modelPath: model, dataPath: dir + "/val.h5", out: dir + "/rec.h5")
    XCTAssertEqual(n, 20)
    let rec = try ShowerFileReader(path: dir + "/rec.h5")
    XCTAssertEqual(rec.count, 20)
    // Layer-wise model: every relevant layer's reconstructed energy equals the true one (R is exact).
    let r = try rec.read(from: 0, count: 20), t = try ShowerFileReader(path: dir + "/val.h5").read(from: 0, count: 20)
    let pre = Stage1Preprocessing(dataset: .ds1Photon, norm: .layerwise)
    for s in 0..<20 {
      for g in 0..<pre.groupCount {
        let range = (s * 368 + pre.groupBounds[g])..<(s * 368 + pre.groupBounds[g + 1])
        let a = range.reduce(Float(0)) { $0 + r.showers[$1] }, b = range.reduce(Float(0)) { $0 + t.showers[$1] }
        XCTAssertEqual(a, b, accuracy: 1e-3 * Swift.max(b, 1))
      }
    }
  }
}
