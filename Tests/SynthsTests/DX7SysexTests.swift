import Foundation
@testable import Synths
import XCTest

/// DX7 sysex against files Dexed's own code wrote (`Experiments/reference/dx7_sysex_fixtures.py`):
/// the same voices read, byte-exact round trips, and a clear error for every kind of damage.
final class DX7SysexTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dx7")

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent(name))) }
    func json(_ name: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent(name))) }

    func testABankDexedWroteReadsAsDexedReadsItAndRoundTripsByteExact() throws {
        let file = try bytes("random-bank.syx")
        let voices = try DX7Sysex.decode(file, context: "random-bank.syx")
        let expected = try json("random-bank.json") as! [[Int]]
        XCTAssertEqual(voices.count, 32)
        for (v, e) in zip(voices, expected) { XCTAssertEqual(v.bytes.map(Int.init), e, v.name) }
        XCTAssertEqual(DX7Sysex.encodeBank(voices), file)
        // Packed <-> unpacked is a bijection on valid voices.
        for v in voices { XCTAssertEqual(try DX7Patch(packed: v.packed), v) }
    }

    func testASingleVoiceDumpReadsAndRoundTrips() throws {
        let file = try bytes("voice.syx")
        let voices = try DX7Sysex.decode(file, context: "voice.syx")
        XCTAssertEqual(voices.count, 1)
        XCTAssertEqual(voices[0].bytes.map(Int.init), try json("voice.json") as! [Int])
        XCTAssertEqual(DX7Sysex.encodeVoice(voices[0]), file)
        XCTAssertEqual(DX7Sysex.encodeVoice(voices[0]).count, 163)
    }

    func testNamedFieldsReadTheDocumentedBytes() throws {
        var p = DX7Patch(name: "BRASS 1")
        XCTAssertEqual(p.name, "BRASS 1   ")
        try p.set("algorithm", to: 21)
        try p.set("coarse", operator: 6, to: 3)
        try p.set("detune", operator: 1, to: 14)
        XCTAssertEqual(p.algorithm, 22)
        XCTAssertEqual(p.bytes[134], 21)
        XCTAssertEqual(p.bytes[18], 3)                       // operator 6 is stored first
        XCTAssertEqual(p.bytes[5 * 21 + 20], 14)             // operator 1 last
        XCTAssertEqual(p.value("coarse", operator: 6), 3)
        XCTAssertThrowsError(try p.set("feedback", to: 8)) { XCTAssertTrue("\($0)".contains("feedback is 8, outside the DX7's range 0...7")) }
        XCTAssertThrowsError(try p.set("fine", operator: 2, to: -1))
    }

    func testDamageGivesClearErrors() throws {
        let bank = try bytes("random-bank.syx")
        func error(_ data: [UInt8]) -> String {
            do { _ = try DX7Sysex.decode(data, context: "x.syx"); return "no error" } catch { return "\(error)" }
        }
        var badSum = bank; badSum[4102] ^= 1
        XCTAssertTrue(error(badSum).contains("checksum mismatch"), error(badSum))
        XCTAssertTrue(error(Array(bank.prefix(4000))).contains("4000 bytes where a DX7 dump has 4104"), error(Array(bank.prefix(4000))))
        XCTAssertTrue(error([]).contains("too short"))
        XCTAssertTrue(error(Array("RIFF....WAVEfmt ".utf8)).contains("does not start with a sysex byte"))
        var roland = bank; roland[1] = 0x41
        XCTAssertTrue(error(roland).contains("not Yamaha's 0x43"))
        var otherFormat = bank; otherFormat[3] = 0x05
        XCTAssertTrue(error(otherFormat).contains("neither a single voice"))
        var noEnd = bank; noEnd[4103] = 0x00
        XCTAssertTrue(error(noEnd).contains("does not end with F7"))
        // A value out of range, with a correct checksum: named, with the voice.
        var voice = try bytes("voice.syx")
        voice[6 + 134] = 40                                  // algorithm 41
        voice[161] = UInt8(DX7Sysex.checksum(Array(voice[6..<161])))
        XCTAssertTrue(error(voice).contains("algorithm is 40, outside the DX7's range 0...31"), error(voice))
        // Unused bits in a packed slot: named; `repair` reads it as Dexed does and says so.
        var junk = bank; junk[6 + 128 * 2 + 11] |= 0x40
        junk[4102] = UInt8(DX7Sysex.checksum(Array(junk[6..<4102])))
        XCTAssertTrue(error(junk).contains("voice 3 of x.syx"), error(junk))
        var notes: [String] = []
        let repaired = try DX7Sysex.decode(junk, context: "x.syx") { notes.append($0) }
        XCTAssertEqual(repaired, try DX7Sysex.decode(bank, context: "x.syx"))
        XCTAssertEqual(notes.count, 1)
        let clamped = try DX7Sysex.decode(voice, context: "v.syx") { notes.append($0) }
        XCTAssertEqual(clamped[0].algorithm, 40 * 31 / 255 + 1)
    }

    func testEveryOneByteCorruptionOfABankIsAClearErrorOrAValidRead() throws {
        // Flipping any byte changes the checksum or the framing: never a crash, never silent.
        let bank = try bytes("random-bank.syx")
        for i in stride(from: 0, to: bank.count, by: 7) {
            var d = bank; d[i] ^= 0x55
            XCTAssertThrowsError(try DX7Sysex.decode(d, context: "x.syx"), "byte \(i)")
        }
    }
}
