// swift-tools-version: 6.1
import PackageDescription

// A libFuzzer target over the slice-to-session path (issue 16 point 6), in its own package so that its sanitizer
// flags and its entry point (libFuzzer's main) never reach the product. Built and run by scripts/fuzz.sh.
let package = Package(
    name: "SliceToSessionFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "SpinePlan", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "SliceToSessionFuzz",
            dependencies: [
                .product(name: "SpinePlanService", package: "SpinePlan"),
                .product(name: "SpinePlanDICOM", package: "SpinePlan"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
