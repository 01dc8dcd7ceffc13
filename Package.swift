// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Witness",
    products: [
        .executable(name: "witness-agent", targets: ["WitnessAgent"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // libbpf glue: the only code that touches raw pointers from the kernel.
        .target(
            name: "CBPF",
            linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")]
        ),
        // Compiles bpf/witness.bpf.c with clang -target bpf and embeds the object.
        .plugin(name: "BPFObjectPlugin", capability: .buildTool()),
        // Embeds rules/*.yaml, the default rules, into the agent.
        .plugin(name: "DefaultRulesPlugin", capability: .buildTool()),
        // The one Swift wrapper around CBPF: object, maps, ring buffer, event loop.
        .target(
            name: "WitnessKernel",
            dependencies: ["CBPF", "WitnessCore"],
            swiftSettings: swiftSettings,
            plugins: ["BPFObjectPlugin"]
        ),
        // Pure Swift: decoding, process table, JSON, subjects, output.
        .target(
            name: "WitnessCore",
            dependencies: ["CBPF"],
            swiftSettings: swiftSettings
        ),
        // Falco-format rules: loading, conditions, fields, outputs, classification.
        .target(
            name: "WitnessRules",
            dependencies: ["WitnessCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings,
            plugins: ["DefaultRulesPlugin"]
        ),
        .executableTarget(
            name: "WitnessAgent",
            dependencies: [
                "WitnessKernel", "WitnessCore", "WitnessRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Record fixtures built from the C layout, shared by the test targets.
        .target(
            name: "WitnessTestSupport",
            dependencies: ["WitnessCore", "CBPF"],
            path: "Tests/WitnessTestSupport",
            swiftSettings: swiftSettings
        ),
        // The user-space hot path alone, on synthetic records (bench/run reports it).
        .executableTarget(
            name: "WitnessBench",
            dependencies: ["WitnessCore", "WitnessRules", "WitnessTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessCoreTests",
            dependencies: ["WitnessCore", "CBPF", "WitnessTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessRulesTests",
            dependencies: ["WitnessRules", "WitnessCore", "CBPF", "WitnessTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessKernelTests",
            dependencies: ["WitnessKernel", "WitnessCore", "CBPF"],
            swiftSettings: swiftSettings
        ),
    ]
)
