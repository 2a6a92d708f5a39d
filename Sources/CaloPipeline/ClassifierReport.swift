// Text form of the classifier tests for `calovq evaluate`'s report.

import Foundation

/// The classifier section of the evaluation report: per mode one summary line (mean ± population std over
/// the runs when there are several), the split sizes, any cut of the larger class, and one line per run.
public func classifierReport(_ results: [ClassifierResult]) -> String {
  guard let first = results.first else { return "" }
  var s = "Classifier tests (DNN \(first.hiddenLayers)×\(first.hidden) LeakyReLU, generated = 0, reference = 1; "
  s += "probabilities calibrated\nby isotonic regression on the test split; AUC 0.5 / JSD 0 = indistinguishable, "
  s += "1 = perfectly separable)\n"
  for r in results {
    let runs = r.runs.count
    if runs == 1 {
      s += String(format: "%@ (%d inputs): AUC %.4f  JSD %.4f\n", r.mode.rawValue, r.inputs, r.auc.mean, r.jsd.mean)
    } else {
      s += String(format: "%@ (%d inputs): AUC %.4f ± %.4f  JSD %.4f ± %.4f  (mean ± population std of %d runs)\n",
                  r.mode.rawValue, r.inputs, r.auc.mean, r.auc.std, r.jsd.mean, r.jsd.std, runs)
    }
    s += "  \(r.perClass) showers per class: train \(r.split.train) / test \(r.split.test) / "
      + "validation \(r.split.validation)\n"
    if let note = r.note { s += "  \(note)\n" }
    for (i, run) in r.runs.enumerated() {
      s += String(format: "  run %d (seed %llu): AUC %.4f, JSD %.4f, uncalibrated AUC %.4f, validation accuracy %.4f, "
                  + "best epoch %d of %d, %.1f s\n", i + 1, run.seed, run.auc, run.jsd, run.uncalibratedAUC,
                  run.validationAccuracy, run.bestEpoch, run.testAccuracies.count, run.seconds)
    }
  }
  return s
}
