// swift-tools-version: 6.1
import PackageDescription

/// DCMTK 3.6.7 on Debian 12: `pkg-config dcmtk` is broken (it wants sndfile), so the libraries are named one by one.
let dcmtkLibraries: [LinkerSetting] = ["dcmtls", "dcmsr", "dcmnet", "dcmdata", "oflog", "ofstd", "ssl", "crypto"].map { .linkedLibrary($0) }

/// The product and scanner modules are optimized in debug builds too: `swift test` builds debug, and unoptimized Swift made the
/// virtual scanner 20× slower (22 s against 1.1 s a session), which alone kept CI near its 20-minute budget.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "SpinePlan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spineplan", targets: ["spineplan"]),
        // For the nested benchmark package (Benchmarks/), which depends on this one by path.
        .library(name: "SpinePlanModel", targets: ["SpinePlanModel"]),
        // For the nested fuzz package (Fuzz/SliceToSession): the slice-to-session path, built with sanitizers.
        .library(name: "SpinePlanService", targets: ["SpinePlanService"]),
        .library(name: "SpinePlanDICOM", targets: ["SpinePlanDICOM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The metrics endpoint: swift-metrics' API, swift-prometheus' text format, and FlyingFox as a small HTTP
        // server with no dependencies of its own (Hummingbird would bring SwiftNIO and minutes of CI build time).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // SHA-256 of recorded files (QA); BoringSSL's, not one of our own.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "CDCMTK",
            cxxSettings: [.unsafeFlags(["-Wno-deprecated-declarations"])],
            linkerSettings: dcmtkLibraries
        ),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(name: "SpinePlanGeometry", swiftSettings: optimizedInDebug),
        .target(
            name: "SpinePlanDICOM",
            dependencies: ["CDCMTK", "CZlib", "SpinePlanGeometry", .product(name: "Logging", package: "swift-log")],
            swiftSettings: optimizedInDebug
        ),
        // Tools: the virtual scanner (synthetic sessions and their DICOM files) and QA (recording, replay,
        // de-identified export). No product module depends on them; `scripts/module-graph.py --check` enforces it.
        .target(
            name: "SpinePlanScanner",
            dependencies: ["SpinePlanGeometry", "SpinePlanDICOM", "CZlib"],
            swiftSettings: optimizedInDebug
        ),
        .target(
            name: "SpinePlanQA",
            dependencies: [
                "SpinePlanService", "SpinePlanDICOM", "SpinePlanGeometry", "SpinePlanPlanner",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SpinePlanModel",
            dependencies: ["CDNNL", "SpinePlanGeometry", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Weights")],
            swiftSettings: optimizedInDebug
        ),
        .target(name: "SpinePlanPlanner", dependencies: ["SpinePlanGeometry"], swiftSettings: optimizedInDebug),
        .target(
            name: "SpinePlanService",
            dependencies: [
                "SpinePlanDICOM", "SpinePlanGeometry", "SpinePlanModel", "SpinePlanPlanner", "CSystemd", "CMalloc",
                .product(name: "Yams", package: "Yams"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
            swiftSettings: optimizedInDebug
        ),
        .executableTarget(
            name: "spineplan",
            dependencies: [
                "SpinePlanService", "SpinePlanQA", "SpinePlanDICOM", "SpinePlanScanner", "SpinePlanPlanner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SpinePlanTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "SpinePlanGeometryTests", dependencies: ["SpinePlanGeometry"]),
        .testTarget(
            name: "SpinePlanModelTests",
            dependencies: ["SpinePlanModel", "SpinePlanGeometry", "SpinePlanDICOM", "SpinePlanScanner", "SpinePlanTestSupport"]
        ),
        .testTarget(
            name: "SpinePlanPlannerTests",
            dependencies: ["SpinePlanPlanner", "SpinePlanGeometry", "SpinePlanDICOM", "SpinePlanScanner"]
        ),
        .testTarget(
            name: "SpinePlanServiceTests",
            dependencies: ["SpinePlanService", "SpinePlanDICOM", "SpinePlanScanner", "SpinePlanTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SpinePlanQATests",
            dependencies: ["SpinePlanQA", "SpinePlanService", "SpinePlanDICOM", "SpinePlanScanner", "SpinePlanTestSupport",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SpinePlanDICOMTests",
            dependencies: ["SpinePlanDICOM", "SpinePlanScanner", "SpinePlanTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SpinePlanCLITests",
            dependencies: ["SpinePlanTestSupport", "spineplan"]
        ),
        .testTarget(
            name: "SpinePlanScannerTests",
            dependencies: ["SpinePlanScanner", "SpinePlanDICOM"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
