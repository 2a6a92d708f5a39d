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
