import CaloGeometry
import CaloSim
import Foundation

/// Per-layer sums, totals and radial moments of simulated showers (plain loops: the tests should not
/// depend on another module's observables to judge the simulator).
struct ShowerStats {
  let geometry: Geometry
  let showers: [Float]  // (N, voxels)
  let energies: [Double]  // (N)
  var count: Int { energies.count }

  /// E_tot / E_inc per shower. Shape (N).
  var response: [Double] {
    let v = geometry.voxelCount
    return (0..<count).map { i in
      var s = 0.0
      for k in (i * v)..<((i + 1) * v) { s += Double(showers[k]) }
      return s / energies[i]
    }
  }

  /// Mean visible energy per layer index (placeholder layers give 0). Shape (layers).
  var meanLayerEnergy: [Double] {
    let v = geometry.voxelCount
    var out = [Double](repeating: 0, count: geometry.layers.count)
    for i in 0..<count {
      for l in geometry.layers.indices {
        for k in geometry.offsets[l]..<geometry.offsets[l + 1] { out[l] += Double(showers[i * v + k]) }
      }
    }
    return out.map { $0 / Double(count) }
  }

  /// Mean energy per radial bin of layer `l` summed over α. Shape (nR).
  func meanRadial(layer l: Int) -> [Double] {
    let v = geometry.voxelCount, layer = geometry.layers[l]
    var out = [Double](repeating: 0, count: layer.nR)
    for i in 0..<count {
      for a in 0..<layer.nAlpha {
        for r in 0..<layer.nR { out[r] += Double(showers[i * v + geometry.index(layer: l, alpha: a, r: r)]) }
      }
    }
    return out.map { $0 / Double(count) }
  }

  /// Energy-weighted mean radius (mm, bin centres) of layer `l` over all showers.
  func meanRadius(layer l: Int) -> Double {
    let rad = meanRadial(layer: l), c = geometry.layers[l].rCentres
    let tot = rad.reduce(0, +)
    return zip(rad, c).map { $0 * $1 }.reduce(0, +) / max(tot, 1e-30)
  }
}

func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
func std(_ x: [Double]) -> Double {
  let m = mean(x)
  return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot()
}

/// A temporary folder removed by the caller's `defer`.
func makeTempDir() throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calosim-\(UUID())").path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  return dir
}

/// Par04 material (W/Si) with a fine binning for profile tests: `layers` readout layers of one
/// 3.4 mm slab each, `nR` radial bins of `pitch` mm, one angular bin.
func finePar04Model(layers: Int = 45, nR: Int, pitch: Double, thickness: Double = 3.4) -> DetectorModel {
  let edges = (0...nR).map { Double($0) * pitch }
  let g = Geometry(particle: "electron", pid: 11,
                   layers: (0..<layers).map { Layer(id: $0, rEdges: edges, nAlpha: 1) })
  return DetectorModel.par04(geometry: g, thickness: thickness)
}
