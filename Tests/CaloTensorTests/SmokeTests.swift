import CaloTensor
import XCTest

final class SmokeTests: XCTestCase {
  func testLinearBackwardMatchesHandComputation() {
    // y = x·Wᵀ, L = Σy → dL/dW[o][i] = Σ_rows x[r][i]
    let x = Tensor([2, 3], data: [1, 2, 3, 4, 5, 6])
    let w = Tensor.parameter([2, 3], data: [0.1, 0.2, 0.3, -0.1, 0.5, 0.0], name: "w")
    let loss = x.linear(w, nil).sum()
    XCTAssertEqual(loss.item, 1.4 + 3.2 + 0.9 + 2.1, accuracy: 1e-5)
    loss.backward()
    XCTAssertEqual(w.grad!, [5, 7, 9, 5, 7, 9])
  }

  func testNoGradRecordsNothing() {
    let w = Tensor.parameter([2, 2], data: [1, 2, 3, 4], name: "w")
    let y = withNoGrad { (w * w).sum() }
    XCTAssertFalse(y.requiresGrad)
    XCTAssertFalse(y.isRecorded)
  }
}

final class BackwardTests: XCTestCase {
  /// Two losses sharing a retained graph: each backward must give that loss's own gradient
  /// (the adaptive GAN weight needs ‖∂L_rec/∂w‖ and ‖∂L_gan/∂w‖ of the same layer).
  func testSecondBackwardThroughRetainedGraphIsNotPolluted() {
    let w = Tensor.parameter([3], data: [1, 2, 3], name: "w")
    let h = w * 2                       // shared intermediate
    let l1 = h.sum()                    // dl1/dw = 2
    let l2 = h.square().sum()           // dl2/dw = 8w
    l1.backward(retainGraph: true)
    XCTAssertEqual(w.grad!, [2, 2, 2])
    w.zeroGrad()
    l2.backward(retainGraph: true)
    XCTAssertEqual(w.grad!, [8, 16, 24])
    w.zeroGrad()
    l1.backward()
    XCTAssertEqual(w.grad!, [2, 2, 2])
  }

  func testGradientsAccumulateAcrossBackwardCalls() {
    let w = Tensor.parameter([2], data: [1, -1], name: "w")
    (w * 3).sum().backward()
    (w * w).sum().backward()
    XCTAssertEqual(w.grad!, [3 + 2, 3 - 2])
  }
}
