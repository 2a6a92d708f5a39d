import ArgumentParser
import CaloGeometry
import Foundation

/// `calovq geometry`: print a binning, write it as CaloChallenge binning XML, or check an XML file.
struct GeometryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "geometry", abstract: "Show or write the CaloChallenge binning XML of a dataset.",
    discussion: """
      calovq geometry --dataset ds2                 print the layer table
      calovq geometry --dataset ds2 --out f.xml     write binning_dataset_2.xml-style XML
      calovq geometry --write-all sample-data/geometry   write all four official-name files
      calovq geometry --binning f.xml [--particle photon]   parse and print any binning file
      """)

  @Option(help: "Dataset (ds1-photon, ds1-pion, ds2, ds3).")
  var dataset: String?

  @Option(help: "Write the dataset's binning XML to this file (default: print a table).")
  var out: String?

  @Option(help: "Write the four binning files with their official names into this folder.")
  var writeAll: String?

  @Option(help: "Parse this binning XML and print its layer table.")
  var binning: String?

  @Option(help: "Particle (Bin name) to take from --binning.")
  var particle: String?

  func run() throws {
    try reportingErrors {
      if let dir = writeAll {
        for kind in DatasetKind.allCases {
          let path = (dir as NSString).appendingPathComponent(kind.binningFileName)
          try writeText(kind.geometry.xml(), to: path)
          print("wrote \(path) (\(kind.rawValue), \(kind.voxelCount) voxels)")
        }
        return
      }
      if let binning {
        let g = try Geometry(contentsOfFile: binning, particle: particle ?? dataset.map(parseDataset)?.particleName)
        print(g.summary(), terminator: "")
        if let k = DatasetKind(voxelCount: g.voxelCount) {
          print(k.geometry == g ? "identical to the built-in \(k.rawValue) geometry"
                : "same voxel count as \(k.rawValue) but a different binning")
        }
        return
      }
      guard let name = dataset else {
        throw CLIError.badArgument("give --dataset NAME, --binning FILE or --write-all DIR (see --help)")
      }
      let kind = try parseDataset(name)
      if let out {
        try writeText(kind.geometry.xml(), to: out)
        print("wrote \(out) (\(kind.rawValue), \(kind.voxelCount) voxels)")
      } else {
        print(kind.geometry.summary(), terminator: "")
      }
    }
  }
}
