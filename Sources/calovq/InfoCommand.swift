import ArgumentParser
import CaloData
import CaloGeometry
import CaloPipeline

/// `calovq info FILE [--dataset D] [--binning XML]`: the first command to run on a shower file.
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Summarise a CaloChallenge shower file (HDF5).",
    discussion: """
      Prints the dataset kind, shower count, incident-energy range and histogram, the E_tot/E_inc \
      response, sparsity and the mean energy per layer. Streams the file, so any size works.
      """)

  @Argument(help: "A CaloChallenge HDF5 file with 'incident_energies' (N,1) and 'showers' (N,voxels).")
  var file: String

  @Option(help: "Dataset (ds1-photon, ds1-pion, ds2, ds3); detected from the voxel count if omitted.")
  var dataset: String?

  @Option(help: "A CaloChallenge binning XML to use instead of the dataset's built-in geometry.")
  var binning: String?

  @Option(help: "Particle (Bin name) to take from --binning; default: the dataset's, or the file's only Bin.")
  var particle: String?

  func run() throws {
    try reportingErrors {
      let kind = try dataset.map(parseDataset)
      let geometry = try binning.map {
        try Geometry(contentsOfFile: $0, particle: particle ?? kind?.particleName)
      }
      let reader = try ShowerFileReader(path: file, expected: kind, customVoxels: geometry?.voxelCount)
      print(try FileSummary(reader: reader, geometry: geometry).report(), terminator: "")
    }
  }
}
