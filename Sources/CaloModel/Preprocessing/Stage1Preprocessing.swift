// Stage-1 pre- and post-processing on plain arrays in CaloChallenge voxel order (calovq_facts.md
// §1.2–1.5 and §7): E/E_inc, R per normalisation group, unit pixels U with the reference's empty-group
// fill values, the incident-energy conditions, and the training augmentations.
// Network layouts (padding, channel-first permutations) are the model's business, not this file's.
import CaloGeometry
import CaloTensor
import Foundation

/// Pre/post-processing for one dataset and normalisation. All arrays are row-major with N showers
/// of `voxels` values in CaloChallenge order (ds2/ds3: z·(A·Rb) + a·Rb + r).
public struct Stage1Preprocessing: Sendable {
  public let dataset: DatasetKind
  public let norm: NormMode
  /// Voxels per shower P.
  public let voxels: Int
  /// Normalisation groups as contiguous voxel ranges: group g is `groupBounds[g] ..< groupBounds[g+1]`.
  /// Global: one group; ds1 layer-wise: the relevant layers; ds2/ds3 layer-wise: the 45 Z layers.
  public let groupBounds: [Int]
  /// U assigned to every voxel of a group whose R is 0 (0/0 in the reference):
  /// global 1/P; ds1 layer-wise 1/P (the total voxel count, reference quirk); ds3 layer-wise 1/3
  /// (reference bug, kept because the discriminator sees it); ds2 layer-wise 1/(Rb·A) (our variant).
  public let emptyFill: Float
  /// Angular bins A and radial bins Rb for the cylindrical datasets (1 for ds1).
  public let nAlpha: Int, nRadial: Int

  public init(dataset: DatasetKind, norm: NormMode) {
    self.dataset = dataset
    self.norm = norm
    voxels = dataset.voxelCount
    let geo = dataset.geometry
    if dataset.isDS1 {
      nAlpha = 1; nRadial = 1
    } else {
      nAlpha = geo.layers[0].nAlpha; nRadial = geo.layers[0].nR
    }
    switch (norm, dataset) {
    case (.global, _):
      groupBounds = [0, voxels]
      emptyFill = 1 / Float(voxels)
    case (.layerwise, .ds1Photon), (.layerwise, .ds1Pion):
      groupBounds = geo.relevantLayerIndices.map { geo.offsets[$0] } + [voxels]
      emptyFill = 1 / Float(voxels)
    case (.layerwise, .ds2), (.layerwise, .ds3):
      groupBounds = geo.offsets  // 45 equal layers, offsets already end with the total
      emptyFill = dataset == .ds3 ? 1.0 / 3.0 : 1 / Float(nAlpha * nRadial)
    }
  }

  /// Number of normalisation groups (R values per shower): 1 global, 5/7 ds1 layer-wise, 45 ds2/ds3.
  public var groupCount: Int { groupBounds.count - 1 }
  /// Sizes of the groups (e.g. the ds1 per-layer softmax segments).
  public var groupSizes: [Int] { (0..<groupCount).map { groupBounds[$0 + 1] - groupBounds[$0] } }

  // MARK: - Conditions (§1.2)

  /// ds1 class `trunc(log2 E_inc − 8)` (0…14 for 256 MeV…4.19 TeV), clamped to 0…14 for other energies.
  public static func ds1Class(_ energy: Double) -> Int { Swift.min(14, Swift.max(0, Int(log2(energy) - 8))) }

  /// ds2/ds3 scalar condition 2·(log10 E_inc − 3)/3 − 1 (1 GeV → −1, 1 TeV → +1).
  public static func logEnergyCondition(_ energy: Double) -> Float { Float(2 * (log10(energy) - 3) / 3 - 1) }

  // MARK: - Forward (§1.3)

  /// pixels_R = E / E_inc, in Float32 as the reference. (N·P) → (N·P).
  public func ratios(showers: [Float], energies: [Double]) -> [Float] {
    precondition(showers.count == energies.count * voxels, "ratios: \(showers.count) values for \(energies.count)×\(voxels)")
    var out = showers
    for n in 0..<energies.count {
      let e = Float(energies[n])
      for i in (n * voxels)..<((n + 1) * voxels) { out[i] = showers[i] / e }
    }
    return out
  }

