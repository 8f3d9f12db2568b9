// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that timing code and its compiler flags never reach the product,
// and so that `swift test` never runs them. Run: `swift run -c release --package-path Benchmarks LocalizerBenchmark`.
let package = Package(
    name: "SpinePlanBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "SpinePlan", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The FMA peak kernel needs AVX-512 code generation whatever the toolchain's default target is.
        .target(name: "CFMAPeak", cSettings: [.unsafeFlags(["-O3"])]),
        .executableTarget(
            name: "LocalizerBenchmark",
            dependencies: [
                "CFMAPeak",
                .product(name: "SpinePlanModel", package: "SpinePlan"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
