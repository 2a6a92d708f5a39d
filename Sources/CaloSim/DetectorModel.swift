// The material description behind each CaloChallenge geometry: an ordered list of slabs along the
// particle direction (dead material and readout layers), their depths in radiation and interaction
// lengths, lateral scales and response constants. Numbers and their sources: README.md.

import CaloGeometry
import Foundation

/// The incident particle type.
public enum Particle: String, Sendable {
  /// e±: the GFlash shower starts at the calorimeter front (ds2, ds3).
  case electron
  /// γ: the shower starts after an exponential conversion depth of mean 9/7 X0 (ds1 photons).
  case photon
  /// π±: minimum-ionising until the first inelastic interaction, then a mixed EM + hadronic shower.
  case pion
}

/// GFlash constants of the medium in which EM showers develop (effective values of a sampling stack).
public struct EMMedium: Sendable, Equatable {
  /// Effective atomic number Z_eff.
  public var zEff: Double
  /// Effective critical energy E_c (MeV).
  public var criticalEnergy: Double
  /// Sampling frequency F_s (cells per X0_eff).
  public var samplingFrequency: Double
  /// e/mip estimate ê.
  public var eHat: Double

  public init(zEff: Double, criticalEnergy: Double, samplingFrequency: Double, eHat: Double) {
    self.zEff = zEff
    self.criticalEnergy = criticalEnergy
    self.samplingFrequency = samplingFrequency
    self.eHat = eHat
  }

  /// The GFlash medium of a sampling stack.
  public init(_ s: SamplingStack) {
    self.init(zEff: s.zEff, criticalEnergy: s.criticalEnergy, samplingFrequency: s.samplingFrequency,
              eHat: s.eHat)
  }
}

/// One slab of material along the shower axis. Energy deposited in a slab without voxels is lost.
public struct Slab: Sendable, Equatable {
  /// Human-readable name (`front material`, `EMB2`, `layer 17` ...).
  public var name: String
  /// Index into `Geometry.layers` of the readout layer this slab is, or nil for dead material.
  public var layerIndex: Int?
  /// Thickness in radiation lengths (the depth unit of the EM profile).
  public var x0: Double
  /// Thickness in nuclear interaction lengths λ_I (the depth unit of the hadronic profile).
  public var lambda: Double
  /// Molière radius in mm: the lateral unit of EM spots in this slab.
  public var moliereRadius: Double
  /// λ_I in mm: the lateral unit of hadronic spots in this slab.
  public var lambdaLength: Double
  /// Visible energy (MeV, at the layer's EM scale) of a minimum-ionising particle crossing the slab.
  public var mipVisible: Double
  /// True energy (MeV) a minimum-ionising particle loses crossing the slab.
  public var mipTrue: Double
  /// Response to hadronic (non-EM) energy relative to EM energy, h/e.
  public var hOverE: Double
  /// Stochastic sampling term for EM deposits (√GeV).
  public var cEM: Double
  /// Stochastic sampling term for hadronic deposits (√GeV).
  public var cHad: Double

  public init(name: String, layerIndex: Int?, x0: Double, lambda: Double, moliereRadius: Double,
              lambdaLength: Double, mipVisible: Double = 0, mipTrue: Double = 0, hOverE: Double = 1,
              cEM: Double = 0.1, cHad: Double = 0.4) {
    precondition(x0 >= 0 && lambda >= 0 && moliereRadius > 0 && lambdaLength > 0, "bad slab \(name)")
    self.name = name
    self.layerIndex = layerIndex
    self.x0 = x0
    self.lambda = lambda
    self.moliereRadius = moliereRadius
    self.lambdaLength = lambdaLength
    self.mipVisible = mipVisible
    self.mipTrue = mipTrue
    self.hOverE = hOverE
    self.cEM = cEM
    self.cHad = cHad
  }
}

/// Everything the simulator needs to know about one detector: binning, slabs, EM medium, particle and
/// the readout conventions of the dataset.
public struct DetectorModel: Sendable {
  /// The binning the showers are written in.
  public var geometry: Geometry
  /// Material along the axis, front to back.
  public var slabs: [Slab]
  /// Medium whose constants drive the GFlash EM parameterisation.
  public var em: EMMedium
  /// The incident particle.
  public var particle: Particle
  /// Voxels below this visible energy (MeV) are set to 0 (the dataset's readout threshold).
  public var thresholdMeV: Double
  /// Relative per-shower calibration spread (constant term of the resolution).
  public var constantTerm: Double
  /// Multiplier on the GFlash spot count (the speed/granularity knob; 1 = GFlash sampling formula).
  public var spotScale: Double
  /// Upper limit on EM spots per shower (keeps TeV showers affordable; sampling fluctuations are
  /// applied per voxel, so the limit only coarsens the spatial graininess).
  public var maxSpots: Int
  /// Nuclear interaction length of pions in units of λ_I.
  public var pionLambdaFactor: Double

  public init(geometry: Geometry, slabs: [Slab], em: EMMedium, particle: Particle, thresholdMeV: Double,
              constantTerm: Double = 0, spotScale: Double = 1, maxSpots: Int = 60_000,
              pionLambdaFactor: Double = 1.2) {
    for s in slabs {
      if let l = s.layerIndex {
        precondition(l >= 0 && l < geometry.layers.count, "slab \(s.name) points at layer index \(l)")
      }
    }
    self.geometry = geometry
    self.slabs = slabs
    self.em = em
    self.particle = particle
    self.thresholdMeV = thresholdMeV
    self.constantTerm = constantTerm
    self.spotScale = spotScale
    self.maxSpots = maxSpots
    self.pionLambdaFactor = pionLambdaFactor
  }

