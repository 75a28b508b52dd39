/// One DX7 voice in Yamaha's own terms: the 155 parameter bytes of a single-voice dump (the
/// "unpacked" VCED layout, operator 6 first), held as bytes so that reading and writing a file
/// is byte-exact, with named, range-checked access.
///
/// Field layout (DX7 owner's manual, sysex chapter; Dexed reads the same bytes): per operator 21
/// bytes: EG rates 1-4, EG levels 1-4, level-scaling break point, left and right depth, left and
/// right curve, rate scaling, amplitude-modulation sensitivity, key-velocity sensitivity, output
/// level, oscillator mode, coarse, fine, detune. Then the pitch EG (4 rates, 4 levels),
/// algorithm, feedback, oscillator key sync, LFO (speed, delay, pitch and amplitude depth, sync,
/// wave), pitch-modulation sensitivity, transpose and a 10-character name.
public struct DX7Patch: Sendable, Hashable {
    /// The 155 unpacked parameter bytes, every one inside its field's range.
    public private(set) var bytes: [UInt8]

    public static let byteCount = 155
    static let operatorStride = 21

    /// A field of the voice: its name, byte offset within an operator block (operator fields) or
    /// the voice (global fields), and largest value.
    public struct Field: Sendable {
        public let name: String
        public let offset: Int
        public let maximum: UInt8
    }

    public static let operatorFields: [Field] = [
        Field(name: "rate1", offset: 0, maximum: 99), Field(name: "rate2", offset: 1, maximum: 99),
        Field(name: "rate3", offset: 2, maximum: 99), Field(name: "rate4", offset: 3, maximum: 99),
        Field(name: "level1", offset: 4, maximum: 99), Field(name: "level2", offset: 5, maximum: 99),
        Field(name: "level3", offset: 6, maximum: 99), Field(name: "level4", offset: 7, maximum: 99),
        Field(name: "break_point", offset: 8, maximum: 99), Field(name: "left_depth", offset: 9, maximum: 99),
        Field(name: "right_depth", offset: 10, maximum: 99), Field(name: "left_curve", offset: 11, maximum: 3),
        Field(name: "right_curve", offset: 12, maximum: 3), Field(name: "rate_scaling", offset: 13, maximum: 7),
        Field(name: "amp_mod_sensitivity", offset: 14, maximum: 3), Field(name: "velocity_sensitivity", offset: 15, maximum: 7),
        Field(name: "output_level", offset: 16, maximum: 99), Field(name: "fixed_frequency", offset: 17, maximum: 1),
        Field(name: "coarse", offset: 18, maximum: 31), Field(name: "fine", offset: 19, maximum: 99),
        Field(name: "detune", offset: 20, maximum: 14),
    ]

    public static let globalFields: [Field] = [
        Field(name: "pitch_rate1", offset: 126, maximum: 99), Field(name: "pitch_rate2", offset: 127, maximum: 99),
        Field(name: "pitch_rate3", offset: 128, maximum: 99), Field(name: "pitch_rate4", offset: 129, maximum: 99),
        Field(name: "pitch_level1", offset: 130, maximum: 99), Field(name: "pitch_level2", offset: 131, maximum: 99),
        Field(name: "pitch_level3", offset: 132, maximum: 99), Field(name: "pitch_level4", offset: 133, maximum: 99),
        Field(name: "algorithm", offset: 134, maximum: 31), Field(name: "feedback", offset: 135, maximum: 7),
        Field(name: "osc_key_sync", offset: 136, maximum: 1), Field(name: "lfo_speed", offset: 137, maximum: 99),
        Field(name: "lfo_delay", offset: 138, maximum: 99), Field(name: "lfo_pitch_depth", offset: 139, maximum: 99),
        Field(name: "lfo_amp_depth", offset: 140, maximum: 99), Field(name: "lfo_sync", offset: 141, maximum: 1),
        Field(name: "lfo_wave", offset: 142, maximum: 5), Field(name: "pitch_mod_sensitivity", offset: 143, maximum: 7),
        Field(name: "transpose", offset: 144, maximum: 48),
    ]

    static let nameOffset = 145
    static let nameLength = 10

    /// DX7's INIT VOICE: algorithm 1, operator 1 alone at full level, every envelope 99/99/99/99
    /// rates to 99/99/99/0, pitch EG flat, transpose C3.
    public init(name: String = "INIT VOICE") {
        var b = [UInt8](repeating: 0, count: Self.byteCount)
        for op in 1...6 {
            let o = Self.operatorOffset(op)
            for i in 0..<4 { b[o + i] = 99 }
            for i in 4..<7 { b[o + i] = 99 }
            b[o + 8] = 39          // break point A-1 + 39 = C3
            b[o + 16] = op == 1 ? 99 : 0
            b[o + 18] = 1          // coarse 1
            b[o + 20] = 7          // detune 0
        }
        for i in 126..<130 { b[i] = 99 }
        for i in 130..<134 { b[i] = 50 }
        b[136] = 1                 // oscillator key sync on
        b[137] = 35                // LFO speed
        b[142] = 0                 // triangle
        b[143] = 3
        b[144] = 24                // transpose C3
        bytes = b
        self.name = name
    }

