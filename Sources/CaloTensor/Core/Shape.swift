// Shape arithmetic shared by the ops: element counts, row-major strides, numpy broadcasting.

/// Product of the dimensions (1 for `[]`).
@inline(__always) func numel(_ s: [Int]) -> Int { s.reduce(1, *) }

/// Row-major strides of a contiguous array of shape `s`.
func contiguousStrides(_ s: [Int]) -> [Int] {
  var st = [Int](repeating: 1, count: s.count)
  var acc = 1
  for i in stride(from: s.count - 1, through: 0, by: -1) { st[i] = acc; acc *= s[i] }
  return st
}

/// numpy broadcasting of two shapes (align on the right; a dimension of 1 stretches).
public func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int] {
  let r = max(a.count, b.count)
  var out = [Int](repeating: 1, count: r)
  for i in 0..<r {
    let da = i < r - a.count ? 1 : a[i - (r - a.count)]
    let db = i < r - b.count ? 1 : b[i - (r - b.count)]
    precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
    out[i] = da == 1 ? db : da
  }
  return out
}

/// Strides of `s` viewed in the broadcast shape `out` (0 along stretched or missing dimensions).
func broadcastStrides(_ s: [Int], to out: [Int]) -> [Int] {
  let st = contiguousStrides(s)
  let off = out.count - s.count
  return (0..<out.count).map { i in i < off || s[i - off] == 1 ? 0 : st[i - off] }
}

/// Splits `shape` around `axis` into (outer, n, inner) so an axis loop is `o*n*inner + k*inner + i`.
func axisSplit(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
  (numel(Array(shape[..<axis])), shape[axis], numel(Array(shape[(axis + 1)...])))
}

/// Normalises a possibly negative axis.
@inline(__always) func normAxis(_ axis: Int, _ rank: Int) -> Int {
  let a = axis < 0 ? axis + rank : axis
  precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
  return a
}
