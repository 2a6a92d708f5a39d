// Tensor: Float32 values in one contiguous row-major buffer, plus the optional reverse-mode tape.
// Deliberately left out: strides/views (every op materialises its output), other dtypes, devices.

/// A dense, contiguous, row-major array of `Float` with a shape, and (when gradients are needed)
/// a link into the reverse-mode tape.
///
/// A tensor records how it was made only when gradient recording is on (`GradMode`) **and** at least
/// one input has `requiresGrad`. Otherwise `parents` stays empty and no closure is allocated, so
/// inference (`withNoGrad { ... }` or parameters created with `requiresGrad: false`) pays no autodiff
/// overhead beyond one flag check per op.
///
/// ```swift
/// let w = Tensor.parameter([3, 2], data: [1, 2, 3, 4, 5, 6])
/// let x = Tensor([1, 2], data: [1, -1])
/// let loss = x.matmul(w.transposed()).square().sum()   // (1,3) -> scalar
/// loss.backward()
/// print(w.grad!)                                        // dLoss/dw, shape of w
/// ```
///
/// Tensors are reference types (the graph links them). They are not thread-safe: do not mutate one
/// tensor from two threads. Kernels parallelise internally.
public final class Tensor {
  /// Shape, outermost first. A scalar has shape `[]` and one element.
  public let shape: [Int]
  /// The values, row-major, `count` elements.
  public var data: [Float]
  /// Accumulated gradient dLoss/dself (same layout as `data`), or nil if none has flowed here yet.
  public var grad: [Float]?
  /// Leaves set this to ask for gradients; op outputs inherit it from their inputs.
  public var requiresGrad: Bool
  /// Optional name (parameters carry their model-file name here).
  public var name: String?

  /// Inputs of the op that produced this tensor (empty for leaves or when nothing was recorded).
  var parents: [Tensor] = []
  /// Backward rule of the producing op: reads `out.grad` and **accumulates** into the parents' grads.
  var backwardFn: ((Tensor) -> Void)?

  /// Number of elements (product of `shape`; 1 for a scalar).
  public var count: Int { data.count }
  /// Number of dimensions.
  public var rank: Int { shape.count }

  /// Creates a tensor from values (row-major). `data.count` must equal the product of `shape`.
  public init(_ shape: [Int], data: [Float], requiresGrad: Bool = false) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
    precondition(data.count == shape.reduce(1, *), "data has \(data.count) values but shape \(shape) needs \(shape.reduce(1, *))")
    self.shape = shape
    self.data = data
    self.requiresGrad = requiresGrad
  }

  /// A tensor filled with `value`.
  public convenience init(_ shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
    self.init(shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
  }

  /// A scalar (shape `[]`).
  public convenience init(scalar: Float, requiresGrad: Bool = false) {
    self.init([], data: [scalar], requiresGrad: requiresGrad)
  }

  /// Zeros of the given shape.
  public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
    Tensor(shape, repeating: 0, requiresGrad: requiresGrad)
  }

  /// Ones of the given shape.
  public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
    Tensor(shape, repeating: 1, requiresGrad: requiresGrad)
  }

  /// A trainable leaf (`requiresGrad = true`) with an optional name.
  public static func parameter(_ shape: [Int], data: [Float], name: String? = nil) -> Tensor {
    let t = Tensor(shape, data: data, requiresGrad: true)
    t.name = name
    return t
  }

  /// The single value of a one-element tensor.
  public var item: Float {
    precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
    return data[0]
  }

  /// Size of dimension `i` (negative counts from the end).
  public func size(_ i: Int) -> Int { shape[i < 0 ? i + rank : i] }

  /// Is this an op output that the tape recorded (as opposed to a leaf)?
  public var isRecorded: Bool { backwardFn != nil }

  /// Sets `grad` to nil (the optimiser's `zeroGrad` calls this on every parameter).
  public func zeroGrad() { grad = nil }

  /// Runs `body` with a pointer to the gradient buffer, creating it (zeros) on first use.
  /// Backward rules use this and only ever add into the buffer.
  @inline(__always)
  func withGrad(_ body: (UnsafeMutablePointer<Float>) -> Void) {
    if grad == nil { grad = [Float](repeating: 0, count: data.count) }
    grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
  }

  /// Pointer to the values for reading (valid inside `body` only).
  @inline(__always)
  public func withData<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    try data.withUnsafeBufferPointer { try body($0.baseAddress!) }
  }

  /// Pointer to the values for writing (valid inside `body` only).
  @inline(__always)
  public func withMutableData<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try data.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
  }
}

