import CSampleRate
import CSndfile
import DSP
import Foundation

/// Errors from reading and writing audio, each naming the file and what to do.
public enum AudioFileError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case unreadable(String, reason: String)
    case empty(String)
    case nonFinite(String, sampleIndex: Int)
    case badSampleRate(String, rate: Double)
    case writeFailed(String, reason: String)
    case resampleFailed(reason: String)
    /// A rate asked for (an option, a model's rate), not a file's.
    case requestedRate(Double)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot read audio (\(reason))"
        case .empty(let path): return "\(path): 0 samples"
        case let .nonFinite(path, i): return "\(path): sample \(i) is NaN or infinite"
        case let .badSampleRate(path, rate): return "\(path): invalid sample rate \(rate)"
        case let .writeFailed(path, reason): return "\(path): cannot write audio (\(reason))"
        case .resampleFailed(let reason): return "resampling failed (\(reason))"
        case .requestedRate(let rate): return "the requested sample rate \(rate) Hz is not within 1...1000000 Hz"
        }
    }
}

/// Mono audio at a known sample rate.
public struct MonoAudio: Sendable, Equatable {
    public var samples: [Float]
    public var sampleRate: Double
    public init(samples: [Float], sampleRate: Double) { self.samples = samples; self.sampleRate = sampleRate }
    public var durationSeconds: Double { Double(samples.count) / sampleRate }

    /// The first `count` samples, zero-padded when shorter: how a recording is fitted to a
    /// model's fixed length (a note's onset carries most of what identifies it).
    public func fitted(to count: Int) -> [Float] { Self.fitted(samples, to: count) }

    public static func fitted(_ samples: [Float], to count: Int) -> [Float] {
        samples.count >= count ? Array(samples[0..<count]) : samples + [Float](repeating: 0, count: count - samples.count)
    }
}

public enum SampleFormat: Sendable {
    case float32
    case pcm16
}

/// Audio file I/O through libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, ...), with
/// downmixing and resampling through libsamplerate.
public enum AudioFile {
    /// Most channels a file may have (libsndfile allows 1024; one read block is 64k frames of
    /// every channel).
    public static let maximumChannels = 64

    /// The length a file declares, in seconds (nil when it declares none).
    public static func declaredSeconds(_ path: String) -> Double? {
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else { return nil }
        sf_close(handle)
        return info.samplerate > 0 && info.frames > 0 ? Double(info.frames) / Double(info.samplerate) : nil
    }

