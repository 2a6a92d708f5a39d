import ArgumentParser
import CaloData
import CaloGeometry
import CaloPipeline

struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Summarise a CaloChallenge shower file (HDF5).")

  @Argument(help: "A CaloChallenge HDF5 file with 'incident_energies' and 'showers'.")
  var file: String

  @Option(help: "Dataset (ds1-photon, ds1-pion, ds2, ds3); detected from the voxel count if omitted.")
  var dataset: String?

  func run() throws {
    let kind = try dataset.map(parseDataset)
    try reportingErrors {
      let reader = try ShowerFileReader(path: file, expected: kind)
      print(try FileSummary(reader: reader).report(), terminator: "")
    }
  }
}
