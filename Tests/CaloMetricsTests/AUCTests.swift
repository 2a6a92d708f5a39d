import XCTest

@testable import CaloMetrics

/// ROC AUC, binary cross-entropy and the classifier JSD against hand-computed values.
final class AUCTests: XCTestCase {
  func testSmallCaseWithoutTies() throws {
    // Positives 0.35, 0.8; negatives 0.1, 0.4: of the 4 (positive, negative) pairs, 3 are ordered right.
    let auc = try XCTUnwrap(rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]))
    XCTAssertEqual(auc, 0.75, accuracy: 1e-15)
  }

  func testTiesCountOneHalf() throws {
    // Positives 2, 3; negatives 1, 2: pairs (2,1) 1, (2,2) ½, (3,1) 1, (3,2) 1 → 3.5 / 4.
    XCTAssertEqual(try XCTUnwrap(rocAUC(scores: [1, 2, 2, 3], labels: [false, true, false, true])), 0.875, accuracy: 1e-15)
    // All scores equal: every pair is a tie.
    XCTAssertEqual(try XCTUnwrap(rocAUC(scores: [5, 5, 5, 5, 5], labels: [true, false, true, false, false])), 0.5,
                   accuracy: 1e-15)
    // A tie block of three (one positive, two negatives) between two clear cases:
    // positives 0 and 1 (the tied one), negatives 1, 1 and 2.
    // Pairs: (0 vs 1,1,2) = 0; (1 vs 1,1) = ½ + ½; (1 vs 2) = 0 → 1 / 6.
    XCTAssertEqual(try XCTUnwrap(rocAUC(scores: [0, 1, 1, 1, 2], labels: [true, true, false, false, false])), 1.0 / 6,
                   accuracy: 1e-15)
  }

  func testPerfectReversedAndUndefined() {
    XCTAssertEqual(rocAUC(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]), 1)
    XCTAssertEqual(rocAUC(scores: [0.1, 0.2, 0.8, 0.9], labels: [true, true, false, false]), 0)
    XCTAssertNil(rocAUC(scores: [0.1, 0.2], labels: [true, true]))
    XCTAssertNil(rocAUC(scores: [], labels: []))
  }

  func testMatchesPairCountingWithManyTies() throws {
    // Scores rounded to one decimal produce many ties; compare with the O(n²) definition.
    var rng = SeededRandom(seed: 7)
    let n = 300
    let labels = (0..<n).map { _ in Bool.random(using: &rng) }
    let scores = labels.map { ($0 ? 0.3 : 0) + Double.random(in: 0..<1, using: &rng) }.map { ($0 * 10).rounded() / 10 }
    var wins = 0.0, pairs = 0.0
    for i in 0..<n where labels[i] {
      for j in 0..<n where !labels[j] {
        pairs += 1
        wins += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0)
      }
    }
    XCTAssertEqual(try XCTUnwrap(rocAUC(scores: scores, labels: labels)), wins / pairs, accuracy: 1e-12)
  }

  func testBinaryCrossEntropyAndJSD() {
    // −(ln 0.8 + ln 0.7) / 2 for p = 0.8 on a positive and p = 0.3 on a negative.
    let bce = binaryCrossEntropy(probabilities: [0.8, 0.3], labels: [true, false])
    XCTAssertEqual(bce, -(log(0.8) + log(0.7)) / 2, accuracy: 1e-15)
    // An undecided classifier (p = ½) has BCE ln 2 and JSD 0; a certain and right one JSD ≈ 1.
    let half = binaryCrossEntropy(probabilities: [0.5, 0.5, 0.5], labels: [true, false, true])
    XCTAssertEqual(half, log(2), accuracy: 1e-15)
    XCTAssertEqual(classifierJSD(bce: half), 0, accuracy: 1e-15)
    let sure = binaryCrossEntropy(probabilities: [1 - 1e-6, 1e-6], labels: [true, false])
    XCTAssertEqual(classifierJSD(bce: sure), 1 + log(1 - 1e-6) / log(2), accuracy: 1e-15)
    // log is limited at −100 as in PyTorch's BCELoss: p = 0 on a positive costs 100, not infinity.
    XCTAssertEqual(binaryCrossEntropy(probabilities: [0], labels: [true]), 100)
  }
}