    /// Reads any file libsndfile opens, downmixes to mono (channel mean) and, when
    /// `sampleRate` is given, resamples to it with libsamplerate's best sinc converter.
    /// Rejects missing, unreadable, truncated-to-nothing and empty files, and NaN/Inf samples.
    /// With `maxSeconds`, only the first `maxSeconds` seconds are decoded, so a long recording
    /// costs what is used, not its whole length.
    public static func read(_ path: String, sampleRate target: Double? = nil, maxSeconds: Double? = nil) throws -> MonoAudio {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioFileError.missing(path) }
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioFileError.unreadable(path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(handle) }
        let channels = Int(info.channels)
        guard info.samplerate > 0 else { throw AudioFileError.badSampleRate(path, rate: Double(info.samplerate)) }
        guard channels > 0 else { throw AudioFileError.unreadable(path, reason: "no channels") }
        guard channels <= maximumChannels else { throw AudioFileError.unreadable(path, reason: "\(channels) channels (at most \(maximumChannels) are read)") }
        let limit = maxSeconds.map { Int(Swift.min(Double(Int32.max), ($0 * Double(info.samplerate)).rounded(.up))) } ?? Int.max
        // Read in blocks rather than trusting `frames`: a truncated file reports more frames
        // than it holds, and some formats report none.
        var interleaved: [Float] = []
        var block = [Float](repeating: 0, count: 65536 * channels)
        while interleaved.count / channels < limit {
            let want = Swift.min(65536, limit - interleaved.count / channels)
            let got = block.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress!, Int64(want)) }
            if got <= 0 { break }
            interleaved.append(contentsOf: block[0..<(Int(got) * channels)])
        }
        let frames = interleaved.count / channels
        guard frames > 0 else { throw AudioFileError.empty(path) }
        var mono = [Float](repeating: 0, count: frames)
        for f in 0..<frames {
            var s: Float = 0
            for c in 0..<channels { s += interleaved[f * channels + c] }
            mono[f] = s / Float(channels)
        }
        if let bad = mono.firstIndex(where: { !$0.isFinite }) { throw AudioFileError.nonFinite(path, sampleIndex: bad) }
        var audio = MonoAudio(samples: mono, sampleRate: Double(info.samplerate))
        if let target, target != audio.sampleRate {
            audio = try resample(audio, to: target)
        }
        return audio
    }

    /// File extensions `readFolder` picks up.
    public static let audioExtensions: Set<String> = ["wav", "flac", "aif", "aiff", "ogg", "oga"]

    /// Every audio file directly inside `folder` (sorted by name), read as by `read`. Files
    /// that fail to read are returned with their error instead of stopping the others.
    public static func readFolder(_ folder: String, sampleRate: Double? = nil, maxSeconds: Double? = nil) throws
        -> (clips: [(name: String, audio: MonoAudio)], failures: [(name: String, error: Error)]) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else { throw AudioFileError.missing(folder) }
        guard isFolder.boolValue else { throw AudioFileError.unreadable(folder, reason: "not a folder") }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { audioExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !names.isEmpty else { throw AudioFileError.unreadable(folder, reason: "no audio files (\(audioExtensions.sorted().joined(separator: ", ")))") }
        var clips: [(String, MonoAudio)] = [], failures: [(String, Error)] = []
        for name in names {
            do { clips.append((name, try read((folder as NSString).appendingPathComponent(name), sampleRate: sampleRate, maxSeconds: maxSeconds))) } catch { failures.append((name, error)) }
        }
        return (clips, failures)
    }

    /// Band-limited resampling (libsamplerate `SRC_SINC_BEST_QUALITY`).
    public static func resample(_ audio: MonoAudio, to rate: Double) throws -> MonoAudio {
        guard rate.isFinite, (1...1_000_000).contains(rate) else { throw AudioFileError.requestedRate(rate) }
        guard audio.sampleRate.isFinite, audio.sampleRate > 0 else { throw AudioFileError.resampleFailed(reason: "the audio's own rate \(audio.sampleRate) Hz is not valid") }
        if rate == audio.sampleRate { return audio }
        let ratio = rate / audio.sampleRate
        let exact = Double(audio.samples.count) * ratio
        guard exact < Double(1 << 31) else { throw AudioFileError.resampleFailed(reason: "\(Int(exact)) samples at \(rate) Hz is more than SynthMatch resamples (2^31)") }
        let outCount = Int(exact.rounded())
        var output = [Float](repeating: 0, count: max(outCount, 1) + 16)
        var data = SRC_DATA()
        let status: Int32 = audio.samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                data.data_in = input.baseAddress
                data.input_frames = Int(input.count)
                data.data_out = out.baseAddress
                data.output_frames = Int(out.count)
                data.src_ratio = ratio
                data.end_of_input = 1
                return src_simple(&data, Int32(SRC_SINC_BEST_QUALITY), 1)
            }
        }
        guard status == 0 else { throw AudioFileError.resampleFailed(reason: String(cString: src_strerror(status))) }
        let produced = Int(data.output_frames_gen)
        return MonoAudio(samples: Array(output[0..<min(produced, max(outCount, 1))]), sampleRate: rate)
    }

    /// Writes mono WAV (32-bit float or 16-bit PCM). The file appears only when complete:
    /// it is written to a temporary name beside the destination and renamed.
    public static func write(_ audio: MonoAudio, to path: String, format: SampleFormat = .float32) throws {
        guard audio.sampleRate.isFinite, audio.sampleRate >= 1 else { throw AudioFileError.writeFailed(path, reason: "the audio's sample rate \(audio.sampleRate) Hz is not valid") }
        if let bad = audio.samples.firstIndex(where: { !$0.isFinite }) { throw AudioFileError.nonFinite(path, sampleIndex: bad) }
        try AtomicFile.write(to: path) { temporary in
            var info = SF_INFO()
            info.samplerate = Int32(audio.sampleRate.rounded())
            info.channels = 1
            info.format = Int32(SF_FORMAT_WAV) | Int32(format == .float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16)
            guard let handle = sf_open(temporary, Int32(SFM_WRITE), &info) else {
                throw AudioFileError.writeFailed(path, reason: String(cString: sf_strerror(nil)))
            }
            if format == .pcm16 { sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE)) }
            errno = 0
            let written = audio.samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress!, Int64($0.count)) }
            let code = errno
            let closeStatus = sf_close(handle)
            guard written == Int64(audio.samples.count), closeStatus == 0 else {
                let why = code != 0 ? String(cString: strerror(code)) : (closeStatus != 0 ? String(cString: strerror(errno)) : "short write")
                throw AudioFileError.writeFailed(path, reason: "\(why): \(written) of \(audio.samples.count) samples written")
            }
        }
    }
}

