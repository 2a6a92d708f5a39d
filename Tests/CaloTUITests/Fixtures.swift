// Test fixtures: small, seeded CaloChallenge files with shower-like content (energy peaking in the
// middle layers, falling with radius, modulated in angle), written with CaloData into temp folders.

import CaloData
import CaloGeometry
import CaloModel
import Foundation
import XCTest

@testable import CaloTUI

/// SplitMix64: small, seedable, same sequence on every platform.
struct SeededRNG: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

enum Fixtures {
  /// One synthetic shower of `energy` MeV for `kind`. Shape (voxels).
  static func shower(_ kind: DatasetKind, energy: Double, rng: inout SeededRNG) -> [Float] {
    let g = kind.geometry
    var v = [Float](repeating: 0, count: g.voxelCount)
    let rel = g.relevantLayerIndices
    for (pos, l) in rel.enumerated() {
      let layer = g.layers[l]
      let x = (Double(pos) - Double(rel.count) * 0.35) / (Double(rel.count) * 0.3)
      let layerE = energy * 0.05 * (exp(-0.5 * x * x) + 0.02) * Double.random(in: 0.7...1.3, using: &rng)
      let rMax = layer.rEdges.last!
      let weights = layer.rCentres.map { exp(-$0 / (rMax * 0.12)) }
      let wsum = weights.reduce(0, +) * Double(layer.nAlpha)
      let phase = Double.random(in: 0..<(2 * Double.pi), using: &rng)
      for a in 0..<layer.nAlpha {
        let aw = layer.nAlpha > 1 ? 1 + 0.5 * cos(2 * Double.pi * Double(a) / Double(layer.nAlpha) + phase) : 1
        for r in 0..<layer.nR {
          let e = layerE * weights[r] * aw / wsum * Double.random(in: 0.5...1.5, using: &rng)
          v[g.index(layer: l, alpha: a, r: r)] = e > 1e-3 * layerE ? Float(e) : 0
        }
      }
    }
    return v
  }

  /// Writes `perEnergy` showers for each ds1 energy (ds1) or `count` log-uniform energies (ds2/ds3).
  static func writeFile(_ kind: DatasetKind, to path: String, perEnergy: Int = 12, count: Int = 120,
                        seed: UInt64 = 1337) throws
  {
    var rng = SeededRNG(seed: seed)
    let energies: [Double] = kind.isDS1
      ? DatasetKind.ds1Energies.flatMap { Array(repeating: $0, count: perEnergy) }
      : (0..<count).map { _ in 1e3 * pow(10, Double.random(in: 0..<3, using: &rng)) }
    var showers: [Float] = []
    for e in energies { showers += shower(kind, energy: e, rng: &rng) }
    try writeShowerFile(path: path, energies: energies, showers: showers, voxels: kind.voxelCount)
  }

  /// A fresh temp folder removed at the end of the test.
  static func tempDir(_ test: XCTestCase) throws -> String {
    let dir = NSTemporaryDirectory() + "calovq-tui-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  /// The repository root (this file is Tests/CaloTUITests/Fixtures.swift).
  static var repoRoot: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
  }

  static var themes: ThemeLibrary { get throws { try ThemeLibrary(directory: repoRoot + "/themes") } }

  /// Options for a sample folder holding `<dataset>.h5` files, with models from `modelsDir` if given.
  static func options(sampleDir: String, dataset: DatasetKind = .ds1Photon, ascii: Bool = false,
                      themeIndex: Int = 0, modelsDir: String? = nil) throws -> ExplorerOptions
  {
    var paths: [DatasetKind: String] = [:]
    for k in DatasetKind.allCases { paths[k] = sampleDir + "/\(k.rawValue).h5" }
    var worker = WorkerConfig(referencePaths: paths, referencePool: 60)
    if let modelsDir { worker.sourceFactory = try ModelLibrary(modelsDir: modelsDir).factory }
    return ExplorerOptions(datasets: DatasetKind.allCases, dataset: dataset, worker: worker, themes: try themes,
                           themeIndex: themeIndex, ascii: ascii, colors: nil, environment: [:])
  }

  /// Writes a model folder with random weights (stage 1 `tiny` preset with K = 1024 so that every code
  /// the GPT can draw decodes; stage 2 `sample` preset) into `dir`. Not a trained model.
  @discardableResult
  static func writeModel(_ kind: DatasetKind, layerwise: Bool, to dir: String, seed: UInt64 = 5) throws -> String {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var c1 = try Stage1Presets.config(dataset: kind, norm: layerwise ? .layerwise : .global, preset: "tiny")
    c1.codebookSize = 1024
    let s1 = Stage1Model(config: c1, seed: seed)
    try s1.save(to: dir + "/stage1.safetensors")
    let c2 = try GPTPresets.config(dataset: kind, layerwise: layerwise, preset: "sample", latentLength: s1.latentCount)
    try GPT(config: c2, seed: seed + 1).save(to: dir + "/stage2.safetensors")
    return dir
  }
}
