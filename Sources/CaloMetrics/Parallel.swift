// Minimal helpers for splitting loops over both cores with DispatchQueue.concurrentPerform.
// Each iteration writes a disjoint part of the output, which is why raw pointers may be shared.

import Dispatch
import Foundation

/// A value shared with concurrently running iterations that only touch disjoint parts of it.
struct Shared<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// Splits 0..<n into contiguous chunks (a few per core, so uneven work balances).
func parallelChunks(_ n: Int) -> [Range<Int>] {
  guard n > 0 else { return [] }
  let parts = min(n, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))
  return (0..<parts).map { p in (p * n / parts)..<((p + 1) * n / parts) }
}

/// Chunks of 0..<n aligned to `block` elements (for flat voxel arrays).
func parallelBlocks(_ n: Int, block: Int = 4096) -> [Range<Int>] {
  parallelChunks((n + block - 1) / block).map { r in (r.lowerBound * block)..<min(r.upperBound * block, n) }
}

/// Runs `body(i)` for i in 0..<n on all cores.
func parallelFor(_ n: Int, _ body: @Sendable (Int) -> Void) {
  if n == 1 { body(0); return }
  DispatchQueue.concurrentPerform(iterations: n, execute: body)
}