/// Write-to-temporary-then-rename, so no reader ever sees a half-written output.
public enum AtomicFile {
    /// Calls `body` with a temporary path in the destination's folder, then renames it over
    /// `path`. On any error the temporary file is removed and `path` is left untouched, and the
    /// error names `path` (never the temporary name). `path` must be a regular file, a link to
    /// one, or absent: a device, a FIFO or a folder is never replaced (a link is written through
    /// to its target, which stays a link).
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let (target, folder) = try destination(path)
        Orphans.remove(in: folder)
        let temporary = (folder as NSString).appendingPathComponent(Orphans.name(suffix: "partial"))
        do {
            try body(temporary)
            guard rename(temporary, target) == 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        } catch let error as AtomicFileError {
            unlink(temporary)
            throw error
        } catch where !"\(error)".contains(temporary) {
            unlink(temporary)
            throw error   // already names the user's path
        } catch {
            unlink(temporary)
            // Report the user's path: the writer only ever saw the temporary one.
            var reason = "\(error)".replacingOccurrences(of: temporary + ": ", with: "").replacingOccurrences(of: temporary, with: path)
            if reason.hasPrefix(path + ": ") { reason.removeFirst(path.count + 2) }
            throw AtomicFileError(path: path, reason: reason)
        }
    }

    /// Checks before long work that `path` could be written: its folder exists and is writable,
    /// and `path` is a regular file or absent (the same errors `write` would give at the end).
    public static func checkWritable(_ path: String) throws { _ = try destination(path) }

    /// The file a write to `path` replaces (`regularTarget`) and its folder, which must exist
    /// and be writable.
    static func destination(_ path: String) throws -> (target: String, folder: String) {
        guard !path.isEmpty else { throw AtomicFileError(path: path, reason: "no file name given") }
        let target = try regularTarget(path)
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        try Orphans.checkFolder(folder, for: path)
        return (target, folder)
    }

    /// `path`, or the file a link at `path` points to; an error for anything but a regular file.
    static func regularTarget(_ path: String) throws -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return path }
        var resolved = path
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard let real = realpath(path, nil) else { return path }   // a dangling link: replaced by the file
            resolved = String(cString: real)
            free(real)
            guard stat(resolved, &info) == 0 else { return path }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return resolved
        case S_IFDIR: throw AtomicFileError(path: path, reason: "it is a folder")
        default: throw AtomicFileError(path: path, reason: "it exists and is not a regular file (a device, FIFO or socket is never replaced)")
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { temporary in
            do { try data.write(to: URL(fileURLWithPath: temporary)) } catch {
                throw AtomicFileError(path: path, reason: Orphans.reason(error))
            }
        }
    }
}

/// Temporary names SynthMatch writes beside its outputs, `.synthmatch-PID-N.partial` (short,
/// so a name near the 255-byte limit still fits), and their cleanup: one left by a process
/// that no longer exists (killed mid-write) is removed by the next write into that folder.
enum Orphans {
    static func name(suffix: String) -> String {
        ".synthmatch-\(getpid())-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000).\(suffix)"
    }

    /// `folder` exists and this process may create files in it.
    static func checkFolder(_ folder: String, for path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw AtomicFileError(path: path, reason: "its folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func remove(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".synthmatch-") && name.hasSuffix(".partial") {
            let fields = name.dropFirst(".synthmatch-".count).split(separator: "-")
            guard let pid = fields.first.flatMap({ Int32($0) }), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    /// A Foundation error as the OS reason alone (not `NSCocoaErrorDomain Code=...`).
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch ns.code {
        case NSFileWriteOutOfSpaceError: return String(cString: strerror(ENOSPC))
        case NSFileWriteVolumeReadOnlyError: return String(cString: strerror(EROFS))
        case NSFileWriteNoPermissionError: return String(cString: strerror(EACCES))
        default: return ns.localizedDescription
        }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot write (\(reason))" }
}

/// A folder of outputs that appears whole or not at all: `body` fills a temporary sibling
/// folder, which then takes `path`'s place. An existing `path` is moved aside first and removed
/// only once the new folder is in place, so a failure at any point leaves either the old
/// folder or nothing, never one run's files beside another's. `path` must be a folder or
/// absent (never a file, a device or a link to one).
public enum OutputFolder {
    /// Checks before long work that `path` could be written as a folder.
    public static func checkWritable(_ path: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        try Orphans.checkFolder(url.deletingLastPathComponent().path, for: path)
        var info = stat()
        if lstat(url.path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
            throw AtomicFileError(path: path, reason: "it exists and is not a folder; choose another --out")
        }
    }

    public static func write(_ path: String, _ body: (String) throws -> Void) throws {
        try checkWritable(path)
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        var info = stat()
        let exists = lstat(url.path, &info) == 0   // a folder, after checkWritable
        Orphans.remove(in: parent)
        // Short names: a name near the 255-byte limit must not fail because of the suffix.
        let tag = Orphans.name(suffix: "partial")
        let temporary = (parent as NSString).appendingPathComponent(tag)
        let aside = (parent as NSString).appendingPathComponent(String(tag.dropLast("partial".count)) + "old")
        guard mkdir(temporary, 0o755) == 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        do {
            try body(temporary)
            if exists, rename(url.path, aside) != 0 { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
            guard rename(temporary, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                if exists { rename(aside, url.path) }
                throw AtomicFileError(path: path, reason: reason)
            }
            if exists { try? FileManager.default.removeItem(atPath: aside) }
        } catch let error as AtomicFileError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AtomicFileError(path: error.path.replacingOccurrences(of: temporary, with: path), reason: error.reason)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AtomicFileError(path: path, reason: "\(error)".replacingOccurrences(of: temporary, with: path))
        }
    }
}
