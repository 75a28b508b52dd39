import DSP
import XCTest

final class ProcessMemoryTests: XCTestCase {
    /// glibc must accept both settings (the symbol is looked up by name: a failed lookup or a
    /// rejected value would silently bring back the page faults `bench peers` measured).
    func testGlibcAcceptsTheSettings() {
        #if canImport(Glibc)
        XCTAssertTrue(ProcessMemory.keepFreedBuffers())
        // Allocation still works afterwards, including blocks past the old mmap threshold.
        let big = [Float](repeating: 1, count: 4 << 20)
        XCTAssertEqual(big.reduce(0, +), Float(4 << 20))
        #endif
    }
}