    /// A voice from 155 unpacked bytes; every field is checked against its range. `context`
    /// names where the bytes came from ("voice 3 of bank.syx") in errors. With `repair`, a
    /// value out of range is brought into it as Dexed does (kept if in range, else scaled from
    /// 0...255 onto the range) and reported to it instead of refused.
    public init(unpacked: [UInt8], context: String = "voice", repair: ((String) -> Void)? = nil) throws {
        guard unpacked.count >= Self.byteCount else {
            throw DX7Error.wrongLength(context, expected: Self.byteCount, got: unpacked.count)
        }
        var b = Array(unpacked.prefix(Self.byteCount))
        func check(_ i: Int, _ maximum: UInt8, _ field: String) throws {
            guard b[i] > maximum else { return }
            guard let repair else { throw DX7Error.valueOutOfRange(context, field: field, value: Int(b[i]), maximum: Int(maximum)) }
            let fixed = UInt8(Int(b[i]) * Int(maximum) / 255)
            repair("\(context): \(field) was \(b[i]), outside 0...\(maximum); read as \(fixed)")
            b[i] = fixed
        }
        for op in 1...6 {
            for f in Self.operatorFields { try check(Self.operatorOffset(op) + f.offset, f.maximum, "operator \(op) \(f.name)") }
        }
        for f in Self.globalFields { try check(f.offset, f.maximum, f.name) }
        for i in 0..<Self.nameLength { try check(Self.nameOffset + i, 127, "name character \(i + 1)") }
        bytes = b
    }

    /// Byte offset of operator `op` (1...6): the dump stores operator 6 first.
    static func operatorOffset(_ op: Int) -> Int { (6 - op) * operatorStride }

    /// Operator `op`'s (1...6) field `name` (see `operatorFields`).
    public func value(_ name: String, operator op: Int) -> Int {
        Int(bytes[Self.operatorOffset(op) + Self.operatorField(name).offset])
    }

    /// A voice-wide field (see `globalFields`).
    public func value(_ name: String) -> Int { Int(bytes[Self.globalField(name).offset]) }

    /// Sets an operator field; values outside the field's range are refused.
    public mutating func set(_ name: String, operator op: Int, to value: Int) throws {
        let f = Self.operatorField(name)
        guard (0...Int(f.maximum)).contains(value) else {
            throw DX7Error.valueOutOfRange("voice", field: "operator \(op) \(name)", value: value, maximum: Int(f.maximum))
        }
        bytes[Self.operatorOffset(op) + f.offset] = UInt8(value)
    }

    /// Sets a voice-wide field; values outside the field's range are refused.
    public mutating func set(_ name: String, to value: Int) throws {
        let f = Self.globalField(name)
        guard (0...Int(f.maximum)).contains(value) else {
            throw DX7Error.valueOutOfRange("voice", field: name, value: value, maximum: Int(f.maximum))
        }
        bytes[f.offset] = UInt8(value)
    }

    static func operatorField(_ name: String) -> Field {
        guard let f = operatorFields.first(where: { $0.name == name }) else { preconditionFailure("DX7: no operator field \(name)") }
        return f
    }

    static func globalField(_ name: String) -> Field {
        guard let f = globalFields.first(where: { $0.name == name }) else { preconditionFailure("DX7: no voice field \(name)") }
        return f
    }

    /// The 10-character name, trailing spaces kept (the bytes round-trip exactly); characters
    /// outside printable ASCII show as `?`. Setting pads or cuts to 10 characters.
    public var name: String {
        get {
            String(bytes[Self.nameOffset..<(Self.nameOffset + Self.nameLength)].map { (32...126).contains($0) ? Character(Unicode.Scalar($0)) : "?" })
        }
        set {
            let ascii = newValue.unicodeScalars.map { (32...126).contains($0.value) ? UInt8($0.value) : UInt8(ascii: "?") }
            for i in 0..<Self.nameLength { bytes[Self.nameOffset + i] = i < ascii.count ? ascii[i] : 32 }
        }
    }

    /// Algorithm 1...32 (stored 0...31).
    public var algorithm: Int { value("algorithm") + 1 }

    // MARK: Packed (32-voice bank) layout

