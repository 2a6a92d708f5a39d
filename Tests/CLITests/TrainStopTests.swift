// Ctrl-C during training: the real binary is interrupted after its first progress line. A stopped run
// must exit with 130 (not 0), so scripts such as scripts/train-model.sh never take a partial model for
// a finished one, and `--resume` must then finish it with status 0.
import CaloTestSupport
import Foundation
import XCTest

final class TrainStopTests: TempDirTestCase {
  /// Starts calovq, sends SIGINT once stdout contains `marker`, waits; returns (status, stdout).
  private func interrupt(_ args: [String], after marker: String) throws -> (Int32, String) {
    let exe = try XCTUnwrap(CLIRunner.executablePath(), "calovq is not built")
    let out = dir.file("out-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(120)
    while p.isRunning && Date() < deadline {
      if let s = try? String(contentsOfFile: out, encoding: .utf8), s.contains(marker) { break }
      usleep(20_000)
    }
    p.interrupt()
    p.waitUntilExit()
    return (p.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
  }

  /// The integer that follows the last occurrence of `prefix` in `text`.
  private func number(after prefix: String, in text: String) -> Int? {
    guard let r = text.range(of: prefix, options: .backwards) else { return nil }
    return Int(text[r.upperBound...].prefix(while: \.isNumber))
  }

  func testStoppedStagesExit130AndResumeFinishes() throws {
    let data = dir.file("train.h5"), s1 = dir.file("s1"), s2 = dir.file("s2")
    XCTAssertEqual(try CLIRunner.run(["simulate", "--dataset", "ds1-photon", "--count", "64", "--seed", "7", "--out", data, "--quiet"]).status, 0)

    // Stage 1: a stopped run writes checkpoint and (partial) model but exits 130; --resume finishes with 0.
    let s1Args = ["train", "stage1", "--dataset", "ds1-photon", "--preset", "tiny", "--data", data, "--out", s1,
                  "--steps", "100000", "--log-every", "1", "--checkpoint-every", "1000"]
    let (st1, out1) = try interrupt(s1Args, after: "batch 2 ")
    XCTAssertEqual(st1, 130, out1)
    XCTAssertTrue(out1.contains("continue with the same command plus --resume"), out1)
    XCTAssertTrue(FileManager.default.fileExists(atPath: s1 + "/checkpoint.safetensors"))
    // The tiny model runs many batches between polls, so the resumed run aims a few batches past
    // wherever the stop landed (a fixed target can already be behind it).
    let stoppedAt1 = try XCTUnwrap(number(after: "stopped after batch ", in: out1), out1)
    let r1 = try CLIRunner.run(Array(s1Args.prefix(10)) + ["--steps", "\(stoppedAt1 + 4)", "--resume"])
    XCTAssertEqual(r1.status, 0, r1.stdout + r1.stderr)
    XCTAssertTrue(r1.stdout.contains("resuming at batch \(stoppedAt1)"), r1.stdout)
    XCTAssertTrue(r1.stdout.contains("done: \(stoppedAt1 + 4) batches"), r1.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: s1 + "/stage1.safetensors"))

    // Stage 2: a stopped run leaves a usable partial model but exits 130; --resume finishes with 0.
    let s2Args = ["train", "stage2", "--stage1", s1 + "/stage1.safetensors", "--data", data, "--out", s2,
                  "--preset", "sample", "--batch-size", "8", "--log-every", "1"]
    let (st2, out2) = try interrupt(s2Args + ["--steps", "100000"], after: "step 2 ")
    XCTAssertEqual(st2, 130, out2)
    XCTAssertTrue(out2.contains("stopped before the planned steps"), out2)
    XCTAssertTrue(FileManager.default.fileExists(atPath: s2 + "/stage2.safetensors"))
    let stoppedAt2 = try XCTUnwrap(number(after: "stage2.safetensors (", in: out2), out2)
    let target2 = stoppedAt2 + 4
    let r2 = try CLIRunner.run(s2Args + ["--steps", "\(target2)", "--resume"])
    XCTAssertEqual(r2.status, 0, r2.stdout + r2.stderr)
    XCTAssertTrue(r2.stdout.contains("resuming at step \(stoppedAt2)"), r2.stdout)
    XCTAssertTrue(r2.stdout.contains("(\(target2) steps"), r2.stdout)
    // Resuming a finished run trains nothing and says so (no "last loss nan").
    let r3 = try CLIRunner.run(s2Args + ["--steps", "\(target2)", "--resume"])
    XCTAssertEqual(r3.status, 0, r3.stdout + r3.stderr)
    XCTAssertTrue(r3.stdout.contains("already at the planned steps"), r3.stdout)
    XCTAssertFalse(r3.stdout.contains("nan"), r3.stdout)
  }

  /// `calovq bench train` times the step with the GAN (the preset's weight) or without it
  /// (`--disc-weight 0`, which skips both GAN passes), and refuses a negative weight.
  func testBenchTrainWithAndWithoutTheGAN() throws {
    let base = ["bench", "train", "--dataset", "ds1-photon", "--preset", "tiny", "--steps", "1"]
    let on = try CLIRunner.run(base)
    XCTAssertEqual(on.status, 0, on.stderr)
    XCTAssertTrue(on.stdout.contains("GAN on:") && on.stdout.contains("s/step"), on.stdout)
    let off = try CLIRunner.run(base + ["--disc-weight", "0"])
    XCTAssertEqual(off.status, 0, off.stderr)
    XCTAssertTrue(off.stdout.contains("no GAN:"), off.stdout)
    let bad = try CLIRunner.run(base + ["--disc-weight=-1"])
    XCTAssertEqual(bad.status, 1)
    XCTAssertTrue(bad.stderr.contains("--disc-weight must be ≥ 0"), bad.stderr)
  }

  func testLossWeightAndInitFlagsAreChecked() throws {
    let base = ["train", "stage1", "--dataset", "ds1-photon", "--data", dir.file("none.h5"), "--out", dir.file("o")]
    for (extra, phrase) in [(["--ec-weight=-1"], "--ec-weight must be a finite number"),
                            (["--width-weight", "nan"], "--width-weight must be a finite number"),
                            (["--resume", "--he-init"], "apply to a new run"),
                            (["--disc-weight=-0.5"], "--disc-weight must be a finite number"),
                            (["--layer-energy-weight", "inf"], "--layer-energy-weight must be a finite number"),
                            (["--resume", "--layer-energy-weight", "0.1"], "apply to a new run"),
                            (["--radial-energy-weight=-1"], "--radial-energy-weight must be a finite number"),
                            (["--resume", "--radial-energy-weight", "0.1"], "apply to a new run"),
                            (["--resume", "--decoder-only"], "apply to a new run"),
                            (["--lr", "0"], "--lr must be a finite number > 0"),
                            (["--decoder-only"], "give that model with --init-from"),
                            (["--resume", "--init-from", dir.file("m.safetensors")], "apply to a new run"),
                            (["--he-init", "--init-from", dir.file("m.safetensors")], "give one of the two")] {
      let r = try CLIRunner.run(base + extra)
      XCTAssertFalse(r.crashed)
      XCTAssertNotEqual(r.status, 0, "\(extra)")
      XCTAssertTrue(r.stderr.contains(phrase), "\(extra): \(r.stderr)")
    }
  }
}
