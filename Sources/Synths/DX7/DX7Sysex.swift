/// Yamaha DX7 system-exclusive dumps, the files every DX7 librarian and Dexed read and write:
/// - a single voice (VCED): `F0 43 0n 00 01 1B`, 155 unpacked bytes, checksum, `F7` (163 bytes);
/// - a 32-voice bank (VMEM): `F0 43 0n 09 20 00`, 32 x 128 packed bytes, checksum, `F7` (4104 bytes).
/// The checksum is the two's complement of the 7-bit sum of the data bytes; `n` is the MIDI
/// channel (0...15). Reading checks framing, length, checksum and every field's range, and
/// names what is wrong; `repair` reads what Dexed would read from a damaged dump instead.
public enum DX7Sysex {
    public static let voiceDumpLength = 163
    public static let bankDumpLength = 4104
    public static let bankSize = 32

    /// The voices of a single-voice dump (one) or a bank (32). `context` names the file in errors.
    public static func decode(_ data: [UInt8], context: String, repair: ((String) -> Void)? = nil) throws -> [DX7Patch] {
        guard data.count >= 6 else { throw DX7Error.notDX7(context, reason: "\(data.count) bytes, too short for a sysex header") }
        guard data[0] == 0xF0 else { throw DX7Error.notDX7(context, reason: "it does not start with a sysex byte (F0)") }
        guard data[1] == 0x43 else {
            throw DX7Error.notDX7(context, reason: "the manufacturer byte is 0x\(String(data[1], radix: 16)), not Yamaha's 0x43")
        }
        guard data[2] & 0xF0 == 0 else {
            throw DX7Error.notDX7(context, reason: "byte 2 is 0x\(String(data[2], radix: 16)), not a bulk dump (0x00-0x0F)")
        }
        let format = (data[3], data[4], data[5])
        switch format {
        case (0x00, 0x01, 0x1B):
            let payload = try framedPayload(data, length: voiceDumpLength, count: 155, context: context, repair: repair)
            return [try DX7Patch(unpacked: payload, context: context, repair: repair)]
        case (0x09, 0x20, 0x00):
            let payload = try framedPayload(data, length: bankDumpLength, count: 4096, context: context, repair: repair)
            return try (0..<bankSize).map { v in
                try DX7Patch(packed: Array(payload[(v * 128)..<((v + 1) * 128)]), context: "voice \(v + 1) of \(context)", repair: repair)
            }
        default:
            let bytes = [format.0, format.1, format.2].map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw DX7Error.notDX7(context, reason: "format bytes \(bytes) are neither a single voice (0 1 1B) nor a 32-voice bank (9 20 0)")
        }
    }

    /// The data bytes of a dump whose length, end byte and checksum are right.
    static func framedPayload(_ data: [UInt8], length: Int, count: Int, context: String, repair: ((String) -> Void)?) throws -> [UInt8] {
        guard data.count == length else {
            // Trailing bytes after F7 (another message) are not read; a short file is damaged.
            if data.count > length, data[length - 1] == 0xF7 {
                repair?("\(context): \(data.count - length) bytes after the dump's end were not read")
                if repair == nil { throw DX7Error.wrongLength(context, expected: length, got: data.count) }
            } else {
                throw DX7Error.wrongLength(context, expected: length, got: data.count)
            }
            return try framedPayload(Array(data.prefix(length)), length: length, count: count, context: context, repair: repair)
        }
        guard data[length - 1] == 0xF7 else { throw DX7Error.notDX7(context, reason: "it does not end with F7 where the dump ends") }
        let payload = Array(data[6..<(6 + count)])
        let stored = Int(data[6 + count]), computed = checksum(payload)
        if stored != computed {
            guard let repair else { throw DX7Error.badChecksum(context, stored: stored, computed: computed) }
            repair("\(context): checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))); read anyway")
        }
        return payload
    }

    /// The two's complement of the 7-bit sum of the data bytes.
    public static func checksum(_ payload: [UInt8]) -> Int {
        (128 - payload.reduce(0) { ($0 + Int($1)) & 0x7F }) & 0x7F
    }

    /// A single-voice dump (163 bytes) that Dexed and a DX7 load.
    public static func encodeVoice(_ patch: DX7Patch, channel: Int = 0) -> [UInt8] {
        precondition((0...15).contains(channel), "DX7 sysex: channel 0...15")
        return [0xF0, 0x43, UInt8(channel), 0x00, 0x01, 0x1B] + patch.bytes + [UInt8(checksum(patch.bytes)), 0xF7]
    }

    /// A 32-voice bank dump (4104 bytes). Fewer than 32 voices are padded with INIT VOICE, as a
    /// DX7 cartridge always holds 32.
    public static func encodeBank(_ patches: [DX7Patch], channel: Int = 0) -> [UInt8] {
        precondition(patches.count <= bankSize && (0...15).contains(channel), "DX7 sysex: at most 32 voices, channel 0...15")
        let voices = patches + Array(repeating: DX7Patch(), count: bankSize - patches.count)
        let payload = voices.flatMap(\.packed)
        return [0xF0, 0x43, UInt8(channel), 0x09, 0x20, 0x00] + payload + [UInt8(checksum(payload)), 0xF7]
    }
}
