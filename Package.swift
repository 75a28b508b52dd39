// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Code generation for the build machine's CPU. On x86-64 with AVX2 + FMA (/proc/cpuinfo) the
/// numeric targets compile with `-target-cpu haswell`: SIMD8<Float> then maps to one AVX
/// register instead of two SSE ones, which makes the oscillator kernels ~1.5-1.8x faster
/// (`bench dataset`: 1.8x). `SYNTHMATCH_TARGET_CPU=NAME` picks another CPU (`native`, ...),
/// `SYNTHMATCH_TARGET_CPU=portable` turns it off: do that to build a binary for other machines,
/// or when this package is a versioned dependency (SwiftPM refuses unsafe flags there).
/// Correctness never depends on it: Swift does not contract a * b + c into FMA, so results
/// are bit-identical with and without the flag (the test suite runs either way).
let targetCPU: String? = {
    if let chosen = ProcessInfo.processInfo.environment["SYNTHMATCH_TARGET_CPU"] { return chosen == "portable" ? nil : chosen }
    #if arch(x86_64) && os(Linux)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let features = Set(flags.split(separator: " ").map(String.init))
    return features.isSuperset(of: ["avx2", "fma", "bmi2"]) ? "haswell" : nil
    #else
    return nil
    #endif
}()
/// With it, `-fno-math-errno` for the C shims Swift's standard library inlines: on Linux
/// `squareRoot()` in generic code reaches libm's `sqrtf`, a call that may set errno, so loops
/// around it never vectorise; without errno it is one `vsqrtps` for eight lanes (the spectral
/// loss's magnitudes). sqrt is correctly rounded either way: results are unchanged.
let cpuSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0, "-Xcc", "-fno-math-errno"])] } ?? []

/// Data-parallel training over MPI (issue 18) is optional at build time, so the default build
/// needs no MPI: `SYNTHMATCH_MPI=1 swift build -c release --scratch-path .build-mpi` adds Open
/// MPI (Debian's libopenmpi-dev, pkg-config `ompi-c`) and `mpirun -np N synthmatch train ...`.
let mpi = ProcessInfo.processInfo.environment["SYNTHMATCH_MPI"] == "1"

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
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    ] + (mpi ? [Target.systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])])] : []) + [

        // Core: buffers, parameter specs, the gradient protocol, FFT/STFT, mel, gradient checking.
        .target(name: "DSP", dependencies: ["CFFTW", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),
        .target(name: "Synths", dependencies: ["DSP", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),
        .target(name: "Datasets", dependencies: ["DSP", "Synths", "CSndfile", "CSampleRate", "CHDF5"]),
        .target(name: "Matching", dependencies: ["DSP", "Synths", "Datasets", "COpenBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: cpuSettings),

        // Swift's compiler autodiff (`_Differentiation`) on a scalar-loop synth: a benchmark
        // contender, in its own module because the import slows type checking of others.
        .target(name: "AutodiffReference", dependencies: ["DSP", "Synths"]),

        .executableTarget(name: "synthmatch", dependencies: [
            "DSP", "Synths", "Matching", "Datasets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ] + (mpi ? ["CMPI"] : []), swiftSettings: mpi ? [.define("SYNTHMATCH_MPI")] : []),
        .executableTarget(name: "bench", dependencies: [
            "DSP", "Synths", "Matching", "Datasets", "AutodiffReference",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: cpuSettings),

        .testTarget(name: "DSPTests", dependencies: ["DSP"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynthsTests", dependencies: ["DSP", "Synths", "AutodiffReference"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MatchingTests", dependencies: ["DSP", "Synths", "Matching", "Datasets"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["DSP", "Synths", "Datasets", "CHDF5"]),
    ],
    swiftLanguageModes: [.v6]
)
