// A test case base class with a fresh temporary folder per test.
import XCTest

/// Gives each test its own `dir`, created in setUp and removed in tearDown. Why not a `let dir =
/// TempDir()` property: XCTest keeps every test case object until the process ends, so such a folder
/// is never deinitialised and stays in /tmp after the run.
open class TempDirTestCase: XCTestCase {
  /// This test's folder (nil outside a test).
  public private(set) var dir: TempDir!

  override open func setUp() {
    super.setUp()
    dir = TempDir()
  }

  override open func tearDown() {
    dir = nil
    super.tearDown()
  }
}
