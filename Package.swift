// swift-tools-version: 6.2
import PackageDescription

// `Lifetimes` lets our views hold a `RawSpan` (a struct storing a span needs it in Swift 6.3).
let swiftSettings: [SwiftSetting] = [.enableExperimentalFeature("Lifetimes")]

let package = Package(
    name: "Netsift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "netsift", targets: ["NetsiftCLI"]),
        // The engine as a library: open a capture, run the pipeline, read the findings.
        .library(name: "Netsift", targets: ["Netsift"]),
        .library(name: "NetsiftCapture", targets: ["NetsiftCapture"]),
        .library(name: "NetsiftDissect", targets: ["NetsiftDissect"]),
        .library(name: "NetsiftFlows", targets: ["NetsiftFlows"]),
        .library(name: "NetsiftReport", targets: ["NetsiftReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // MD5 and SHA-256 for the JA3 / JA4 TLS fingerprints.
        .package(url: "https://github.com/apple/swift-crypto", "4.0.0"..<"5.0.0"),   // 4.x imports FoundationEssentials, not Foundation
        // HPACK, to decode HTTP/2 header blocks (never hand-written).
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        // NIOCore's ByteBuffer, which NIOHPACK's decoder reads (already resolved through swift-nio-http2).
        .package(url: "https://github.com/apple/swift-nio", from: "2.82.0"),
        // X.509 certificates in TLS Certificate messages (never hand-written DER).
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // `swift package generate-documentation`: the library's DocC documentation.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // HTML for `--html` reports, built as typed nodes that escape their text (never concatenated).
        .package(url: "https://github.com/JohnSundell/Plot", exact: "0.14.0"),
        // Prometheus text exposition for `live --metrics`.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .target(name: "NetsiftCapture", dependencies: ["CPcap"], swiftSettings: swiftSettings),
        .target(
            name: "NetsiftDissect",
            dependencies: [
                "NetsiftCapture",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "NetsiftFlows",
            dependencies: [
                "NetsiftDissect",
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Findings: the detectors that turn flows and messages into what is wrong, and why.
        .target(name: "NetsiftReport", dependencies: ["NetsiftFlows"], swiftSettings: swiftSettings),
        // The pipeline, its options and results: what the command line, the benchmarks and the fuzz
        // targets call.
        .target(name: "Netsift", dependencies: ["NetsiftCapture", "NetsiftDissect", "NetsiftFlows", "NetsiftReport"], swiftSettings: swiftSettings),
        // Charts as inline SVG (scales, ticks, downsampling, time-sequence graphs) for the HTML report.
        .target(
            name: "NetsiftCharts",
            dependencies: ["NetsiftDissect", .product(name: "Plot", package: "Plot")],
            swiftSettings: swiftSettings
        ),
        // The command line: arguments, then renderings of the library's values.
        .executableTarget(
            name: "NetsiftCLI",
            dependencies: [
                "Netsift",
                "NetsiftCharts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Plot", package: "Plot"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the test targets: where ../shared/captures is, and the tshark oracle's JSON.
        .target(name: "NetsiftTestSupport", dependencies: ["NetsiftDissect"], path: "Tests/Support",
                swiftSettings: swiftSettings),
        .testTarget(
            name: "NetsiftCaptureTests",
            dependencies: ["NetsiftCapture", "NetsiftTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftDissectTests",
            dependencies: ["NetsiftDissect", "NetsiftTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftFlowsTests",
            dependencies: ["NetsiftFlows", "NetsiftTestSupport"],
            exclude: ["rtt-oracle.tsv"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftReportTests",
            dependencies: ["NetsiftReport", "NetsiftTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftTests",
            dependencies: ["Netsift", "NetsiftTestSupport"],
            exclude: ["display-filter-oracle.tsv"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftChartsTests",
            dependencies: ["NetsiftCharts"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetsiftCLITests",
            dependencies: ["NetsiftTestSupport"],
            exclude: ["packets-oracle.tsv", "Scripts", "report-reference.png"],
            swiftSettings: swiftSettings
        ),
    ]
)
