// swift-tools-version:6.1
// CaloVQ: the Calo-VQ fast calorimeter simulation (VQ-VAE + conditional GPT) in Swift on OpenBLAS,
// with CaloChallenge HDF5 I/O, the CaloChallenge evaluation, a parameterised shower simulator and an
// ncurses explorer. Module graph (A -> B: A imports B), no cycles:
//
//   CaloGeometry -> (none)            CaloData -> CHDF5, CDeflate, CaloGeometry
//   CaloMetrics -> CaloGeometry, COpenBLAS (LAPACK for the FPD matrix square root)
//   CaloSim -> CaloGeometry, CaloData CaloTensor -> COpenBLAS      CaloNN -> CaloTensor
//   CaloModel -> CaloNN, CaloGeometry
//   CaloPipeline -> CaloModel, CaloData, CaloMetrics, CaloSim
//   CaloTUI -> CNcurses, CaloPipeline calovq -> CaloPipeline, CaloTUI, ArgumentParser
import PackageDescription

// Numerical code is always compiled optimised: a debug build of an autodiff engine is 30-100x slower,
// which would make gradient checks and toy trainings in the tests crawl. `-enable-testing` keeps
// `@testable import` working in release test builds.
let fast: [SwiftSetting] = [
  .unsafeFlags(["-Ounchecked"]),
  .unsafeFlags(["-enable-testing"], .when(configuration: .release)),
]
let plain: [SwiftSetting] = [
  .unsafeFlags(["-enable-testing"], .when(configuration: .release)),
]

let package = Package(
  name: "CaloVQ",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "calovq", targets: ["calovq"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    // MARK: - C shims (Debian -dev packages; static inline wrappers only, no API of their own)
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
    // No pkgConfig: SwiftPM drops ncursesw's -D flags; the shim defines NCURSES_WIDECHAR itself.
    .systemLibrary(name: "CNcurses", providers: [.apt(["libncursesw5-dev"])]),

    // MARK: - Core libraries
    .target(name: "CaloGeometry", exclude: ["README.md"], swiftSettings: plain),
    .target(name: "CaloData", dependencies: ["CHDF5", "CDeflate", "CaloGeometry"], exclude: ["README.md"], swiftSettings: plain),
    .target(name: "CaloMetrics", dependencies: ["CaloGeometry", "COpenBLAS"], exclude: ["README.md"], swiftSettings: fast),
    .target(name: "CaloSim", dependencies: ["CaloGeometry", "CaloData"], exclude: ["README.md"], swiftSettings: fast),
    .target(name: "CaloTensor", dependencies: ["COpenBLAS"], exclude: ["README.md"], swiftSettings: fast),
    .target(name: "CaloNN", dependencies: ["CaloTensor"], exclude: ["README.md"], swiftSettings: fast),
    .target(name: "CaloModel", dependencies: ["CaloNN", "CaloTensor", "CaloGeometry"], exclude: ["GPT/README.md", "README.md"], swiftSettings: fast),
    .target(
      name: "CaloPipeline",
      dependencies: ["CaloModel", "CaloData", "CaloMetrics", "CaloSim", "CaloGeometry"],
      exclude: ["README.md"], swiftSettings: fast),

    // MARK: - Application
    .target(
      name: "CaloTUI", dependencies: ["CNcurses", "CaloPipeline"], exclude: ["README.md"], swiftSettings: plain),
    .executableTarget(
      name: "calovq",
      dependencies: [
        "CaloPipeline", "CaloTUI",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: plain),

    // MARK: - Tests (one target per module; CaloTestSupport is shared helpers only)
    .target(name: "CaloTestSupport", dependencies: ["CaloGeometry", "CaloData", "CHDF5"], path: "Tests/CaloTestSupport",
            swiftSettings: plain),
    .testTarget(name: "CaloGeometryTests", dependencies: ["CaloGeometry", "CaloTestSupport"]),
    .testTarget(name: "CaloDataTests", dependencies: ["CaloData", "CaloTestSupport"]),
    .testTarget(name: "CaloMetricsTests", dependencies: ["CaloMetrics", "CaloData", "CaloTestSupport"]),
    .testTarget(name: "CaloSimTests", dependencies: ["CaloSim", "CaloMetrics", "CaloTestSupport"]),
    .testTarget(name: "CaloTensorTests", dependencies: ["CaloTensor", "CaloTestSupport"], swiftSettings: fast),
    .testTarget(name: "CaloNNTests", dependencies: ["CaloNN", "CaloTestSupport"], swiftSettings: fast),
    .testTarget(name: "CaloModelTests", dependencies: ["CaloModel", "CaloTestSupport"], swiftSettings: fast),
    .testTarget(name: "CaloPipelineTests", dependencies: ["CaloPipeline", "CaloTestSupport"]),
    .testTarget(name: "CaloTUITests", dependencies: ["CaloTUI", "CaloTestSupport"]),
    .testTarget(name: "CLITests", dependencies: ["CaloTestSupport"]),
  ]
)
