// `calovq bench evaluate`: times a full evaluation of two synthetic shower files. The files hold random
// but shower-like data (a smooth longitudinal profile, exponential radial fall-off, voxel noise and
// sparsity) written by this file; they are benchmark inputs, not physics (neither GEANT4 nor the simulator).

import CaloData
import CaloGeometry
import CaloMetrics
import Dispatch
import Foundation

/// Writes `count` synthetic shower-like events of `kind` to `path` (atomically).
///
/// `distortion` shifts the sample slightly (longitudinal depth, radial size and energy scale grow by this
/// fraction), so that a pair written with different distortions gives small, non-zero separations.
public func writeSyntheticShowerFile(path: String, kind: DatasetKind, count: Int, seed: UInt64,
                                     distortion: Double = 0, batchSize: Int = 1000) throws
{
  let g = kind.geometry
  let v = g.voxelCount
  let writer = try ShowerFileWriter(path: path, voxelCount: v)
  var done = 0
  var rng = SeededRandom(seed: seed)
  let relevant = g.relevantLayerIndices
  let threshold = kind.voxelThresholdMeV
  while done < count {
    let n = min(batchSize, count - done)
    let energies: [Double] = (0..<n).map { _ in
      kind.isDS1 ? Double(1 << Int.random(in: 8...22, using: &rng)) : pow(10, Double.random(in: 3...6, using: &rng))
    }
    let seeds = (0..<n).map { _ in rng.next() }
    var showers = [Float](repeating: 0, count: n * v)
    showers.withUnsafeMutableBufferPointer { sp in
      let out = SharedPointer(sp.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: n) { i in
        var r = SeededRandom(seed: seeds[i])
        let e = energies[i] * (1 + distortion) * Double.random(in: 0.9...1.0, using: &r)
        let depth = (0.15 + 0.1 * Double.random(in: 0...1, using: &r)) * (1 + distortion)  // profile peak fraction
        let r0 = (relevant.count > 10 ? 6.0 : 25.0) * (1 + distortion) * Double.random(in: 0.8...1.2, using: &r)
        // Longitudinal weights: a gamma-like bump peaking at `depth` of the relevant layers.
        let L = Double(relevant.count)
        var w = relevant.indices.map { j -> Double in
          let t = (Double(j) + 0.5) / L / depth
          return t * t * exp(-2 * t)
        }
        let ws = w.reduce(0, +)
        w = w.map { $0 / ws }
        for (j, l) in relevant.enumerated() {
          let layer = g.layers[l]
          let rc = layer.rCentres
          let radial = rc.map { exp(-$0 / r0) }
          let rs = radial.reduce(0, +) * Double(layer.nAlpha)
          let base = g.offsets[l]
          for a in 0..<layer.nAlpha {
            for ri in 0..<layer.nR {
              let mean = e * w[j] * radial[ri] / rs
              let u = Double.random(in: 0..<1, using: &r)
              var x = mean * (0.3 + 1.4 * u)
              // Low-energy voxels are often empty, as in real showers.
              if x < threshold * 20 * Double.random(in: 0..<1, using: &r) { x = 0 }
              out.p[i * v + base + a * layer.nR + ri] = Float(x)
            }
          }
        }
      }
    }
    try writer.append(energies: energies, showers: showers)
    done += n
  }
  try writer.finish()
}

struct SharedPointer<T>: @unchecked Sendable {
  let p: UnsafeMutablePointer<T>
  init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// Runs the evaluation benchmark: writes (or reuses) a reference and a generated synthetic file of
/// `count` showers in `dir`, then times `evaluate`. Returns the result (its `timings` hold the phases)
/// and the total evaluation wall time in seconds.
public func benchEvaluate(kind: DatasetKind, count: Int, dir: String, regenerate: Bool = false,
                          log: (String) -> Void = { _ in }) throws -> (result: EvaluationResult, seconds: Double)
{
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  let ref = (dir as NSString).appendingPathComponent("bench-\(kind.rawValue)-\(count)-reference.h5")
  let gen = (dir as NSString).appendingPathComponent("bench-\(kind.rawValue)-\(count)-generated.h5")
  for (path, seed, dist) in [(ref, UInt64(1), 0.0), (gen, UInt64(2), 0.02)] {
    let usable = !regenerate && ((try? ShowerFileReader(path: path, expected: kind))?.count == count)
    if usable {
      log("reusing \(path)")
    } else {
      log("writing \(count) synthetic \(kind.rawValue) showers to \(path) ...")
      let t0 = DispatchTime.now().uptimeNanoseconds
      try writeSyntheticShowerFile(path: path, kind: kind, count: count, seed: seed, distortion: dist)
      log(String(format: "  written in %.1f s", Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
    }
  }
  log("evaluating ...")
  let t0 = DispatchTime.now().uptimeNanoseconds
  let c0 = processCPUSeconds()
  var result = try evaluate(generated: gen, reference: ref)
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
  // The bench prints phase names: append each phase's CPU seconds, then the whole run's.
  for (i, c) in result.cpuSeconds.enumerated() where c.isFinite && i < result.timings.count {
    result.timings[i].phase += String(format: " [%.1f CPU-s]", c)
  }
  result.timings.append((String(format: "(process CPU %.1f s, ", processCPUSeconds() - c0)
                           + "1-min load average \(loadAverage()))", 0))
  return (result, seconds)
}

/// The 1-minute load average from /proc/loadavg ("?" where unavailable).
func loadAverage() -> String {
  guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
  return String(s.split(separator: " ").first ?? "?")
}