  /// R per group: Σ pixels_R over each group. (N·P) → (N·G), G = `groupCount`.
  public func rValues(ratios: [Float]) -> [Float] {
    let n = ratios.count / voxels, g = groupCount
    var r = [Float](repeating: 0, count: n * g)
    for s in 0..<n {
      for k in 0..<g {
        var acc = 0.0
        for i in groupBounds[k]..<groupBounds[k + 1] { acc += Double(ratios[s * voxels + i]) }
        r[s * g + k] = Float(acc)
      }
    }
    return r
  }

  /// pixels_U = pixels_R / R per group; groups with R == 0 get `emptyFill`. (N·P), (N·G) → (N·P).
  public func unitPixels(ratios: [Float], r: [Float]) -> [Float] {
    let n = ratios.count / voxels, g = groupCount
    precondition(r.count == n * g, "unitPixels: \(r.count) R values for \(n) showers × \(g) groups")
    var u = ratios
    for s in 0..<n {
      for k in 0..<g {
        let rv = r[s * g + k]
        for i in groupBounds[k]..<groupBounds[k + 1] {
          u[s * voxels + i] = rv == 0 ? emptyFill : ratios[s * voxels + i] / rv
        }
      }
    }
    return u
  }

  /// R broadcast to every voxel of its group. (N·G) → (N·P).
  public func broadcastR(_ r: [Float], showers n: Int) -> [Float] {
    let g = groupCount
    var out = [Float](repeating: 0, count: n * voxels)
    for s in 0..<n { for k in 0..<g { for i in groupBounds[k]..<groupBounds[k + 1] { out[s * voxels + i] = r[s * g + k] } } }
    return out
  }

  // MARK: - Post-processing (§7)

  /// Showers in MeV: pixels_U × R × E_inc. U (N·P) in CaloChallenge order, R (N·G), energies (N).
  /// No threshold and no clipping, as in the reference.
  public func assemble(pixelsU: [Float], r: [Float], energies: [Double]) -> [Float] {
    let n = energies.count, g = groupCount
    precondition(pixelsU.count == n * voxels && r.count == n * g,
                 "assemble: U \(pixelsU.count), R \(r.count) for \(n) showers × \(voxels) voxels × \(g) groups")
    var out = pixelsU
    for s in 0..<n {
      let e = Float(energies[s])
      for k in 0..<g {
        let scale = r[s * g + k] * e
        for i in groupBounds[k]..<groupBounds[k + 1] { out[s * voxels + i] = pixelsU[s * voxels + i] * scale }
      }
    }
    return out
  }

  // MARK: - Augmentations (§1.5), applied to raw showers in place

  /// ds1 training noise: every voxel += u·keV·1e-3 MeV, u ~ U[0,1), zeros included.
  public static func addNoise(_ showers: inout [Float], keV: Float, rng: inout RNG) {
    let scale = keV * 1e-3
    for i in showers.indices { showers[i] += rng.uniform() * scale }
  }

  /// Rolls every shower by `shift` angular bins (torch.roll semantics: bin a moves to a + shift mod A).
  public func roll(_ showers: inout [Float], by shift: Int) {
    guard !dataset.isDS1, shift % nAlpha != 0 else { return }
    let src = showers, rowLen = nAlpha * nRadial, nRows = showers.count / rowLen
    for row in 0..<nRows {
      let base = row * rowLen
      for a in 0..<nAlpha {
        let to = (a + shift) % nAlpha
        for r in 0..<nRadial { showers[base + to * nRadial + r] = src[base + a * nRadial + r] }
      }
    }
  }

  /// Reverses the angular axis (a → A−1−a) of shower `index`.
  public func flip(_ showers: inout [Float], shower index: Int) {
    guard !dataset.isDS1 else { return }
    let rowLen = nAlpha * nRadial
    for z in 0..<(voxels / rowLen) {
      let base = index * voxels + z * rowLen
      for a in 0..<(nAlpha / 2) {
        let b = nAlpha - 1 - a
        for r in 0..<nRadial { showers.swapAt(base + a * nRadial + r, base + b * nRadial + r) }
      }
    }
  }

  /// The stage-1 batch augmentations of the reference loader: one roll for the whole batch (if
  /// `roll`), then a coin flip per shower (if `flip`). Draws from `rng` in a fixed order.
  public func augment(_ showers: inout [Float], roll doRoll: Bool, flip doFlip: Bool, rng: inout RNG) {
    guard !dataset.isDS1 else { return }
    if doRoll { roll(&showers, by: rng.int(below: nAlpha)) }
    if doFlip {
      for s in 0..<(showers.count / voxels) where rng.uniform() < 0.5 { flip(&showers, shower: s) }
    }
  }
}
