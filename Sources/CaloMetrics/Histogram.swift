// Histograms with numpy's conventions: bins [e_i, e_{i+1}) except the last, which is closed;
// entries outside [first edge, last edge] (and NaN) are dropped before anything is normalised.
// Edges are built like numpy.linspace / numpy.logspace so bin boundaries match evaluate.py.

import Foundation

/// Bin edges of a 1-D histogram (ascending, at least two).
public struct Binning: Sendable, Equatable {
  /// Edges; `edges.count - 1` bins.
  public let edges: [Double]
  /// Geometric edges (drawn on a log axis).
  public let isLog: Bool
  // Cheap first guess of the bin; `bin(of:)` then corrects it against the exact edges.
  let guessOrigin: Double
  let guessScale: Double

  /// Number of bins.
  public var count: Int { edges.count - 1 }

  init(edges: [Double], isLog: Bool) {
    precondition(edges.count >= 2, "Binning needs at least 2 edges, got \(edges.count)")
    self.edges = edges
    self.isLog = isLog
    let n = Double(edges.count - 1)
    if isLog {
      guessOrigin = log2(edges[0])
      guessScale = n / (log2(edges[edges.count - 1]) - guessOrigin)
    } else {
      guessOrigin = edges[0]
      guessScale = n / (edges[edges.count - 1] - edges[0])
    }
  }

  /// `bins` equal bins on [lo, hi], edges as numpy.linspace(lo, hi, bins + 1): lo + i·step, last = hi.
  public static func linear(_ lo: Double, _ hi: Double, bins: Int) -> Binning {
    precondition(bins >= 1 && hi > lo, "linear binning [\(lo), \(hi)] with \(bins) bins")
    return Binning(edges: linspace(lo, hi, bins + 1), isLog: false)
  }

  /// numpy.logspace(log10(lo), log10(hi), edgeCount): geometric edges from `lo` to `hi`.
  /// Returns nil when the range is empty or not finite (e.g. a reference maximum at or below the
  /// threshold): the histogram is then undefined.
  public static func geometric(from lo: Double, to hi: Double, edgeCount: Int) -> Binning? {
    guard lo > 0, hi.isFinite, hi > lo, edgeCount >= 2 else { return nil }
    let edges = linspace(log10(lo), log10(hi), edgeCount).map { pow(10, $0) }
    // pow(10, log10(x)) can land an ulp away from x; numpy keeps that value and so do we, but edges
    // must stay strictly ascending for bins to make sense.
    for i in 1..<edges.count where !(edges[i] > edges[i - 1]) { return nil }
    return Binning(edges: edges, isLog: true)
  }

  /// The bin of `x`, or nil if `x` is outside [first, last] or NaN. The last bin includes its upper edge.
  @inline(__always)
  public func bin(of x: Double) -> Int? {
    let n = edges.count - 1
    guard x >= edges[0] && x <= edges[n] else { return nil }
    var g: Double
    if isLog { g = (fastLog2(x) - guessOrigin) * guessScale } else { g = (x - guessOrigin) * guessScale }
    var b = g.isFinite ? Int(max(0, min(Double(n - 1), g))) : 0
    // Exact correction against the stored edges (the guess is only a starting point).
    while b > 0 && x < edges[b] { b -= 1 }
    while b < n - 1 && x >= edges[b + 1] { b += 1 }
    return b
  }
}

/// numpy.linspace(start, stop, num) with endpoint: start + i·(stop − start)/(num − 1), last = stop.
public func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
  precondition(num >= 2, "linspace needs num >= 2")
  let step = (stop - start) / Double(num - 1)
  var y = (0..<num).map { Double($0) * step + start }
  y[num - 1] = stop
  return y
}

/// log2 approximation from the exponent bits plus a linear mantissa (error < 0.09): only used to
/// guess a bin, which `Binning.bin(of:)` then corrects exactly.
@inline(__always)
func fastLog2(_ x: Double) -> Double {
  let e = Double(x.exponent)
  return e + (x.significand - 1)
}

/// Counts of one histogram. Entries outside the binning are dropped (numpy convention).
public struct Histogram: Sendable, Equatable {
  public let binning: Binning
  /// Counts per bin (binning.count values).
  public var counts: [Int]

  public init(binning: Binning) {
    self.binning = binning
    counts = [Int](repeating: 0, count: binning.count)
  }

  /// Adds one entry (dropped if out of range).
  @inline(__always)
  public mutating func add(_ x: Double) {
    if let b = binning.bin(of: x) { counts[b] += 1 }
  }

  /// Adds every value.
  public mutating func add<S: Sequence>(contentsOf xs: S) where S.Element == Double {
    for x in xs { add(x) }
  }

  /// Adds the counts of another histogram with the same binning.
  public mutating func merge(_ other: Histogram) {
    precondition(other.binning == binning, "Histogram.merge: different binnings")
    for i in counts.indices { counts[i] += other.counts[i] }
  }

  /// Entries inside the range.
  public var total: Int { counts.reduce(0, +) }

  /// Bin contents normalised to unit sum (numpy `density=True` × bin width); nil if empty.
  public var probabilities: [Double]? {
    let t = total
    guard t > 0 else { return nil }
    return counts.map { Double($0) / Double(t) }
  }
}
