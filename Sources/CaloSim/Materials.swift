// Material constants (PDG "Atomic and nuclear properties"; see README) and the effective-medium rules
// GFlash uses for an absorber/active sampling stack (gflash_facts.md §4).

import Foundation

/// One material. Lengths in mm, densities in g/cm³, energies in MeV.
public struct Material: Sendable, Equatable {
  public var name: String
  public var z: Double
  public var a: Double
  /// Density (g/cm³).
  public var density: Double
  /// Radiation length X0 (g/cm²).
  public var x0Mass: Double
  /// Critical energy for electrons (MeV).
  public var criticalEnergy: Double
  /// Nuclear interaction length λ_I (g/cm²).
  public var lambdaMass: Double
  /// Minimum ionisation dE/dx (MeV cm²/g).
  public var dEdxMin: Double

  /// X0 in mm.
  public var x0: Double { x0Mass / density * 10 }
  /// λ_I in mm.
  public var lambda: Double { lambdaMass / density * 10 }

  public static let tungsten = Material(name: "W", z: 74, a: 183.84, density: 19.30, x0Mass: 6.76,
                                        criticalEnergy: 7.97, lambdaMass: 191.9, dEdxMin: 1.145)
  public static let silicon = Material(name: "Si", z: 14, a: 28.0855, density: 2.329, x0Mass: 21.82,
                                       criticalEnergy: 40.19, lambdaMass: 108.4, dEdxMin: 1.664)
  public static let lead = Material(name: "Pb", z: 82, a: 207.2, density: 11.35, x0Mass: 6.37,
                                    criticalEnergy: 7.43, lambdaMass: 199.6, dEdxMin: 1.122)
  public static let liquidArgon = Material(name: "LAr", z: 18, a: 39.948, density: 1.396, x0Mass: 19.55,
                                           criticalEnergy: 32.84, lambdaMass: 119.7, dEdxMin: 1.519)
  public static let iron = Material(name: "Fe", z: 26, a: 55.845, density: 7.874, x0Mass: 13.84,
                                    criticalEnergy: 21.68, lambdaMass: 132.1, dEdxMin: 1.451)
  /// Polyvinyltoluene scintillator (approximate row of the facts table).
  public static let scintillator = Material(name: "PVT", z: 5.6, a: 11.2, density: 1.032, x0Mass: 43.9,
                                            criticalEnergy: 94, lambdaMass: 82, dEdxMin: 1.96)
}

/// Effective parameters of a repeating absorber (passive) + active cell, by the PDG mixture rules
/// GFlash uses (`ComputeZAX0EFFetc`, in the dimensionally consistent g/cm² form).
public struct SamplingStack: Sendable, Equatable {
  public var absorber: Material
  public var active: Material
  /// Thicknesses of one cell (mm).
  public var absorberThickness: Double
  public var activeThickness: Double

  public init(absorber: Material, absorberThickness: Double, active: Material, activeThickness: Double) {
    self.absorber = absorber
    self.active = active
    self.absorberThickness = absorberThickness
    self.activeThickness = activeThickness
  }

  private var massA: Double { absorberThickness * absorber.density }
  private var massP: Double { activeThickness * active.density }
  /// Mass fraction of the absorber.
  public var absorberMassFraction: Double { massA / (massA + massP) }
  private var w: (Double, Double) { (absorberMassFraction, 1 - absorberMassFraction) }

  /// Effective density (g/cm³).
  public var density: Double { (massA + massP) / (absorberThickness + activeThickness) }
  public var zEff: Double { w.0 * absorber.z + w.1 * active.z }
  /// Effective radiation length in mm (mass-weighted harmonic mean in g/cm², divided by ρ_eff).
  public var x0: Double { 1 / (w.0 / absorber.x0Mass + w.1 / active.x0Mass) / density * 10 }
  /// Effective λ_I in mm.
  public var lambda: Double { 1 / (w.0 / absorber.lambdaMass + w.1 / active.lambdaMass) / density * 10 }
  /// Σ W_i E_c,i / X0_i (MeV cm²/g).
  private var ecOverX0: Double {
    w.0 * absorber.criticalEnergy / absorber.x0Mass + w.1 * active.criticalEnergy / active.x0Mass
  }
  /// Effective critical energy (MeV).
  public var criticalEnergy: Double { x0 / 10 * density * ecOverX0 }
  /// Effective Molière radius in mm, with E_s = 21.2052 MeV.
  public var moliereRadius: Double { 21.2052 / ecOverX0 / density * 10 }
  /// Sampling frequency F_s = X0_eff / cell thickness.
  public var samplingFrequency: Double { x0 / (absorberThickness + activeThickness) }
  /// GFlash's e/mip estimate ê = 1/(1 + 0.007 (Z_a − Z_p)).
  public var eHat: Double { 1 / (1 + 0.007 * (absorber.z - active.z)) }
  /// Mean energy a minimum-ionising particle loses per mm of the stack (MeV/mm).
  public var mipLossPerMM: Double {
    (massA * absorber.dEdxMin + massP * active.dEdxMin) / (absorberThickness + activeThickness) / 10
  }

  /// ds2/ds3: 1.4 mm W + 0.3 mm Si (Geant4 Par04).
  public static let par04 = SamplingStack(absorber: .tungsten, absorberThickness: 1.4,
                                          active: .silicon, activeThickness: 0.3)
  /// ATLAS barrel accordion, simplified: 1.53 mm Pb + 4.2 mm LAr (steel cladding and electrodes ignored).
  public static let atlasAccordion = SamplingStack(absorber: .lead, absorberThickness: 1.53,
                                                   active: .liquidArgon, activeThickness: 4.2)
  /// ATLAS Tile, simplified: 14.1 mm Fe + 3 mm scintillator (volume ratio 4.7:1).
  public static let atlasTile = SamplingStack(absorber: .iron, absorberThickness: 14.1,
                                              active: .scintillator, activeThickness: 3.0)
}
