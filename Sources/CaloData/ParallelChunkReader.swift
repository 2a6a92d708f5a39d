// Reading the `showers` dataset of a chunked, gzip(+shuffle)-compressed file on all cores.
//
// Why: libhdf5 (Debian's serial build) inflates every chunk on the calling thread while holding our
// global lock, so a pass over a 100k-shower ds2 file (2.6 GB of float32 behind 1.7 GB of gzip) is
// bound by one core. Here only the raw chunk bytes are fetched under the lock (`H5Dread_chunk`, cheap);
// inflation (libdeflate), un-shuffling and conversion to Float run concurrently, one chunk per task.
// Anything this reader does not understand (contiguous layout, other filters, integer or big-endian
// types, unallocated chunks) makes `init` return nil, and callers use `ShowerFileReader.read`.

import CHDF5
import CDeflate
import Dispatch
import Foundation

/// Parallel reader of the showers of one `ShowerFileReader`'s file, bit-identical to `read(from:count:)`.
///
/// Supported: 2-D chunked `showers` of native float32 or float64, filter pipelines made only of shuffle
/// and deflate (any order, per-chunk filter masks honoured), any chunk shape (chunks may split rows
/// and columns). Thread-safety: `read` may be called from any thread; HDF5 calls take the module's lock.
public final class ParallelChunkReader: @unchecked Sendable {
  /// The validated file this reader serves (energies, count, voxel count, path).
  public let base: ShowerFileReader
  /// Rows per chunk: batches that are multiples of this never inflate a chunk twice.
  public let chunkRows: Int
  /// Columns per chunk.
  public let chunkCols: Int
  /// Bytes per stored element (4 or 8).
  let elementSize: Int
  /// Filter pipeline in application order when writing (reading undoes it backwards).
  let filters: [Filter]
  private let file: H5Handle
  private let dataset: H5Handle

  enum Filter: Equatable { case shuffle, deflate }

  /// Opens the showers of `reader`'s file for parallel reading; nil if the layout is not supported
  /// (then use `reader.read(from:count:)`, which handles every valid file).
  public init?(_ reader: ShowerFileReader) {
    base = reader
    guard reader.count > 0, let f = H5.openFile(reader.path), let ds = H5.openDataset(f, "showers"),
      let info = Self.inspect(ds, rows: reader.count, cols: reader.voxelCount)
    else { return nil }
    file = f
    dataset = ds
    (chunkRows, chunkCols, elementSize, filters) = info
  }

  /// Chunk shape, element size and filters of `ds`, or nil if unsupported.
  private static func inspect(_ ds: H5Handle, rows: Int, cols: Int)
    -> (Int, Int, Int, [Filter])?
  {
    withHDF5 {
      guard let plist = H5Handle(H5Dget_create_plist(ds.id), close: H5Pclose),
        H5Pget_layout(plist.id) == H5D_CHUNKED
      else { return nil }
      var dims = [hsize_t](repeating: 0, count: 4)
      guard H5Pget_chunk(plist.id, 4, &dims) == 2, dims[0] > 0, dims[1] > 0 else { return nil }
      guard let type = H5Handle(H5Dget_type(ds.id), close: H5Tclose) else { return nil }
      let size: Int
      if H5Tequal(type.id, calo_H5T_NATIVE_FLOAT()) > 0 {
        size = 4
      } else if H5Tequal(type.id, calo_H5T_NATIVE_DOUBLE()) > 0 {
        size = 8
      } else {
        return nil
      }
      var filters: [Filter] = []
      for i in 0..<max(H5Pget_nfilters(plist.id), 0) {
        var flags: UInt32 = 0, config: UInt32 = 0
        var nelmts = 4
        var cd = [UInt32](repeating: 0, count: 4)
        var name = [CChar](repeating: 0, count: 64)
        let id = H5Pget_filter2(plist.id, UInt32(i), &flags, &nelmts, &cd, 64, &name, &config)
        switch id {
        case H5Z_filter_t(H5Z_FILTER_DEFLATE): filters.append(.deflate)
        // HDF5 stores the element size it shuffled with in cd_values[0]; anything else is not ours.
        case H5Z_filter_t(H5Z_FILTER_SHUFFLE) where nelmts >= 1 && Int(cd[0]) == size: filters.append(.shuffle)
        default: return nil
        }
      }
      // Every chunk must be allocated: an unwritten chunk holds the fill value, which we do not model.
      let cr = Int(dims[0]), cc = Int(dims[1])
      let expected = ((rows + cr - 1) / cr) * ((cols + cc - 1) / cc)
      guard let space = H5Handle(H5Dget_space(ds.id), close: H5Sclose) else { return nil }
      var n: hsize_t = 0
      guard H5Dget_num_chunks(ds.id, space.id, &n) >= 0, Int(n) == expected else { return nil }
      return (cr, cc, size, filters)
    }
  }

  /// Number of showers N.
  public var count: Int { base.count }
  /// Voxels per shower.
  public var voxelCount: Int { base.voxelCount }

