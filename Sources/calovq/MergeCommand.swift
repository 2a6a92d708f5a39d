import ArgumentParser
import CaloPipeline

struct MergeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge", abstract: "Concatenate CaloChallenge HDF5 files (e.g. generate shards) in order.")

  @Argument(help: "Input files, in order.") var inputs: [String]
  @Option(help: "Output HDF5 file.") var out: String

  func run() throws {
    try reportingErrors {
      let n = try mergeShowerFiles(inputs, into: out)
      print("wrote \(n) showers from \(inputs.count) files to \(out)")
    }
  }
}
