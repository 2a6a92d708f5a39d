import ArgumentParser

/// Root command. Each subcommand lives in its own file in this folder.
struct CalovqCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calovq",
    abstract: "Calo-VQ fast calorimeter simulation: train, generate, evaluate and explore showers.",
    discussion: """
      Sample showers bundled with CaloVQ come from its parameterised (GFlash-style) simulator, \
      not from GEANT4.
      """,
    subcommands: [
      InfoCommand.self,
      GeometryCommand.self,
      BenchCommand.self,
      SimulateCommand.self,
      GenerateCommand.self, MergeCommand.self, PackModelCommand.self, FitRSupportCommand.self,
      CalibrateSparsityCommand.self, SpotRoundCommand.self,
      ExploreCommand.self,
      EvaluateCommand.self,
      TrainCommand.self, EncodeCommand.self, ReconstructCommand.self,
    ]
  )
}
