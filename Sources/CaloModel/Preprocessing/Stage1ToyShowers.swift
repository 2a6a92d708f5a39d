// Toy showers for tests and benchmarks: a smooth longitudinal × radial × angular profile with seeded
// fluctuations and sparsity. They are NOT physics (neither GEANT4 nor the CaloSim parameterisation);
// they only need the structure stage 1 sees (energy spread over layers, falling radially, many
// zero voxels, a response E_dep/E_inc below 1).
import CaloGeometry
import CaloTensor
import Foundation

/// Seeded toy showers in CaloChallenge layout.
public enum Stage1ToyShowers {
  /// `count` showers of `dataset`: energies (N) in MeV and showers (N·P) in MeV.
  /// ds1 energies are 2^k MeV (k = 8…22), ds2/ds3 log-uniform in 1 GeV…1 TeV. `fluctuation` is
  /// the σ of the per-voxel log-normal noise (0 gives smooth showers that differ only by their
  /// energy, depth, width and azimuthal asymmetry).
  public static func make(_ dataset: DatasetKind, count: Int, seed: UInt64, fluctuation: Double = 0.5)
    -> (energies: [Double], showers: [Float])
  {
    var rng = RNG(seed: seed)
    let geo = dataset.geometry
    let relevant = geo.relevantLayerIndices
    let p = dataset.voxelCount
    var energies = [Double](), showers = [Float](repeating: 0, count: count * p)
    for s in 0..<count {
      let e = dataset.isDS1 ? Double(1 << (8 + rng.int(below: 15))) : exp(Double(rng.uniform(Float(3 * log(10.0)), Float(6 * log(10.0)))))
      energies.append(e)
      let logE = log10(e)
      let depthMax = 0.25 + 0.08 * logE + 0.05 * Double(rng.normal())       // shower maximum (fraction of depth)
      let phase = Double(rng.uniform(0, 2 * Float.pi)), asym = 0.3 * Double(rng.uniform())
      let r0 = 1.0 + 0.3 * Double(rng.uniform())
      var row = [Double](repeating: 0, count: p)
      for (j, l) in relevant.enumerated() {
        let layer = geo.layers[l]
        let t = (Double(j) + 0.5) / Double(relevant.count)
        let lw = exp(-0.5 * pow((t - depthMax) / 0.22, 2)) + 1e-3
        let rc = layer.rCentres, scaleR = (layer.rEdges.last ?? 1) / 6 * r0
        for a in 0..<layer.nAlpha {
          let ang = 1 + asym * cos(layer.alphaCentre(a) - phase)
          for ri in 0..<layer.nR {
            let v = lw * ang * exp(-rc[ri] / scaleR) * exp(fluctuation * Double(rng.normal()))
            row[geo.offsets[l] + a * layer.nR + ri] = v
          }
        }
      }
      // Sparsify: drop the smallest voxels (below 1e-3 of the maximum), then scale to the response.
      let mx = row.max() ?? 1
      for i in 0..<p where row[i] < 1e-3 * mx { row[i] = 0 }
      let tot = row.reduce(0, +)
      let response = 0.85 + 0.1 * Double(rng.uniform())
      for i in 0..<p { showers[s * p + i] = Float(row[i] / tot * response * e) }
    }
    return (energies, showers)
  }
}