  /// The model of a CaloChallenge dataset.
  public static func forDataset(_ kind: DatasetKind) -> DetectorModel {
    switch kind {
    case .ds2, .ds3: return par04(geometry: kind.geometry)
    case .ds1Photon: return atlasBarrel(geometry: kind.geometry, particle: .photon)
    case .ds1Pion: return atlasBarrel(geometry: kind.geometry, particle: .pion)
    }
  }

  /// Default stochastic term of the W/Si stack (√GeV). Not documented for Par04; the coarse, thin Si
  /// sampling suggests 0.15–0.2 (gflash_facts.md §5.1), we take the lower end.
  public static let par04StochasticTerm = 0.15

  /// ds2/ds3 (Geant4 Par04): one slab per readout layer of `geometry`, each 3.4 mm = 2 × (1.4 mm W +
  /// 0.3 mm Si), electrons, 15.15 keV threshold, values at the 1/0.033 "total deposited" scale.
  /// Any binning with any number of layers works (tests use a fine custom one).
  /// - Parameter thickness: readout-layer thickness in mm (3.4 in the real geometry; tests use thinner
  ///   layers to resolve the longitudinal profile).
  public static func par04(geometry: Geometry, stochasticTerm: Double = par04StochasticTerm,
                           thickness: Double = 3.4) -> DetectorModel {
    let stack = SamplingStack.par04
    let slabs = geometry.layers.indices.map { l in
      Slab(name: "layer \(geometry.layers[l].id)", layerIndex: l, x0: thickness / stack.x0,
           lambda: thickness / stack.lambda, moliereRadius: stack.moliereRadius, lambdaLength: stack.lambda,
           mipVisible: thickness * stack.mipLossPerMM / stack.eHat, mipTrue: thickness * stack.mipLossPerMM,
           hOverE: 0.6, cEM: stochasticTerm, cHad: 0.5)
    }
    return DetectorModel(geometry: geometry, slabs: slabs, em: EMMedium(stack), particle: .electron,
                         thresholdMeV: 0.5e-3 / 0.033)
  }

  /// ds1 (ATLAS barrel at |η| ≈ 0.2): front material, presampler, EMB1–3, cryostat, Tile A/BC/D.
  /// Depths from gflash_facts.md §5.2 (see README for which are literature and which are estimates).
  public static func atlasBarrel(geometry: Geometry, particle: Particle) -> DetectorModel {
    let acc = SamplingStack.atlasAccordion, tile = SamplingStack.atlasTile
    let lar = Material.liquidArgon
    /// Index of the voxelised layer with ATLAS sampling id `id`, or nil if this binning has none.
    func layer(_ id: Int) -> Int? {
      geometry.layers.firstIndex { $0.id == id && $0.isRelevant }
    }
    let rmEM = acc.moliereRadius  // ≈ 40 mm; the EM shower's lateral scale up to the cryostat
    var slabs: [Slab] = []
    // Inner detector, solenoid and cryostat front wall: ≈ 2 X0, mostly light material (≈ 0.2 λ).
    slabs.append(Slab(name: "front material", layerIndex: nil, x0: 2.0, lambda: 0.2, moliereRadius: rmEM,
                      lambdaLength: acc.lambda))
    // Presampler: 11 mm of active LAr, no absorber.
    let psMM = 11.0
    let psMip = psMM * lar.density * lar.dEdxMin / 10
    slabs.append(Slab(name: "PreSamplerB", layerIndex: layer(0), x0: psMM / lar.x0, lambda: psMM / lar.lambda,
                      moliereRadius: rmEM, lambdaLength: acc.lambda, mipVisible: psMip, mipTrue: psMip,
                      hOverE: 1 / 1.74, cEM: 0.10, cHad: 0.4))
    slabs.append(Slab(name: "PS–accordion material", layerIndex: nil, x0: 0.5, lambda: 0.05,
                      moliereRadius: rmEM, lambdaLength: acc.lambda))
    for (id, name, x0) in [(1, "EMB1", 4.3), (2, "EMB2", 16.0), (3, "EMB3", 2.0)] {
      let mm = x0 * acc.x0
      slabs.append(Slab(name: name, layerIndex: layer(id), x0: x0, lambda: mm / acc.lambda, moliereRadius: rmEM,
                        lambdaLength: acc.lambda, mipVisible: mm * acc.mipLossPerMM / acc.eHat,
                        mipTrue: mm * acc.mipLossPerMM, hOverE: 1 / 1.74, cEM: 0.10, cHad: 0.4))
    }
    // LAr cryostat back wall and the gap to the Tile: ≈ 0.4 λ of mostly aluminium (λ/X0 ≈ 4.5).
    slabs.append(Slab(name: "cryostat", layerIndex: nil, x0: 1.8, lambda: 0.4, moliereRadius: rmEM,
                      lambdaLength: acc.lambda))
    for (id, name, lam) in [(12, "TileBar0", 1.5), (13, "TileBar1", 4.1), (14, "TileBar2", 1.8)] {
      let mm = lam * tile.lambda
      slabs.append(Slab(name: name, layerIndex: layer(id), x0: mm / tile.x0, lambda: lam,
                        moliereRadius: tile.moliereRadius, lambdaLength: tile.lambda,
                        mipVisible: mm * tile.mipLossPerMM / tile.eHat, mipTrue: mm * tile.mipLossPerMM,
                        hOverE: 1 / 1.362, cEM: 0.25, cHad: 0.45))
    }
    return DetectorModel(geometry: geometry, slabs: slabs, em: EMMedium(acc), particle: particle,
                         thresholdMeV: 0, constantTerm: 0.007)
  }
}
