// swift-tools-version: 6.2
// The fuzz targets live in their own package: they link libFuzzer, which only exists when building
// with `-sanitize=fuzzer`, so the main package's `swift build` and `swift test` never see them.
// Build and run them with `scripts/fuzz` from the project's root.
import PackageDescription

let package = Package(
    name: "NetsiftFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Netsift", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "NetsiftFuzz",
            dependencies: [
                .product(name: "Netsift", package: "Netsift"),
            ],
            swiftSettings: [
                .enableExperimentalFeature("Lifetimes"),
                // `@_extern(c)` declares libFuzzer's driver without a C target.
                .enableExperimentalFeature("Extern"),
            ]
        ),
    ]
)
