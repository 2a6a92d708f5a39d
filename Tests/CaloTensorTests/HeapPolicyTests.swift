// The allocator policy of `Compute.heapKeepsFreedMemory`: big blocks come from the brk heap (not
// fresh mmaps that fault in every page) and freed heap is not handed back. Checked through the
// heap's end (`sbrk(0)`), without touching the memory, so the blocks cost no time or RSS.
import Glibc
import XCTest
@testable import CaloTensor

final class HeapPolicyTests: XCTestCase {
  func testLargeBlocksComeFromTheHeapAndStayThere() throws {
    XCTAssertTrue(Compute.heapKeepsFreedMemory, "glibc refused mallopt(M_MMAP_MAX 0 / M_TRIM_THRESHOLD -1)")
    // 800 MB: above the 512 MB mmap threshold the policy used to rely on, as the ds3 layer-wise
    // GPT's logits are.
    let bytes = 800 << 20
    let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
    let end = UInt(bitPattern: sbrk(0))
    let start = UInt(bitPattern: block)
    XCTAssertLessThanOrEqual(start + UInt(bytes), end, "an 800 MB block was mmapped instead of taken from the heap")
    block.deallocate()
    XCTAssertEqual(UInt(bitPattern: sbrk(0)), end, "freeing the block shrank the heap (trimmed)")
  }
}
