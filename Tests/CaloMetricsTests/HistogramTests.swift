import CaloGeometry
import XCTest

@testable import CaloMetrics

final class HistogramTests: XCTestCase {
  func testNumpyEdgeConventions() {
    var h = Histogram(binning: .linear(0, 1, bins: 4))
    h.add(contentsOf: [0, 0.25, 0.2499999, 1.0, 1.0000001, -1e-12, .nan, 0.75])
    // 0 → bin 0; 0.25 exactly on an interior edge → bin 1; last edge 1.0 counted in the last bin;
    // above the last edge, below the first and NaN dropped.
    XCTAssertEqual(h.counts, [2, 1, 0, 2])
    XCTAssertEqual(h.total, 5)
  }

  func testLinspaceMatchesNumpy() {
    // numpy.linspace(0.5, 1.5, 101)[37] == 0.87 (0.5 + 37*0.01 in binary arithmetic).
    let e = linspace(0.5, 1.5, 101)
    XCTAssertEqual(e[37], 37 * 0.01 + 0.5)
    XCTAssertEqual(e[100], 1.5)
  }

  func testGeometricBinning() throws {
    let b = try XCTUnwrap(Binning.geometric(from: 1, to: 1000, edgeCount: 4))
    XCTAssertEqual(b.edges[1], 10, accuracy: 1e-12)
    XCTAssertEqual(b.edges[2], 100, accuracy: 1e-12)
    XCTAssertTrue(b.isLog)
    XCTAssertEqual(b.bin(of: 1), 0)
    XCTAssertEqual(b.bin(of: 9.99), 0)
    XCTAssertEqual(b.bin(of: b.edges[1]), 1)
    XCTAssertEqual(b.bin(of: b.edges[3]), 2)
    XCTAssertNil(b.bin(of: 0.99))
    XCTAssertNil(b.bin(of: 0))
    // A reference maximum at or below the threshold gives no binning (feature undefined).
    XCTAssertNil(Binning.geometric(from: 1, to: 1, edgeCount: 40))
    XCTAssertNil(Binning.geometric(from: 1, to: 0, edgeCount: 40))
  }

  func testBinOfAgreesWithLinearSearchOnRandomValues() throws {
    var rng = SeededRandom(seed: 7)
    let b = try XCTUnwrap(Binning.geometric(from: 0.0151515, to: 8.3e4, edgeCount: 50))
    for _ in 0..<20000 {
      let x = pow(10, Double.random(in: -2...5, using: &rng))
      let expected = (0..<b.count).first { i in
        x >= b.edges[i] && (x < b.edges[i + 1] || (i == b.count - 1 && x <= b.edges[i + 1]))
      }
      XCTAssertEqual(b.bin(of: x), expected, "x = \(x)")
    }
  }

  func testFloatLookupAgreesWithBinning() throws {
    var rng = SeededRandom(seed: 9)
    for b in [try XCTUnwrap(Binning.geometric(from: 0.0151515, to: 3.1e4, edgeCount: 50)),
              Binning.linear(-30, 30, bins: 100), Binning.linear(0.5, 1.5, bins: 100)] {
      let f = FloatBinLookup(b)
      var xs: [Float] = b.edges.map { Float($0) } + b.edges.map { Float($0).nextUp } + b.edges.map { Float($0).nextDown }
      for _ in 0..<20000 { xs.append(Float(pow(10, Double.random(in: -3...5, using: &rng)))) }
      for _ in 0..<5000 { xs.append(Float(Double.random(in: -40...40, using: &rng))) }
      for x in xs { XCTAssertEqual(f.bin(of: x), b.bin(of: Double(x)), "x = \(x)") }
    }
  }

  func testSeparationPower() {
    XCTAssertEqual(separationPower(reference: [1, 2, 3], generated: [1, 2, 3]), 0)
    XCTAssertEqual(separationPower(reference: [1, 2, 3], generated: [3, 6, 9])!, 0, accuracy: 1e-15)
    XCTAssertEqual(separationPower(reference: [5, 0, 0], generated: [0, 2, 7])!, 1, accuracy: 1e-12)
    // p = (1/2, 1/2), q = (1, 0): ½[(−½)²/1.5 + (½)²/½] = ½(1/6 + 1/2) = 1/3.
    XCTAssertEqual(separationPower(reference: [1, 1], generated: [4, 0])!, 1.0 / 3, accuracy: 1e-12)
    XCTAssertNil(separationPower(reference: [0, 0], generated: [1, 0]))
    XCTAssertNil(separationPower(reference: [1, 0], generated: [0, 0]))
  }

  func testCatalogueOrderAndRanges() {
    let p = histogramSpecs(kind: .ds1Photon)
    let official = p.filter(\.official).map(\.label)
    XCTAssertEqual(official.first, "Etot / Einc")
    XCTAssertEqual(Array(official[1...5]), ["E layer 0", "E layer 1", "E layer 2", "E layer 3", "E layer 12"])
    XCTAssertEqual(official[6], "EC Eta layer 1")
    XCTAssertEqual(official.last, "Voxel distribution")
    XCTAssertEqual(official.filter { $0.hasPrefix("Etot / Einc at E") }.count, 15)
    // Photons switch to [0.9, 1.1] from 4096 MeV on; pions never do.
    let e2048 = p.first { $0.label == "Etot / Einc at E = 2048" }!
    let e4096 = p.first { $0.label == "Etot / Einc at E = 4096" }!
    XCTAssertEqual(e2048.fixedBinning!.edges.first, 0.4)
    XCTAssertEqual(e4096.fixedBinning!.edges.first, 0.9)
    let pion = histogramSpecs(kind: .ds1Pion)
    XCTAssertEqual(pion.first { $0.label == "Etot / Einc at E = 4194304" }!.fixedBinning!.edges.last, 1.4)
    XCTAssertEqual(pion.first { $0.label == "EC Eta layer 12" }!.fixedBinning!.edges.first, -500)
    XCTAssertEqual(pion.first { $0.label == "Width Phi layer 2" }!.fixedBinning!.edges.last, 100)
    XCTAssertEqual(pion.first { $0.label == "EC R layer 14" }!.fixedBinning!.edges.last, 1500)
    let ds2 = histogramSpecs(kind: .ds2)
    XCTAssertEqual(ds2.filter(\.official).count, 1 + 45 + 4 * 45 + 1)
    XCTAssertEqual(ds2.first { $0.label == "EC Phi layer 3" }!.fixedBinning!.edges.first, -30)
    XCTAssertEqual(ds2.first { $0.label == "Width R layer 3" }!.fixedBinning!.edges.last, 20)
  }
}
