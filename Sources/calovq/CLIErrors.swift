import ArgumentParser
import CaloGeometry
import Foundation

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

/// Parses a dataset name or fails with the list of valid names.
func parseDataset(_ name: String) throws -> DatasetKind {
  guard let k = DatasetKind(name: name) else {
    throw ValidationError(
      "unknown dataset '\(name)'; use one of \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
  }
  return k
}
