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
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // libbpf glue: the only code that touches raw pointers from the kernel.
        .target(
            name: "CBPF",
            linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")]
        ),
        // Compiles bpf/witness.bpf.c with clang -target bpf and embeds the object.
        .plugin(name: "BPFObjectPlugin", capability: .buildTool()),
        // The one Swift wrapper around CBPF: object, maps, ring buffer, event loop.
        .target(
            name: "WitnessKernel",
            dependencies: ["CBPF"],
            swiftSettings: swiftSettings,
            plugins: ["BPFObjectPlugin"]
        ),
        // Pure Swift: decoding, process table, JSON, subjects, output.
        .target(
            name: "WitnessCore",
            dependencies: ["CBPF"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "WitnessAgent",
            dependencies: [
                "WitnessKernel", "WitnessCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessCoreTests",
            dependencies: ["WitnessCore", "CBPF"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessKernelTests",
            dependencies: ["WitnessKernel", "WitnessCore", "CBPF"],
            swiftSettings: swiftSettings
        ),
    ]
)
