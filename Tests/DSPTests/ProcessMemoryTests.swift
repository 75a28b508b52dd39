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

    /// The peak resident memory grows by what a touched allocation adds.
    func testPeakResidentMemoryCountsTouchedPages() throws {
        #if os(Linux)
        let before = try XCTUnwrap(ProcessMemory.peakResidentBytes)
        let size = 96 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
        let after = try XCTUnwrap(ProcessMemory.peakResidentBytes)
        XCTAssertGreaterThanOrEqual(after, before)
        XCTAssertGreaterThanOrEqual(after, size)
        XCTAssertNotNil(ProcessMemory.peakResidentSummary?.range(of: "MB"))
        #endif
    }
}