// MARK: - Recording

/// Whether ops record the tape. Task-local, so `withNoGrad` affects only the current task/thread of
/// work and nothing global is mutated.
public enum GradMode {
  @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` with gradient recording off: op outputs have no parents and no backward closure.
/// Use it for inference and for evaluation passes.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
  try GradMode.$isEnabled.withValue(false) { try body() }
}

extension Tensor {
  /// True when an op with these inputs must be recorded.
  @inline(__always)
  static func needsGrad(_ inputs: [Tensor]) -> Bool {
    guard inputs.contains(where: { $0.requiresGrad }) else { return false }
    return GradMode.isEnabled
  }

  /// Makes an op output; records `backward` only if some input needs gradients.
  /// `backward(out)` must read `out.grad!` and accumulate into the inputs' gradients.
  /// The rule is an autoclosure so that the escaping closure (and its captured state) is only
  /// created when it is recorded: inference allocates no backward closures.
  @inline(__always)
  static func result(
    _ shape: [Int], _ data: [Float], inputs: [Tensor], backward: @autoclosure () -> ((Tensor) -> Void)
  ) -> Tensor {
    let out = Tensor(shape, data: data)
    if needsGrad(inputs) {
      out.requiresGrad = true
      out.parents = inputs
      out.backwardFn = backward()
    }
    return out
  }

  /// Back-propagates from this tensor: seeds `grad` with ones (or `seed`, same shape) and runs every
  /// recorded backward rule in reverse topological order. Gradients **accumulate** into leaves
  /// (call `zeroGrad` between steps). With `retainGraph == false` (default) the graph links are
  /// dropped afterwards so intermediate buffers can be freed.
  public func backward(seed: [Float]? = nil, retainGraph: Bool = false) {
    precondition(requiresGrad, "backward() on a tensor that does not require gradients (shape \(shape)); "
      + "did you build it inside withNoGrad or from tensors without requiresGrad?")
    if let seed {
      precondition(seed.count == count, "seed has \(seed.count) values, tensor has \(count)")
    }
    // Iterative DFS topological order (deep graphs must not overflow the stack).
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Tensor, Bool)] = [(self, false)]
    while let (t, expanded) = stack.popLast() {
      if expanded { order.append(t); continue }
      if visited.contains(ObjectIdentifier(t)) { continue }
      visited.insert(ObjectIdentifier(t))
      stack.append((t, true))
      for p in t.parents where !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) }
    }
    // Gradients of recorded (non-leaf) nodes are scratch space of one pass: clear them so a second
    // backward through a retained graph (e.g. from another loss) does not see stale values.
    for t in order where t.backwardFn != nil { t.grad = nil }
    withGrad { g in
      if let seed { for i in 0..<count { g[i] += seed[i] } } else { for i in 0..<count { g[i] += 1 } }
    }
    for t in order.reversed() {
      guard let fn = t.backwardFn, t.grad != nil else { continue }
      fn(t)
      if !retainGraph {
        t.backwardFn = nil
        t.parents = []
        if t !== self { t.grad = nil }  // intermediate grads are not needed any more
      }
    }
  }

  /// A leaf copy of the values that is cut from the tape (gradients do not flow through it).
  public func detached() -> Tensor { Tensor(shape, data: data) }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let shown = data.prefix(8).map { String($0) }.joined(separator: ", ")
    return "Tensor(shape: \(shape), data: [\(shown)\(count > 8 ? ", ..." : "")])"
  }
}
