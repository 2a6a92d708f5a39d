// sampling.json in a model folder: defaults, a valid file, and every kind of bad file named clearly.
import CaloModel
import Foundation
import XCTest
@testable import CaloPipeline

final class ModelSamplingTests: XCTestCase {
  private func folder(with json: String?) throws -> String {
    let dir = NSTemporaryDirectory() + "calovq-sampling-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    if let json { try json.write(toFile: dir + "/sampling.json", atomically: true, encoding: .utf8) }
    return dir
  }

  func testMissingFileGivesThePapersSampling() throws {
    XCTAssertEqual(try loadModelSampling(folder(with: nil)), SamplingOptions())
  }

  func testValidFileIsReadAndMissingKeysKeepDefaults() throws {
    let s = try loadModelSampling(folder(with: #"{"temperature": 1.15, "rTopP": 0.99}"#))
    XCTAssertEqual(s, SamplingOptions(temperature: 1.15, topK: nil, constrainR: false, rTopP: 0.99))
    let k = try loadModelSampling(folder(with: #"{"topK": 50, "constrainR": true}"#))
    XCTAssertEqual(k, SamplingOptions(temperature: 1, topK: 50, constrainR: true, rTopP: nil))
    let r = try loadModelSampling(folder(with: #"{"rLevelInterpolation": true, "rLayerFit": "size-weighted"}"#))
    XCTAssertEqual(r, SamplingOptions(rLevelInterpolation: true, rLayerFit: .sizeWeighted))
    let p = try loadModelSampling(folder(with: #"{"rLevelInterpolation": false, "rLayerFit": "proportional"}"#))
    XCTAssertEqual(p, SamplingOptions())
  }

  func testBadFilesAreRejectedWithTheReason() throws {
    let cases: [(String, String)] = [
      ("[1, 2]", "not a JSON object"),
      ("{temperature: 1}", "not a JSON object"),
      (#"{"temperature": true}"#, "temperature must be a number"),
      (#"{"temprature": 1.1}"#, "unknown key 'temprature'"),
      (#"{"temperature": 0}"#, "temperature must be > 0"),
      (#"{"temperature": "hot"}"#, "temperature must be a number"),
      (#"{"topK": 2.5}"#, "topK must be a whole number"),
      (#"{"rTopP": 1.5}"#, "rTopP must be in (0, 1]"),
      (#"{"constrainR": 1}"#, "constrainR must be true or false"),
      (#"{"rLevelInterpolation": "yes"}"#, "rLevelInterpolation must be true or false"),
      (#"{"rLayerFit": "largest"}"#, #"rLayerFit must be one of "proportional", "size-weighted""#),
      (#"{"rLayerFit": 1}"#, "rLayerFit must be one of"),
    ]
    for (json, reason) in cases {
      let dir = try folder(with: json)
      XCTAssertThrowsError(try loadModelSampling(dir), json) { error in
        let text = "\(error)"
        XCTAssertTrue(text.contains(reason), "\(json): \(text)")
        XCTAssertTrue(text.contains("sampling.json"), text)
      }
    }
  }
}
