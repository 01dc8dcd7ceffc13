// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // The consumer's state lives in classes on one thread; checking exclusive access
    // to it at run time cost a sixth of the rules' time. Debug builds (the tests)
    // keep the checks, so a violation still fails there.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Witness",
    products: [
        .executable(name: "witness-agent", targets: ["WitnessAgent"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // Node mode: the controller's API, HTTP outputs, metrics, graceful shutdown.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // Signed testimonies: Ed25519 and SHA-256 (BoringSSL), Ed25519 PEM keys.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
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
        // The syscall numbers of each table, from the UAPI headers.
        .plugin(name: "SyscallNumbersPlugin", capability: .buildTool()),
        // The one Swift wrapper around CBPF: object, maps, ring buffer, event loop.
        .target(
            name: "WitnessKernel",
            dependencies: ["CBPF", "WitnessCore"],
            swiftSettings: swiftSettings,
            plugins: ["BPFObjectPlugin"]
        ),
        // The user-space event path: records decoded (reading the C layout of CBPF),
        // process state, Falco fields, the pipeline, output, windows, profiles,
        // testimony and recordings. Loads no BPF: WitnessKernel does.
        .target(
            name: "WitnessCore",
            dependencies: ["CBPF", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings,
            plugins: ["SyscallNumbersPlugin"]
        ),
        // Falco-format rules: loading, conditions compiled to a flat program, outputs,
        // classification (the fields they read are WitnessCore's).
        .target(
            name: "WitnessRules",
            dependencies: ["WitnessCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings,
            plugins: ["DefaultRulesPlugin"]
        ),
        // Signed testimonies: the testimony as an in-toto runtime-trace statement in a
        // DSSE envelope (Ed25519), the node's signing keys, and the envelope's check.
        .target(
            name: "WitnessAttestation",
            dependencies: [
                "WitnessCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Node mode (`run`): witness windows, the HTTP API, outputs with a spool, metrics.
        .target(
            name: "WitnessNode",
            dependencies: [
                "WitnessKernel", "WitnessCore", "WitnessRules", "WitnessAttestation",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "WitnessAgent",
            dependencies: [
                "WitnessKernel", "WitnessCore", "WitnessRules", "WitnessNode", "WitnessAttestation",
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
            name: "WitnessNodeTests",
            dependencies: [
                "WitnessNode", "WitnessCore", "WitnessKernel", "WitnessAttestation",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessAttestationTests",
            dependencies: ["WitnessAttestation", "WitnessCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessRulesTests",
            dependencies: ["WitnessRules", "WitnessCore", "CBPF", "WitnessTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WitnessKernelTests",
            dependencies: [
                "WitnessKernel", "WitnessCore", "CBPF", "WitnessTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
