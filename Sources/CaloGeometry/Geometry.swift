// The voxel layout of a CaloChallenge calorimeter: layers of (alpha, r) bins, the flat voxel order
// and voxel-centre coordinates, exactly as the CaloChallenge binning files and evaluation define them.
// No dependencies beyond Foundation: everything from the explorer to the metrics can use it.

import Foundation

/// One layer of a binning: `rEdges.count - 1` radial bins times `nAlpha` equal angular bins.
///
/// A layer with a single edge (`"0"` in the XML) has no voxels; the ds1 files keep 19 such placeholder
/// layers so that layer ids stay the ATLAS sampling numbers.
public struct Layer: Equatable, Sendable {
  /// Layer id as written in the XML (`id` attribute); document order, not the id, fixes the layout.
  public var id: Int
  /// Ascending radial bin edges in mm, starting at 0.
  public var rEdges: [Double]
  /// Number of angular bins spanning 2π (1 = no angular segmentation).
  public var nAlpha: Int

  public init(id: Int, rEdges: [Double], nAlpha: Int) {
    self.id = id
    self.rEdges = rEdges
    self.nAlpha = nAlpha
  }

  /// Number of radial bins (edges − 1; 0 for a placeholder layer).
  public var nR: Int { max(rEdges.count - 1, 0) }
  /// Voxels in this layer: nR · nAlpha.
  public var voxelCount: Int { nR * nAlpha }
  /// A layer with at least one radial bin ("relevant" in the CaloChallenge code).
  public var isRelevant: Bool { nR > 0 }
  /// A relevant layer with angular segmentation (gets η/φ features).
  public var isAngular: Bool { isRelevant && nAlpha > 1 }
  /// Radial bin centres in mm (midpoints of consecutive edges).
  public var rCentres: [Double] { (0..<nR).map { 0.5 * (rEdges[$0] + rEdges[$0 + 1]) } }
  /// Angular bin centre of bin `a` in radians: −π + (a + ½)·2π/nAlpha; 0 for an unsegmented layer.
  public func alphaCentre(_ a: Int) -> Double {
    nAlpha == 1 ? 0 : -Double.pi + (Double(a) + 0.5) * 2 * Double.pi / Double(nAlpha)
  }
}

/// A calorimeter binning: the ordered layers of one CaloChallenge `Bin` element.
///
/// Flat voxel index of (layer l, angle a, radius r) = `offsets[l] + a·nR(l) + r` (radius fastest).
public struct Geometry: Equatable, Sendable {
  /// Particle name as in the XML `name` attribute (`photon`, `pion`, `electron`).
  public var particle: String
  /// PDG id (`pid` attribute): 22, 211, 11.
  public var pid: Int
  /// All layers in document order, placeholders included.
  public var layers: [Layer]
  /// Extra attributes of the `Bin` element that the evaluation never reads (ds1 `etaMin`/`etaMax`),
  /// kept so that a written file matches the official one.
  public var extraAttributes: [(String, String)]

  public static func == (a: Geometry, b: Geometry) -> Bool {
    a.particle == b.particle && a.pid == b.pid && a.layers == b.layers
      && a.extraAttributes.map { $0.0 + "=" + $0.1 } == b.extraAttributes.map { $0.0 + "=" + $0.1 }
  }

  public init(particle: String, pid: Int, layers: [Layer], extraAttributes: [(String, String)] = []) {
    self.particle = particle
    self.pid = pid
    self.layers = layers
    self.extraAttributes = extraAttributes
    var acc = 0
    var offs: [Int] = []
    for l in layers {
      offs.append(acc)
      acc += l.voxelCount
    }
    offs.append(acc)
    self.offsets = offs
  }

  /// Cumulative voxel offsets, one per layer plus the total at the end (`layers.count + 1` entries).
  public private(set) var offsets: [Int]

  /// Total voxels per shower (368, 533, 6480, 40500 for the CaloChallenge datasets).
  public var voxelCount: Int { offsets.last ?? 0 }
  /// Indices (into `layers`) of the layers that have voxels.
  public var relevantLayerIndices: [Int] { layers.indices.filter { layers[$0].isRelevant } }
  /// Indices (into `layers`) of the angularly segmented layers.
  public var angularLayerIndices: [Int] { layers.indices.filter { layers[$0].isAngular } }

  /// Flat index of voxel (layer index `l`, angular bin `a`, radial bin `r`).
  public func index(layer l: Int, alpha a: Int, r: Int) -> Int {
    precondition(a >= 0 && a < layers[l].nAlpha && r >= 0 && r < layers[l].nR,
                 "voxel (l=\(l), a=\(a), r=\(r)) outside layer \(layers[l].id) of \(layers[l].nAlpha)x\(layers[l].nR)")
    return offsets[l] + a * layers[l].nR + r
  }

  /// Inverse of `index`: the (layer index, alpha, r) of a flat voxel index.
  public func location(of index: Int) -> (layer: Int, alpha: Int, r: Int) {
    precondition(index >= 0 && index < voxelCount, "voxel \(index) outside 0..<\(voxelCount)")
    // Layers are few (≤ 45): a linear scan is fine and keeps this obviously correct.
    var l = 0
    while offsets[l + 1] <= index { l += 1 }
    let k = index - offsets[l]
    return (l, k / layers[l].nR, k % layers[l].nR)
  }

  /// Per-voxel transverse coordinates in mm, in flat order: r = radial centre,
  /// eta = r·cos α, phi = r·sin α (the CaloChallenge "eta"/"phi" are lengths, not angles).
  public func voxelCoordinates() -> (r: [Double], eta: [Double], phi: [Double]) {
    var r = [Double](), eta = [Double](), phi = [Double]()
    r.reserveCapacity(voxelCount); eta.reserveCapacity(voxelCount); phi.reserveCapacity(voxelCount)
    for layer in layers where layer.isRelevant {
      let rc = layer.rCentres
      for a in 0..<layer.nAlpha {
        let al = layer.alphaCentre(a)
        for ri in 0..<layer.nR {
          r.append(rc[ri])
          eta.append(rc[ri] * cos(al))
          phi.append(rc[ri] * sin(al))
        }
      }
    }
    return (r, eta, phi)
  }
}

extension Geometry {
  /// A short human-readable table of the layers with voxels: id, n_r × n_alpha, outer radius, offset.
  /// Placeholder layers (no voxels) are counted but not listed.
  public func summary() -> String {
    let empty = layers.count - relevantLayerIndices.count
    var s = "particle \(particle) (pid \(pid)), \(layers.count) layers"
      + (empty > 0 ? " (\(empty) without voxels)" : "") + ", \(voxelCount) voxels\n"
    s += "  layer   n_r x n_alpha   r_max (mm)   first voxel\n"
    for l in relevantLayerIndices {
      let layer = layers[l]
      s += String(format: "  %5d   %3d x %-7d   %10.4g   %11d\n", layer.id, layer.nR, layer.nAlpha,
                  layer.rEdges.last ?? 0, offsets[l])
    }
    return s
  }
}
