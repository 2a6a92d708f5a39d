import ArgumentParser
import CaloTensor
import Foundation

/// `calovq bench kernels`: GEMM peak and the Calo-VQ kernels' GFLOP/s as a fraction of it.
struct BenchKernelsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernels",
    abstract: "GEMM GFLOP/s and each conv/attention kernel's GFLOP/s (forward and backward) as a fraction of it.")

  @Option(help: "Batch size for the convolution kernels.")
  var batch: Int = 32

  @Option(help: "Timed repetitions per kernel (best time is reported).")
  var reps: Int = 3

  @Option(help: "Only run kernels whose name contains this text (e.g. ds3).")
  var filter: String?

  func run() throws {
    try reportingErrors {
      guard batch > 0, reps > 0 else { throw ValidationError("--batch and --reps must be positive") }
      print("OpenBLAS: \(Compute.blasInfo); cores used by CaloTensor: \(Compute.lanes)")
      let gemm = KernelBench.gemmPeak(reps: reps)
      for r in gemm { print(pad(r.name, 44) + String(format: " %8.1f GFLOP/s", r.gflops)) }
      let peak = gemm.last!.gflops
      print(String(format: "fractions below are of the %.1f GFLOP/s all-core large-GEMM rate\n", peak))
      print(pad("kernel", 44) + " pass   ms/call   GFLOP/s  of peak")
      var results: [KernelBenchResult] = []
      for c in KernelBench.caloVQConvs where filter.map({ c.name.contains($0) }) ?? true {
        results += KernelBench.conv(c, batch: batch, reps: reps)
        for r in results.suffix(2) { printRow(r, peak) }
      }
      let attn: [(String, Int, Int, Int, Int)] = [
        ("gpt ds2 attention B64 T69 C64 h2", 64, 69, 64, 2),
        ("gpt ds3-norm attention B8 T716 C128 h1", 8, 716, 128, 1),
      ]
      for (n, B, T, C, H) in attn where filter.map({ n.contains($0) }) ?? true {
        for r in KernelBench.attention(name: n, B: B, T: T, C: C, heads: H, reps: reps) { printRow(r, peak) }
      }
      let lin = "gpt ds2 mlp linear 64→256 rows 64·69"
      if filter.map({ lin.contains($0) }) ?? true {
        for r in KernelBench.linear(name: lin, rows: 64 * 69, inF: 64, outF: 256, reps: reps) { printRow(r, peak) }
      }
    }
  }

  private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

  private func printRow(_ r: KernelBenchResult, _ peak: Double) {
    print(pad(r.name, 44) + " " + pad(r.pass, 4) + String(format: " %9.3f %9.1f %7.0f%%", r.seconds * 1e3, r.gflops, 100 * r.gflops / peak))
  }
}
