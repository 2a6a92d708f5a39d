import ArgumentParser

/// `calovq bench ...`: speed and memory measurements. Each benchmark is a subcommand in its own file.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure speed and memory (kernels, simulate, evaluate, generate ...).",
    subcommands: [
      // bench subcommands are registered here, one line each
      BenchSimulateCommand.self,
      BenchTrainCommand.self,
      BenchKernelsCommand.self,
      BenchGenerateCommand.self,
      BenchEvaluateCommand.self,
    ]
  )
}
