import CaloData
import CaloGeometry
import CaloMetrics
import CaloSim
import XCTest

@testable import CaloPipeline

/// The classifier test on real HDF5 files: inputs, splits, memory guard, and the two statistical
/// behaviours (same distribution → AUC ≈ 0.5; clearly different → AUC ≈ 1). Small networks keep it fast.
final class ClassifierTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-cls-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

  func synthetic(_ name: String, _ kind: DatasetKind, _ n: Int, seed: UInt64) throws -> String {
    let p = dir + "/" + name
    try writeSyntheticShowerFile(path: p, kind: kind, count: n, seed: seed, batchSize: 500)
    return p
  }

  /// Parameterised-simulator showers (GFlash-style, not GEANT4) at the 15 ds1 energies, seeded.
  func simulated(_ name: String, _ kind: DatasetKind, _ n: Int, seed: UInt64, energy: Double? = nil) throws -> String {
    let p = dir + "/" + name
    let energies = energy.map { [Double](repeating: $0, count: n) }
      ?? IncidentEnergies.standard(for: kind).sample(count: n, seed: seed)
    try simulateShowerFile(simulator: ShowerSimulator(kind: kind, seed: seed), energies: energies, path: p)
    return p
  }

  /// Inputs of a whole file, voxel energies multiplied by `scale` (incident energies unchanged).
  func inputs(_ path: String, modes: [ClassifierMode], scale: Float = 1) throws -> ClassifierInputCollector {
    let r = try ShowerFileReader(path: path)
    var c = ClassifierInputCollector(kind: r.kind!, modes: modes, keep: nil, expectedRows: r.count)
    try r.forEachBatch(size: 300) { b in c.add(energies: b.energies, showers: b.showers.map { $0 * scale }) }
    return c
  }

  func smallOptions(seed: UInt64 = 1) -> ClassifierOptions {
    var o = ClassifierOptions()
    o.hidden = 64
    o.maxEpochs = 15
    o.batchSize = 200
    o.learningRate = 1e-3
    o.seed = seed
    return o
  }

  func testGaussianShiftReachesTheBayesAUC() throws {
    // Two classes of 4 independent N(0, 1) columns; the reference's column 0 is shifted by δ = 1. The best
    // possible classifier thresholds that column: AUC = Φ(δ/√2) = 0.7602.
    var rng = SeededRandom(seed: 5)
    let n = 3000, d = 4
    func sample(_ shift: Double) -> FeatureMatrix {
      FeatureMatrix(cols: d, values: (0..<(n * d)).map { i in Float(rng.normal() + (i % d == 0 ? shift : 0)) })
    }
    let gen = sample(0), ref = sample(1)
    var o = smallOptions()
    o.maxEpochs = 10
    let r = try runClassifierTest(generated: gen, reference: ref, kind: .ds2, mode: .high, options: o)
    let bayes = 0.5 * erfc(-(1 / 2.0.squareRoot()) / 2.0.squareRoot())
    XCTAssertEqual(r.auc.mean, bayes, accuracy: 0.05)
  }

  func testSplitsScaleTheOfficialSizes() {
    XCTAssertEqual(ClassifierSplit.scaled(kind: .ds1Photon, perClass: 121000), ClassifierSplit(train: 80000, test: 20000, validation: 21000))
    XCTAssertEqual(ClassifierSplit.scaled(kind: .ds1Pion, perClass: 120800), ClassifierSplit(train: 80000, test: 20000, validation: 20800))
    XCTAssertEqual(ClassifierSplit.scaled(kind: .ds2, perClass: 100000), ClassifierSplit(train: 60000, test: 20000, validation: 20000))
    // 10000 × 80/121 = 6611.6, 10000 × 20/121 = 1652.9.
    XCTAssertEqual(ClassifierSplit.scaled(kind: .ds1Photon, perClass: 10000), ClassifierSplit(train: 6612, test: 1653, validation: 1735))
    XCTAssertEqual(ClassifierSplit.scaled(kind: .ds3, perClass: 1001), ClassifierSplit(train: 601, test: 200, validation: 200))
  }

  func testSelectionCutsTheLargerClassAtRandom() {
    let s = ClassifierSelection(generated: 500, reference: 300, seed: 4)
    XCTAssertEqual(s.perClass, 300)
    XCTAssertNil(s.referenceKeep)
    let keep = try! XCTUnwrap(s.generatedKeep)
    XCTAssertEqual(keep.filter { $0 }.count, 300)
    XCTAssertTrue(keep[300...].contains(true), "not simply the first rows")
    XCTAssertEqual(ClassifierSelection(generated: 500, reference: 300, seed: 4).generatedKeep, keep)
    XCTAssertNotEqual(ClassifierSelection(generated: 500, reference: 300, seed: 5).generatedKeep, keep)
    XCTAssertTrue(s.note!.contains("300 of the 500 generated"))
    let equal = ClassifierSelection(generated: 200, reference: 200, seed: 1)
    XCTAssertNil(equal.note)
    XCTAssertNil(equal.generatedKeep)
    let capped = ClassifierSelection(generated: 200, reference: 400, limit: 50, seed: 1)
    XCTAssertEqual(capped.perClass, 50)
    XCTAssertEqual(capped.generatedKeep?.filter { $0 }.count, 50)
    XCTAssertEqual(capped.referenceKeep?.filter { $0 }.count, 50)
  }

  func testLowAndHighLevelRows() throws {
    let kind = DatasetKind.ds1Photon
    let v = kind.voxelCount
    // Two showers; voxel k of shower i holds 0.25·k + i MeV, so the first few are below the 1 MeV threshold.
    let energies = [1024.0, 4096.0]
    let showers = (0..<(2 * v)).map { Float(0.25 * Double($0 % v) + Double($0 / v)) }
    // Keep only file row 1 (of rows 0, 1, 2 arriving in two batches).
    var c = ClassifierInputCollector(kind: kind, modes: [.low, .high], keep: [false, true, true])
    c.add(energies: energies, showers: showers)
    XCTAssertEqual(c.low.rows, 1)
    XCTAssertEqual(c.low.cols, 369)
    XCTAssertEqual(c.low.values[0], Float(log10(4096.0)))
    for k in 0..<v {
      let e = 0.25 * Double(k) + 1
      let want = e < 1 ? 0 : Float(e / 4096)
      XCTAssertEqual(c.low.values[1 + k], want, "voxel \(k)")
    }
    // High level: exactly the §d.3 vector of that shower.
    let table = FeatureExtractor(kind: kind).features(energies: [4096], showers: Array(showers[v...]))
    XCTAssertEqual(c.high, FeatureMatrix(table: table))
    XCTAssertEqual(c.high.cols, 30)
    // The next batch continues the row count: file row 2 is kept.
    c.add(energies: [2048], showers: Array(showers[..<v]))
    XCTAssertEqual(c.low.rows, 2)
    XCTAssertEqual(c.high.rows, 2)
    XCTAssertEqual(c.seen, 3)
    XCTAssertEqual(ClassifierMode.low.inputWidth(.ds3), 40501)
    XCTAssertEqual(ClassifierMode.high.inputWidth(.ds2), 362)
  }

  func testFeasibilityChecks() {
    var o = ClassifierOptions()
    XCTAssertNoThrow(try checkClassifierFeasible(kind: .ds1Photon, modes: [.low, .high], perClass: 10000, options: o))
    XCTAssertThrowsError(try checkClassifierFeasible(kind: .ds1Photon, modes: [.high], perClass: 2, options: o)) { e in
      guard case ClassifierError.tooFewShowers = e else { return XCTFail("\(e)") }
    }
    // ds3 low level, 100k per class: 2 × 100k × 40501 × 4 B = 32 GB of inputs.
    var suggestion = 0
    XCTAssertThrowsError(try checkClassifierFeasible(kind: .ds3, modes: [.low], perClass: 100_000, options: o)) { e in
      guard case let ClassifierError.tooMuchMemory(_, bytes, _, _, s) = e else { return XCTFail("\(e)") }
      XCTAssertGreaterThan(bytes, 32_000_000_000)
      XCTAssertTrue("\(e)".contains("--classifier-showers \(s)"))
      suggestion = s
    }
    XCTAssertGreaterThan(suggestion, 1000)
    XCTAssertNoThrow(try checkClassifierFeasible(kind: .ds3, modes: [.low], perClass: suggestion, options: o))
    o.memoryLimitBytes = 1 << 20
    XCTAssertThrowsError(try checkClassifierFeasible(kind: .ds1Photon, modes: [.high], perClass: 1000, options: o))
  }

  func testSameDistributionGivesChanceAUC() throws {
    let a = try inputs(try simulated("a.h5", .ds1Photon, 2000, seed: 21), modes: [.high])
    let b = try inputs(try simulated("b.h5", .ds1Photon, 2000, seed: 22), modes: [.high])
    var o = smallOptions()
    o.repeats = 2
    let r = try runClassifierTest(generated: a.high, reference: b.high, kind: .ds1Photon, mode: .high, options: o)
    XCTAssertEqual(r.runs.count, 2)
    XCTAssertEqual(r.split, ClassifierSplit(train: 1322, test: 331, validation: 347))
    // Null distribution of the AUC for n₀ = n₁ = 347: σ = sqrt((n₀ + n₁ + 1) / (12 n₀ n₁)) ≈ 0.022.
    let n = Double(r.split.validation)
    let sigma = ((2 * n + 1) / (12 * n * n)).squareRoot()
    for run in r.runs {
      XCTAssertEqual(run.auc, 0.5, accuracy: 4 * sigma, "run \(run.seed)")
      XCTAssertLessThan(run.jsd, 0.1)
      XCTAssertGreaterThan(run.bestEpoch, 0)
    }
    XCTAssertEqual(r.auc.mean, (r.runs[0].auc + r.runs[1].auc) / 2, accuracy: 1e-15)
    XCTAssertEqual(r.auc.std, abs(r.runs[0].auc - r.runs[1].auc) / 2, accuracy: 1e-15)
  }

  func testScaledEnergiesAreSeparated() throws {
    // Same simulator, different seeds; the generated voxel energies are scaled by 1.2 (E_inc unchanged).
    // One incident energy (65.5 GeV), so the small test network need not first learn the E_inc dependence.
    let ref = try inputs(try simulated("c.h5", .ds1Photon, 2000, seed: 31, energy: 65536), modes: [.low, .high])
    let gen = try inputs(try simulated("d.h5", .ds1Photon, 2000, seed: 32, energy: 65536), modes: [.low, .high],
                         scale: 1.2)
    for mode in ClassifierMode.allCases {
      // The challenge does not standardise inputs: the signal is a 0.08 shift of log10 E_tot ≈ 4.85 next to
      // columns at −8 (empty layers), which a small network with few steps learns slowly. More, smaller steps.
      var o = smallOptions()
      o.hidden = 256
      o.batchSize = 100
      o.maxEpochs = 30
      o.learningRate = 1e-3
      let r = try runClassifierTest(generated: gen.matrix(mode), reference: ref.matrix(mode), kind: .ds1Photon,
                                    mode: mode, options: o)
      XCTAssertGreaterThan(r.auc.mean, 0.95, "\(mode)")
      XCTAssertGreaterThan(r.jsd.mean, 0.6, "\(mode)")
      XCTAssertGreaterThan(r.runs[0].validationAccuracy, 0.85, "\(mode)")
    }
  }

  func testSameSeedSameResult() throws {
    let a = try inputs(try synthetic("e.h5", .ds1Pion, 600, seed: 41), modes: [.high])
    let b = try inputs(try synthetic("f.h5", .ds1Pion, 600, seed: 42), modes: [.high])
    var o = smallOptions(seed: 9)
    o.maxEpochs = 4
    let r1 = try runClassifierTest(generated: a.high, reference: b.high, kind: .ds1Pion, mode: .high, options: o)
    let r2 = try runClassifierTest(generated: a.high, reference: b.high, kind: .ds1Pion, mode: .high, options: o)
    XCTAssertEqual(r1.runs[0].testAccuracies, r2.runs[0].testAccuracies)
    XCTAssertEqual(r1.runs[0].trainLosses, r2.runs[0].trainLosses)
    XCTAssertEqual(r1.auc, r2.auc)
    XCTAssertEqual(r1.jsd, r2.jsd)
    o.seed = 10
    let r3 = try runClassifierTest(generated: a.high, reference: b.high, kind: .ds1Pion, mode: .high, options: o)
    XCTAssertNotEqual(r1.runs[0].trainLosses, r3.runs[0].trainLosses)
  }

  func testEvaluateReportsTheClassifier() throws {
    let ref = try synthetic("ref.h5", .ds1Photon, 700, seed: 51)
    let gen = try synthetic("gen.h5", .ds1Photon, 900, seed: 52)
    var o = EvaluationOptions()
    o.distances = false
    o.batchSize = 256
    o.classifierModes = [.high, .low]
    o.classifier = smallOptions()
    o.classifier.maxEpochs = 3
    let r = try evaluate(generated: gen, reference: ref, options: o)
    XCTAssertEqual(r.classifiers.map(\.mode), [.high, .low])
    for c in r.classifiers {
      XCTAssertEqual(c.perClass, 700)  // the generated file is cut to the reference's 700
      XCTAssertTrue(c.note?.contains("700 of the 900 generated") ?? false)
      XCTAssertEqual(c.runs[0].testAccuracies.count, 3)
    }
    let report = r.report()
    let line = try XCTUnwrap(report.split(separator: "\n").first { $0.hasPrefix("cls-high (30 inputs): AUC ") })
    XCTAssertTrue(line.contains(String(format: "AUC %.4f  JSD %.4f", r.classifiers[0].auc.mean, r.classifiers[0].jsd.mean)))
    XCTAssertTrue(report.contains("cls-low (369 inputs): AUC "))
    let json = try JSONSerialization.jsonObject(with: r.json()) as! [String: Any]
    let cls = try XCTUnwrap(json["classifiers"] as? [[String: Any]])
    XCTAssertEqual(cls.count, 2)
    XCTAssertEqual(cls[0]["mode"] as? String, "cls-high")
    XCTAssertEqual(try XCTUnwrap((cls[0]["auc"] as? [String: Double])?["mean"]), r.classifiers[0].auc.mean, accuracy: 1e-12)
    // Without --classifier nothing is trained and the JSON has no classifier key.
    o.classifierModes = []
    let plain = try evaluate(generated: gen, reference: ref, options: o)
    XCTAssertTrue(plain.classifiers.isEmpty)
    XCTAssertNil((try JSONSerialization.jsonObject(with: plain.json()) as! [String: Any])["classifiers"])
  }
}
