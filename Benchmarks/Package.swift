// swift-tools-version: 6.1
// Benchmarks live in their own package so the main one builds without package-benchmark.
// Run from this folder: `swift package benchmark` (captures come from scripts/make-*.sh).
import PackageDescription

let package = Package(
    name: "NetsiftBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Netsift", path: ".."),
        // The MallocInterposer trait gives the malloc counters and keeps resolution offline.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ReaderBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NetsiftCapture", package: "Netsift"),
            ],
            path: "Benchmarks/Reader",
            swiftSettings: [.enableExperimentalFeature("Lifetimes")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "DissectBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NetsiftCapture", package: "Netsift"),
                .product(name: "NetsiftDissect", package: "Netsift"),
            ],
            path: "Benchmarks/Dissect",
            swiftSettings: [.enableExperimentalFeature("Lifetimes")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FlowsBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NetsiftCapture", package: "Netsift"),
                .product(name: "NetsiftDissect", package: "Netsift"),
                .product(name: "NetsiftFlows", package: "Netsift"),
            ],
            path: "Benchmarks/Flows",
            swiftSettings: [.enableExperimentalFeature("Lifetimes")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PipelineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Netsift", package: "Netsift"),
            ],
            path: "Benchmarks/Pipeline",
            swiftSettings: [.enableExperimentalFeature("Lifetimes")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