  /// Reads showers [start, start+rows) (clamped to the file), inflating the chunks concurrently.
  /// Same values, same errors (non-finite or negative voxels) as `ShowerFileReader.read(from:count:)`.
  public func read(from start: Int, count rows: Int) throws -> ShowerBatch {
    precondition(start >= 0 && rows >= 0, "read(from: \(start), count: \(rows))")
    let n = max(0, min(rows, count - start)), v = voxelCount
    var data = [Float](repeating: 0, count: n * v)
    if n > 0 {
      let firstBand = start / chunkRows, lastBand = (start + n - 1) / chunkRows
      let colChunks = (v + chunkCols - 1) / chunkCols
      let tasks = (lastBand - firstBand + 1) * colChunks
      final class Failure: @unchecked Sendable {
        let lock = NSLock()
        var message: String?
        func set(_ m: String) { lock.lock(); if message == nil { message = m }; lock.unlock() }
      }
      let failure = Failure()
      data.withUnsafeMutableBufferPointer { out in
        let outP = UnsafeSendablePointer(out.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: tasks) { t in
          let band = firstBand + t / colChunks, cchunk = t % colChunks
          let r0 = band * chunkRows, c0 = cchunk * chunkCols
          if let m = decodeChunk(row0: r0, col0: c0, start: start, rows: n, into: outP.p) { failure.set(m) }
        }
      }
      if let m = failure.message {
        throw CaloDataError.readFailed(path: base.path, what: "reading showers rows \(start)..<\(start + n): \(m)")
      }
      // `!(x >= 0)` is true for NaN, negatives and -inf; +inf is caught by the second test.
      if let bad = data.firstIndex(where: { !($0 >= 0) || $0 == .infinity }) {
        throw CaloDataError.badShowerValue(path: base.path, row: start + bad / v, column: bad % v, value: data[bad])
      }
    }
    return ShowerBatch(energies: Array(base.energies[start..<(start + n)]), showers: data, voxels: v, firstRow: start)
  }

  /// Reusable per-task buffers: fresh multi-MB arrays per chunk cost page faults and zero-filling
  /// (seconds of system time per pass over a 2.6 GB file).
  final class Scratch {
    var raw: [UInt8] = []
    var a: [UInt8] = []
    var b: [UInt8] = []
    /// libdeflate keeps its tables in the decompressor; one per scratch so tasks never share it.
    let inflater: OpaquePointer? = libdeflate_alloc_decompressor()
    deinit { libdeflate_free_decompressor(inflater) }
  }
  private let poolLock = NSLock()
  private var pool: [Scratch] = []

  private func takeScratch() -> Scratch {
    poolLock.lock()
    defer { poolLock.unlock() }
    return pool.popLast() ?? Scratch()
  }

  private func giveBack(_ s: Scratch) {
    poolLock.lock()
    pool.append(s)
    poolLock.unlock()
  }

