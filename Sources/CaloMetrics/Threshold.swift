// The CaloChallenge voxel threshold: every voxel below the dataset's readout threshold counts as empty.
// Applied to reference and generated showers alike before any feature (calochallenge_facts.md §d.2).

import CaloGeometry

/// Sets every voxel with `E < threshold` (strictly less) to 0, in place.
///
/// - Parameters:
///   - showers: voxel energies in MeV, any shape (flat).
///   - threshold: MeV; `DatasetKind.voxelThresholdMeV` (1 MeV for ds1, 0.5e-3/0.033 MeV for ds2/ds3).
/// A voxel exactly at the threshold is kept, as in evaluate.py (`data[data < min_energy] = 0`).
public func applyThreshold(_ showers: inout [Float], threshold: Double) {
  let t = Float(threshold)
  // Compare in Double when the Float rounding of the threshold could flip a decision.
  if Double(t) == threshold {
    for i in showers.indices where showers[i] < t { showers[i] = 0 }
  } else {
    for i in showers.indices where Double(showers[i]) < threshold { showers[i] = 0 }
  }
}

/// The thresholded value of one voxel (the same rule as `applyThreshold`).
@inline(__always)
public func thresholded(_ e: Float, _ threshold: Double) -> Double {
  let d = Double(e)
  return d < threshold ? 0 : d
}
