// The incident energies a user can pick: ds1's 15 discrete energies, or a logarithmic slider over
// 1 GeV – 1 TeV (16 steps per decade) for ds2/ds3, plus typed values.

import CaloGeometry
import Foundation

/// Energy choices for one dataset. All energies in MeV.
public struct EnergyScale: Sendable, Equatable {
  public let kind: DatasetKind
  public static let minMeV = 1e3
  public static let maxMeV = 1e6
  /// Slider steps per decade for ds2/ds3.
  public static let stepsPerDecade = 16.0

  public init(kind: DatasetKind) { self.kind = kind }

  /// The energy shown when a dataset is first picked: 65.5 GeV (2^16 MeV) for ds1, 31.6 GeV otherwise.
  public var defaultMeV: Double { kind.isDS1 ? 65536 : 1e3 * pow(10, 1.5) }

  /// The neighbouring choice (`direction` −1 or +1), clamped at the ends.
  public func step(_ energyMeV: Double, by direction: Int) -> Double {
    if kind.isDS1 {
      let e = DatasetKind.ds1Energies
      let i = nearestDS1Index(energyMeV)
      return e[min(max(i + direction, 0), e.count - 1)]
    }
    let s = (log10(energyMeV / EnergyScale.minMeV) * EnergyScale.stepsPerDecade).rounded() + Double(direction)
    let clamped = min(max(s, 0), 3 * EnergyScale.stepsPerDecade)
    return EnergyScale.minMeV * pow(10, clamped / EnergyScale.stepsPerDecade)
  }

  /// Energies a user may type, MeV: ds1 half/double its extreme energies, else 1 GeV – 1 TeV.
  public var range: ClosedRange<Double> {
    kind.isDS1 ? (DatasetKind.ds1Energies.first! / 2)...(DatasetKind.ds1Energies.last! * 2)
      : EnergyScale.minMeV...EnergyScale.maxMeV
  }

  /// A typed energy in GeV: snapped to the nearest ds1 energy, or kept as is for ds2/ds3.
  /// - Throws: `ExplorerError.badEnergy` for text that is not a number within `range`.
  public func typed(_ text: String) throws -> Double {
    guard let gev = Double(text.trimmingCharacters(in: .whitespaces)), gev.isFinite,
      gev * 1e3 >= range.lowerBound * 0.999, gev * 1e3 <= range.upperBound * 1.001
    else { throw ExplorerError.badEnergy(text) }
    let mev = min(max(gev * 1e3, range.lowerBound), range.upperBound)
    return kind.isDS1 ? DatasetKind.ds1Energies[nearestDS1Index(mev)] : mev
  }

  /// Where `energyMeV` sits on the scale, 0…1 (log), for drawing the slider.
  public func position(_ energyMeV: Double) -> Double {
    if kind.isDS1 { return Double(nearestDS1Index(energyMeV)) / Double(DatasetKind.ds1Energies.count - 1) }
    return min(max(log10(energyMeV / EnergyScale.minMeV) / 3, 0), 1)
  }

  /// Index of the ds1 energy nearest to `energyMeV` in log distance.
  public func nearestDS1Index(_ energyMeV: Double) -> Int {
    let e = DatasetKind.ds1Energies
    return e.indices.min { abs(log(e[$0] / energyMeV)) < abs(log(e[$1] / energyMeV)) }!
  }
}

/// "65.5 GeV", "512 MeV", "1 TeV": three significant digits with a unit prefix.
public func formatEnergy(_ mev: Double) -> String {
  if mev >= 1e6 { return trim3(mev / 1e6) + " TeV" }
  if mev >= 1e3 { return trim3(mev / 1e3) + " GeV" }
  return trim3(mev) + " MeV"
}

/// Three significant digits without trailing zeros ("65.5", "1", "0.0123").
func trim3(_ x: Double) -> String {
  if x == 0 { return "0" }
  var s = String(format: "%.3g", x)
  if s.contains("e") { return s }
  if s.contains(".") {
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
  }
  return s
}