    /// The 128-byte packed form of a bank slot (VMEM): small fields share bytes.
    public var packed: [UInt8] {
        var p = [UInt8](repeating: 0, count: 128)
        for k in 0..<6 {
            let u = k * 21, q = k * 17
            for i in 0..<11 { p[q + i] = bytes[u + i] }
            p[q + 11] = bytes[u + 11] | bytes[u + 12] << 2
            p[q + 12] = bytes[u + 13] | bytes[u + 20] << 3
            p[q + 13] = bytes[u + 14] | bytes[u + 15] << 2
            p[q + 14] = bytes[u + 16]
            p[q + 15] = bytes[u + 17] | bytes[u + 18] << 1
            p[q + 16] = bytes[u + 19]
        }
        for i in 0..<9 { p[102 + i] = bytes[126 + i] }          // pitch EG and algorithm
        p[111] = bytes[135] | bytes[136] << 3
        for i in 0..<4 { p[112 + i] = bytes[137 + i] }
        p[116] = bytes[141] | bytes[142] << 1 | bytes[143] << 4
        for i in 0..<11 { p[117 + i] = bytes[144 + i] }          // transpose and name
        return p
    }

    /// A voice from a 128-byte packed bank slot. Bits the format leaves unused must be 0 (a slot
    /// with them set is not one a DX7 wrote, and would not round-trip); with `repair` they are
    /// ignored, as the DX7 and Dexed ignore them, and noted.
    public init(packed p: [UInt8], context: String = "voice", repair: ((String) -> Void)? = nil) throws {
        guard p.count == 128 else { throw DX7Error.wrongLength(context, expected: 128, got: p.count) }
        func unused(_ i: Int, _ mask: UInt8, _ what: String) throws {
            guard p[i] & mask != 0 else { return }
            guard let repair else { throw DX7Error.notDX7(context, reason: "\(what) (packed byte \(i) = \(p[i])) has unused bits set") }
            repair("\(context): unused bits of packed byte \(i) (\(what)) were set; ignored")
        }
        var u = [UInt8](repeating: 0, count: Self.byteCount)
        for k in 0..<6 {
            let a = k * 21, q = k * 17, op = 6 - k
            for i in 0..<11 { u[a + i] = p[q + i] & 0x7F }
            try unused(q + 11, 0xF0, "operator \(op) curves")
            try unused(q + 13, 0xE0, "operator \(op) sensitivities")
            try unused(q + 15, 0xC0, "operator \(op) mode and coarse")
            for i in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16] { try unused(q + i, 0x80, "operator \(op) byte \(i)") }
            u[a + 11] = p[q + 11] & 3; u[a + 12] = p[q + 11] >> 2 & 3
            u[a + 13] = p[q + 12] & 7; u[a + 20] = p[q + 12] >> 3 & 0x0F
            u[a + 14] = p[q + 13] & 3; u[a + 15] = p[q + 13] >> 2 & 7
            u[a + 16] = p[q + 14] & 0x7F
            u[a + 17] = p[q + 15] & 1; u[a + 18] = p[q + 15] >> 1 & 0x1F
            u[a + 19] = p[q + 16] & 0x7F
        }
        try unused(110, 0xE0, "algorithm")
        try unused(111, 0xF0, "feedback and key sync")
        for i in [102, 103, 104, 105, 106, 107, 108, 109, 112, 113, 114, 115, 116, 117] + Array(118..<128) { try unused(i, 0x80, "byte \(i)") }
        for i in 0..<8 { u[126 + i] = p[102 + i] & 0x7F }
        u[134] = p[110] & 0x1F
        u[135] = p[111] & 7; u[136] = p[111] >> 3 & 1
        for i in 0..<4 { u[137 + i] = p[112 + i] & 0x7F }
        u[141] = p[116] & 1; u[142] = p[116] >> 1 & 7; u[143] = p[116] >> 4 & 7
        for i in 0..<11 { u[144 + i] = p[117 + i] & 0x7F }
        try self.init(unpacked: u, context: context, repair: repair)
    }
}

/// What can be wrong with DX7 data, naming the file or voice and the field.
public enum DX7Error: Error, CustomStringConvertible, Equatable {
    case wrongLength(String, expected: Int, got: Int)
    case notDX7(String, reason: String)
    case badChecksum(String, stored: Int, computed: Int)
    case valueOutOfRange(String, field: String, value: Int, maximum: Int)
    case noSuchVoice(String, voice: Int, count: Int)

    public var description: String {
        switch self {
        case let .wrongLength(c, e, g): return "\(c): \(g) bytes where a DX7 dump has \(e)"
        case let .notDX7(c, r): return "\(c) is not a DX7 voice or bank dump: \(r)"
        case let .badChecksum(c, s, k):
            return "\(c): checksum mismatch (stored 0x\(String(s, radix: 16)), computed 0x\(String(k, radix: 16))): the dump is damaged"
        case let .valueOutOfRange(c, f, v, m): return "\(c): \(f) is \(v), outside the DX7's range 0...\(m)"
        case let .noSuchVoice(c, v, n): return "\(c) has no voice \(v) (it holds \(n): 1...\(n))"
        }
    }
}
