// Scores of the CaloChallenge classifier test (calochallenge_facts.md §d.5) that need no network:
// rank-based ROC AUC, isotonic calibration (pool-adjacent-violators) and the BCE-based JSD.
// All in Double; inputs are plain arrays of probabilities or logits and labels.

import Foundation

/// Area under the ROC curve of `scores` for the binary `labels` (true = positive class).
///
/// Computed from ranks (Mann–Whitney U): AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋), where R₊ is the sum of the
/// positives' ranks in ascending score order and tied scores share the average of their ranks. This is
/// the same number as the trapezoidal area under the ROC curve (a positive and a negative with equal
/// scores count one half), i.e. sklearn's `roc_auc_score`.
///
/// - Parameters:
///   - scores: N values; larger means "more likely positive". Must not contain NaN.
///   - labels: N labels.
/// - Returns: nil when one class is absent (the AUC is undefined).
public func rocAUC(scores: [Double], labels: [Bool]) -> Double? {
  precondition(scores.count == labels.count, "rocAUC: \(scores.count) scores, \(labels.count) labels")
  precondition(!scores.contains { $0.isNaN }, "rocAUC: NaN score")
  let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
  let negatives = labels.count - positives
  guard positives > 0 && negatives > 0 else { return nil }
  let order = scores.indices.sorted { scores[$0] < scores[$1] }
  var rankSum = 0.0
  var i = 0
  while i < order.count {
    var j = i
    while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
    // Ranks i+1 ... j+1 (1-based) are shared by this run of equal scores.
    let rank = Double(i + j + 2) / 2
    for k in i...j where labels[order[k]] { rankSum += rank }
    i = j + 1
  }
  let p = Double(positives), n = Double(negatives)
  return (rankSum - p * (p + 1) / 2) / (p * n)
}

/// Monotone increasing isotonic regression, as sklearn's `IsotonicRegression(out_of_bounds="clip",
/// y_min:, y_max:)` which the CaloChallenge evaluation uses to calibrate classifier outputs.
///
/// Fit: points with equal x are merged (weighted mean of y, summed weight), the pool-adjacent-violators
/// algorithm makes the values non-decreasing in x, and the result is clipped to [yMin, yMax].
/// Prediction: x is clipped to the fitted range and the fitted values are interpolated linearly
/// between neighbouring fitted x (a step function would differ between fitted points).
public struct IsotonicRegression: Sendable, Equatable {
  /// Distinct fitted inputs, ascending.
  public let xs: [Double]
  /// Fitted values at `xs`, non-decreasing and inside [yMin, yMax].
  public let ys: [Double]

  /// Fits the regression.
  /// - Parameters:
  ///   - x: N inputs (e.g. uncalibrated probabilities); no NaN. N ≥ 1.
  ///   - y: N targets (e.g. 0/1 labels).
  ///   - weights: N positive weights (default all 1).
  ///   - yMin, yMax: clipping range of the fitted values (the challenge uses 1e-6 and 1 − 1e-6, which
  ///     keeps the later log-loss finite).
  public init(x: [Double], y: [Double], weights: [Double]? = nil, yMin: Double = 1e-6, yMax: Double = 1 - 1e-6) {
    precondition(x.count == y.count && !x.isEmpty, "IsotonicRegression: \(x.count) inputs, \(y.count) targets")
    precondition(weights == nil || weights!.count == x.count, "IsotonicRegression: weights count")
    precondition(!x.contains { $0.isNaN }, "IsotonicRegression: NaN input")
    let w = weights ?? [Double](repeating: 1, count: x.count)
    let order = x.indices.sorted { x[$0] < x[$1] }
    // Merge equal x: (x, weighted sum of y, weight).
    var ux: [Double] = [], uy: [Double] = [], uw: [Double] = []
    for i in order {
      if let last = ux.last, last == x[i] {
        uy[uy.count - 1] += w[i] * y[i]
        uw[uw.count - 1] += w[i]
      } else {
        ux.append(x[i]); uy.append(w[i] * y[i]); uw.append(w[i])
      }
    }
    for k in uy.indices { uy[k] /= uw[k] }
    // Pool adjacent violators: a stack of blocks (mean, weight, number of distinct x).
    var mean: [Double] = [], weight: [Double] = [], size: [Int] = []
    for k in ux.indices {
      mean.append(uy[k]); weight.append(uw[k]); size.append(1)
      while mean.count > 1 && mean[mean.count - 2] > mean[mean.count - 1] {
        let b = mean.count - 1
        let wsum = weight[b - 1] + weight[b]
        mean[b - 1] = (mean[b - 1] * weight[b - 1] + mean[b] * weight[b]) / wsum
        weight[b - 1] = wsum
        size[b - 1] += size[b]
        mean.removeLast(); weight.removeLast(); size.removeLast()
      }
    }
    var fitted: [Double] = []
    fitted.reserveCapacity(ux.count)
    for (m, s) in zip(mean, size) { fitted += repeatElement(min(max(m, yMin), yMax), count: s) }
    xs = ux
    ys = fitted
  }

  /// The calibrated value at `x` (x clipped to [xs.first, xs.last], then linear interpolation).
  public func callAsFunction(_ x: Double) -> Double {
    if xs.count == 1 || x <= xs[0] { return ys[0] }
    if x >= xs[xs.count - 1] { return ys[ys.count - 1] }
    // Largest k with xs[k] <= x (binary search); x lies in [xs[k], xs[k+1]).
    var lo = 0, hi = xs.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if xs[mid] <= x { lo = mid } else { hi = mid }
    }
    let t = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + t * (ys[hi] - ys[lo])
  }

  /// `self(x)` for every element.
  public func callAsFunction(_ x: [Double]) -> [Double] { x.map { self($0) } }
}

/// Mean binary cross-entropy −[y ln p + (1 − y) ln(1 − p)] of probabilities `p` for 0/1 `labels`
/// (true = 1). Each log is limited to ≥ −100, as PyTorch's `BCELoss` does.
public func binaryCrossEntropy(probabilities p: [Double], labels: [Bool]) -> Double {
  precondition(p.count == labels.count && !p.isEmpty, "binaryCrossEntropy: \(p.count) probabilities, \(labels.count) labels")
  var s = 0.0
  for (q, y) in zip(p, labels) { s -= max(log(y ? q : 1 - q), -100) }
  return s / Double(p.count)
}

/// The classifier-based Jensen–Shannon divergence estimate of the challenge: (ln 2 − BCE) / ln 2.
/// 0 for an uninformative classifier (BCE = ln 2), 1 for a perfect one (BCE = 0); it is negative when
/// the BCE exceeds ln 2 (a classifier worse than a coin on the validation split).
public func classifierJSD(bce: Double) -> Double { (log(2) - bce) / log(2) }
