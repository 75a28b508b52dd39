// swift-tools-version:6.0
import Foundation
import PackageDescription

/// `SYNTHMATCH_TARGET_CPU=haswell swift build -c release` compiles for that CPU (AVX2 + FMA:
/// about 1.5x on the oscillator kernels). Off by default: the flag is an unsafe flag, which
/// would stop other packages from depending on this one, and the binary would not run on
/// older CPUs. Correctness never depends on it.
let targetCPU = ProcessInfo.processInfo.environment["SYNTHMATCH_TARGET_CPU"]
let cpuSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []

let package = Package(
    name: "SynthMatch",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SynthMatch", targets: ["DSP", "Synths", "Matching", "Datasets"]),
        .executable(name: "synthmatch", targets: ["synthmatch"]),
        .executable(name: "bench", targets: ["bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // C libraries, one system-library target each (pkg-config names are Debian's).
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSndfile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", pkgConfig: "samplerate", providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),

        // Core: buffers, parameter specs, the gradient protocol, FFT/STFT, mel, gradient checking.
        .target(name: "DSP", dependencies: ["CFFTW", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),
        .target(name: "Synths", dependencies: ["DSP", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),
        .target(name: "Datasets", dependencies: ["DSP", "Synths", "CSndfile", "CSampleRate", "CHDF5"]),
        .target(name: "Matching", dependencies: ["DSP", "Synths", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),

        .executableTarget(name: "synthmatch", dependencies: [
            "DSP", "Synths", "Matching", "Datasets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bench", dependencies: [
            "DSP", "Synths", "Matching", "Datasets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "DSPTests", dependencies: ["DSP"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynthsTests", dependencies: ["DSP", "Synths"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MatchingTests", dependencies: ["DSP", "Synths", "Matching"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["DSP", "Synths", "Datasets"]),
    ],
    swiftLanguageModes: [.v6]
)
