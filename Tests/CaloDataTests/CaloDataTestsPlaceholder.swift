import XCTest

// Placeholder until the module's real tests land.
final class CaloDataTestsPlaceholder: XCTestCase {}
