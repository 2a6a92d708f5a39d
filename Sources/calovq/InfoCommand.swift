import ArgumentParser
import CaloData
import CaloGeometry
import CaloPipeline
import Foundation

/// `calovq info FILE [--dataset D] [--binning XML]`: the first command to run on a shower file.
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Summarise a CaloChallenge shower file (HDF5) or a model folder.",
    discussion: """
      For a shower file: the dataset kind, shower count, incident-energy range and histogram, the \
      E_tot/E_inc response, sparsity and the mean energy per layer. Streams the file, so any size \
      works. For a model folder (stage1.safetensors + stage2.safetensors): both stages' configs, the R \
      quantiser, the sampling settings and the output calibration.
      """)

  @Argument(help: "A CaloChallenge HDF5 file with 'incident_energies' (N,1) and 'showers' (N,voxels), or a model folder.")
  var file: String

  @Option(help: "Dataset (ds1-photon, ds1-pion, ds2, ds3); detected from the voxel count if omitted.")
  var dataset: String?

  @Option(help: "A CaloChallenge binning XML to use instead of the dataset's built-in geometry.")
  var binning: String?

  @Option(help: "Particle (Bin name) to take from --binning; default: the dataset's, or the file's only Bin.")
  var particle: String?

  func run() throws {
    try reportingErrors {
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue {
        guard dataset == nil, binning == nil, particle == nil else {
          throw CLIError.badArgument("--dataset, --binning and --particle describe shower files; a model folder brings its own")
        }
        let hasModel = modelFileNames.contains {
          FileManager.default.fileExists(atPath: file + "/" + $0)
        }
        guard hasModel else {
          throw CLIError.badArgument("'\(file)' is a directory without stage1.safetensors or stage2.safetensors; "
            + "give a CaloChallenge .h5 file or a model folder")
        }
        print(try ModelSummary.report(directory: file), terminator: "")
        return
      }
      let kind = try dataset.map(parseDataset)
      let geometry = try binning.map {
        try Geometry(contentsOfFile: $0, particle: particle ?? kind?.particleName)
      }
      let reader = try ShowerFileReader(path: file, expected: kind, customVoxels: geometry?.voxelCount)
      print(try FileSummary(reader: reader, geometry: geometry).report(), terminator: "")
    }
  }
}