  /// Fetches, inflates and un-shuffles the chunk at (row0, col0) and copies its part of rows
  /// [start, start+rows) into `out` (shape (rows, voxels)). Returns an error message or nil.
  private func decodeChunk(row0: Int, col0: Int, start: Int, rows: Int, into out: UnsafeMutablePointer<Float>)
    -> String?
  {
    let chunkBytes = chunkRows * chunkCols * elementSize
    let scratch = takeScratch()
    defer { giveBack(scratch) }
    var offset: [hsize_t] = [hsize_t(row0), hsize_t(col0)]
    // Raw bytes under the HDF5 lock (a file read, no inflation).
    var mask: UInt32 = 0
    let rawSize: Int? = withHDF5 {
      var size: hsize_t = 0
      guard H5Dget_chunk_storage_size(dataset.id, &offset, &size) >= 0, size > 0 else { return nil }
      if scratch.raw.count < Int(size) { scratch.raw = [UInt8](repeating: 0, count: Int(size)) }
      let ok = scratch.raw.withUnsafeMutableBytes {
        H5Dread_chunk(dataset.id, calo_H5P_DEFAULT(), &offset, &mask, $0.baseAddress!) >= 0
      }
      return ok ? Int(size) : nil
    }
    guard let rawSize else { return "raw chunk at row \(row0), column \(col0) unreadable" }
    // Undo the pipeline backwards; bit i of the mask set means filter i was skipped for this chunk.
    // The bytes live in `cur` (first `len` bytes); a trailing shuffle of float32 is undone straight into
    // the output rows instead of into a buffer.
    let active = filters.indices.filter { mask & (1 << UInt32($0)) == 0 }.map { filters[$0] }
    var cur = 0  // 0: raw, 1: a, 2: b
    var len = rawSize
    func buffer(_ i: Int) -> [UInt8] { i == 0 ? scratch.raw : i == 1 ? scratch.a : scratch.b }
    var directShuffle = false
    for (step, f) in active.enumerated().reversed() {
      let dst = cur == 1 ? 2 : 1
      if dst == 1 && scratch.a.count < chunkBytes { scratch.a = [UInt8](repeating: 0, count: chunkBytes) }
      if dst == 2 && scratch.b.count < chunkBytes { scratch.b = [UInt8](repeating: 0, count: chunkBytes) }
      switch f {
      case .deflate:
        guard let inflater = scratch.inflater else { return "out of memory allocating a decompressor" }
        var outLen = 0
        let src = buffer(cur)
        // One complete zlib stream per chunk (HDF5's deflate filter); the Adler-32 is checked.
        let rc = src.withUnsafeBytes { i -> libdeflate_result in
          if dst == 1 {
            return scratch.a.withUnsafeMutableBytes {
              libdeflate_zlib_decompress(inflater, i.baseAddress!, len, $0.baseAddress!, chunkBytes, &outLen)
            }
          }
          return scratch.b.withUnsafeMutableBytes {
            libdeflate_zlib_decompress(inflater, i.baseAddress!, len, $0.baseAddress!, chunkBytes, &outLen)
          }
        }
        guard rc == LIBDEFLATE_SUCCESS else { return "corrupt gzip data in the chunk at row \(row0), column \(col0)" }
        len = outLen
      case .shuffle:
        if step == 0 && elementSize == 4 && len == chunkBytes {
          directShuffle = true
          continue
        }
        let src = buffer(cur)
        src.withUnsafeBufferPointer { i in
          if dst == 1 {
            scratch.a.withUnsafeMutableBufferPointer { Self.unshuffle(i.baseAddress!, len, elementSize, into: $0.baseAddress!) }
          } else {
            scratch.b.withUnsafeMutableBufferPointer { Self.unshuffle(i.baseAddress!, len, elementSize, into: $0.baseAddress!) }
          }
        }
      }
      cur = dst
    }
    guard len == chunkBytes else {
      return "chunk at row \(row0), column \(col0) holds \(len) bytes, expected \(chunkBytes)"
    }
    // Copy the rows and columns of this chunk that fall inside the request and the dataset.
    let v = voxelCount
    let rLo = max(row0, start), rHi = min(row0 + chunkRows, start + rows, count)
    let cHi = min(col0 + chunkCols, v), width = cHi - col0
    guard rLo < rHi, width > 0 else { return nil }
    let n = chunkRows * chunkCols
    buffer(cur).withUnsafeBytes { src in
      let b = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
      for r in rLo..<rHi {
        let dst = out + (r - start) * v + col0
        let e0 = (r - row0) * chunkCols
        if directShuffle {
          // Element k's four bytes are in byte planes 0...3 at index k (little-endian float32).
          UnsafeMutableRawPointer(dst).withMemoryRebound(to: UInt32.self, capacity: width) { w in
            for c in 0..<width {
              let k = e0 + c
              w[c] = UInt32(b[k]) | UInt32(b[n + k]) << 8 | UInt32(b[2 * n + k]) << 16 | UInt32(b[3 * n + k]) << 24
            }
          }
        } else if elementSize == 4 {
          // Stored little-endian IEEE float32 = native Float on the platforms we build for.
          UnsafeMutableRawPointer(dst).copyMemory(from: src.baseAddress! + e0 * 4, byteCount: width * 4)
        } else {
          let d = UnsafeRawPointer(src.baseAddress! + e0 * 8).assumingMemoryBound(to: Double.self)
          for c in 0..<width { dst[c] = Float(d[c]) }
        }
      }
    }
    return nil
  }

  /// Reverses HDF5's shuffle filter on `count` bytes: byte j of element k sits at j·n + k (n = whole
  /// elements); trailing bytes that do not fill an element are stored unshuffled.
  static func unshuffle(_ ip: UnsafePointer<UInt8>, _ count: Int, _ s: Int, into op: UnsafeMutablePointer<UInt8>) {
    let n = count / s
    if s > 1 && n > 1 {
      for j in 0..<s { for k in 0..<n { op[k * s + j] = ip[j * n + k] } }
    } else {
      op.update(from: ip, count: n * s)
    }
    for k in (n * s)..<count { op[k] = ip[k] }
  }
}

extension ShowerFileReader {
  /// A batch source for this file: the parallel chunk reader when the layout allows it, else `read`.
  /// The closure reads showers [start, start+count) exactly like `read(from:count:)`.
  /// Also returns the preferred batch granularity (the chunk height, 1 when reading through HDF5).
  public func fastBatchSource() -> (read: @Sendable (Int, Int) throws -> ShowerBatch, chunkRows: Int) {
    if let p = ParallelChunkReader(self) {
      return ({ try p.read(from: $0, count: $1) }, p.chunkRows)
    }
    return ({ [self] in try self.read(from: $0, count: $1) }, 1)
  }
}

/// A raw pointer handed to concurrent tasks that write disjoint parts of its memory.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
  let p: UnsafeMutablePointer<T>
  init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
