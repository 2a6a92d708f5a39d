// Shared CLI plumbing: one `error: ...` line and exit 1 for every failure, dataset-name parsing, and an
// atomic text-file writer. Nothing here knows about a particular subcommand.
import ArgumentParser
import CaloGeometry
import Foundation

/// A bad command-line value, reported as one `error:` line (no usage dump) by `reportingErrors`.
enum CLIError: Error, CustomStringConvertible {
  case badArgument(String)
  case writeFailed(path: String, reason: String)

  var description: String {
    switch self {
    case let .badArgument(m): return m
    case let .writeFailed(path, reason):
      return "cannot write '\(path)': \(reason). Check that the folder exists and is writable."
    }
  }
}

/// Runs a command body and turns any thrown error into one clear `error: ...` line on stderr and
/// exit code 1 (argument-parser's own errors keep their usage output). Every subcommand uses this so
/// that bad input never ends in a Swift trap or a stack dump.
func reportingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let e as ExitCode {
    throw e
  } catch let e as ValidationError {
    throw e
  } catch let e as CleanExit {
    throw e
  } catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    throw ExitCode(1)
  }
}

/// Parses a dataset name or fails with the list of valid names. Inside `reportingErrors` this is one
/// `error:` line; outside it, argument-parser prints `Error: ...` and exits 1.
func parseDataset(_ name: String) throws -> DatasetKind {
  guard let k = DatasetKind(name: name) else {
    throw CLIError.badArgument(
      "unknown dataset '\(name)'; use one of \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
  }
  return k
}

/// Writes `text` to a temporary file next to `path` and renames it into place, so a failed write
/// never leaves a half-written file.
func writeText(_ text: String, to path: String) throws {
  let dir = (path as NSString).deletingLastPathComponent
  var isDir: ObjCBool = false
  if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
    throw CLIError.writeFailed(path: path, reason: "folder '\(dir)' does not exist")
  }
  let tmp = path + ".partial-\(getpid())"
  guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else {
    throw CLIError.writeFailed(path: path, reason: "cannot create '\(tmp)'")
  }
  guard rename(tmp, path) == 0 else {
    try? FileManager.default.removeItem(atPath: tmp)
    throw CLIError.writeFailed(path: path, reason: String(cString: strerror(errno)))
  }
}
