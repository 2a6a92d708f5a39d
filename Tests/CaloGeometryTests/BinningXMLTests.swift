// The binning XML writer and parser: round trips, the committed sample-data/geometry files, the
// XMLHandler rules (document order, Bin by particle name) and clear errors for malformed files.
import CaloGeometry
import XCTest

final class BinningXMLTests: XCTestCase {
  /// sample-data/geometry of this checkout, found from this source file's location.
  private let geometryDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sample-data/geometry").path

  func testWriteParseRoundTripEqualsPresetForAllDatasets() throws {
    for kind in DatasetKind.allCases {
      let g = kind.geometry
      let parsed = try Geometry(xml: g.xml(), particle: kind.particleName)
      XCTAssertEqual(parsed, g, "\(kind)")
      XCTAssertEqual(parsed.voxelCount, kind.voxelCount)
      XCTAssertEqual(parsed.offsets, g.offsets)
      // The file has one Bin, so no particle is needed.
      XCTAssertEqual(try Geometry(xml: g.xml(), particle: nil), g)
    }
  }

  func testCommittedFilesParseToThePresets() throws {
    for kind in DatasetKind.allCases {
      let path = geometryDir + "/" + kind.binningFileName
      XCTAssertTrue(FileManager.default.fileExists(atPath: path), "missing \(path)")
      let g = try Geometry(contentsOfFile: path, particle: kind.particleName)
      XCTAssertEqual(g, kind.geometry, kind.binningFileName)
      // The committed text is exactly what the writer produces today (regenerate with
      // `calovq geometry --write-all sample-data/geometry` if the format changes on purpose).
      XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), kind.geometry.xml())
    }
  }

  func testWrittenEdgesUseShortDecimals() {
    let xml = DatasetKind.ds2.geometry.xml()
    XCTAssertTrue(xml.contains("r_edges=\"0,4.65,9.3,13.95,18.6,23.25,27.9,32.55,37.2,41.85\""))
    XCTAssertTrue(DatasetKind.ds1Photon.geometry.xml().contains("<Bin pid=\"22\" etaMin=\"0\" etaMax=\"130\" name=\"photon\">"))
  }

  func testDocumentOrderNotIdDefinesLayoutAndBinIsPickedByName() throws {
    // Single quotes, comments, spacing and extra attributes as other writers may produce them.
    let xml = """
      <?xml version='1.0'?>
      <!-- two particles in one file -->
      <Bins>
        <Bin name='photon' pid='22'>
          <Layer id='0' r_edges='0,1' n_bin_alpha='1'/>
        </Bin>
        <Bin pid="11" name="electron" comment="a &amp; b">
          <Layer id="7" r_edges="0, 2, 5" n_bin_alpha="3" />
          <Layer id="2" r_edges="0" n_bin_alpha="1"></Layer>
          <Layer id="1" r_edges="0,10,20,40" n_bin_alpha="1"/>
        </Bin>
      </Bins>
      """
    let g = try Geometry(xml: xml, particle: "electron")
    XCTAssertEqual(g.pid, 11)
    XCTAssertEqual(g.layers.map(\.id), [7, 2, 1])
    XCTAssertEqual(g.offsets, [0, 6, 6, 9])
    XCTAssertEqual(g.layers[0].rEdges, [0, 2, 5])
    XCTAssertEqual(g.extraAttributes.map(\.1), ["a & b"])
    XCTAssertEqual(g.index(layer: 2, alpha: 0, r: 2), 8)
    XCTAssertEqual(try Geometry(xml: xml, particle: "photon").voxelCount, 1)
  }

  func testMalformedXMLGivesClearErrors() {
    let layer = #"<Layer id="0" r_edges="0,1,2" n_bin_alpha="1"/>"#
    let cases: [(String, String?, [String])] = [
      ("<Bins><Bin name=\"photon\" pid=\"22\">\(layer)</Bin>", "photon", ["<Bins> opened on line 1 is never closed"]),
      ("<Bins>\n<Bin name=\"photon\" pid=\"22\">\n\(layer)\n</Bins>", "photon", ["line 4", "</Bins> does not match <Bin>"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"><Layer id=\"0\" n_bin_alpha=\"1\"/></Bin></Bins>", "photon",
       ["has no 'r_edges' attribute"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"><Layer id=\"0\" r_edges=\"0,x\" n_bin_alpha=\"1\"/></Bin></Bins>", "photon",
       ["r_edges value 'x' is not a number"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"><Layer id=\"0\" r_edges=\"0,5,3\" n_bin_alpha=\"1\"/></Bin></Bins>", "photon",
       ["strictly ascending"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"><Layer id=\"0\" r_edges=\"0,5\" n_bin_alpha=\"0\"/></Bin></Bins>", "photon",
       ["n_bin_alpha '0'"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\">\(layer)</Bin></Bins>", "pion", ["no <Bin name=\"pion\">", "'photon'"]),
      ("<Bins><Bin name=\"a\" pid=\"1\">\(layer)</Bin><Bin name=\"b\" pid=\"2\">\(layer)</Bin></Bins>", nil,
       ["2 <Bin> elements", "say which particle"]),
      ("<Binning><Bin name=\"photon\" pid=\"22\">\(layer)</Bin></Binning>", "photon", ["root element must be <Bins>"]),
      ("", "photon", ["root element must be <Bins>", "no element"]),
      ("<Bins><Bin name=\"photon\">\(layer)</Bin></Bins>", "photon", ["no 'pid' attribute"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"></Bin></Bins>", "photon", ["has no <Layer> elements"]),
      ("<Bins><Bin name=\"photon\" pid=\"22\"><Layer id=\"0\" r_edges=\"0\" n_bin_alpha=\"1\"/></Bin></Bins>", "photon",
       ["has no voxels"]),
      ("<Bins><Bin name=photon pid=\"22\">\(layer)</Bin></Bins>", "photon", ["not quoted"]),
      ("<Bins><!-- unclosed comment <Bin/></Bins>", "photon", ["comment opened on line 1 is never closed"]),
    ]
    for (xml, particle, fragments) in cases {
      XCTAssertThrowsError(try Geometry(xml: xml, particle: particle, source: "t.xml"), xml) { err in
        XCTAssertTrue(err is BinningError)
        let text = "\(err)"
        XCTAssertTrue(text.hasPrefix("binning file 't.xml'"), text)
        for f in fragments { XCTAssertTrue(text.contains(f), "'\(text)' lacks '\(f)'") }
      }
    }
  }

  func testUnreadableBinningFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-xml-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertThrowsError(try Geometry(contentsOfFile: dir + "/none.xml", particle: nil)) {
      XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
    }
    XCTAssertThrowsError(try Geometry(contentsOfFile: dir, particle: nil)) {
      XCTAssertTrue("\($0)".contains("is a directory"), "\($0)")
    }
  }
}
