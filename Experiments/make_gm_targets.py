#!/usr/bin/env python3
"""Real-instrument targets: single notes rendered from Debian's General MIDI soundfont.

    python3 Experiments/make_gm_targets.py OUT_DIR [--split train|test|eval|all]

Needs `fluidsynth` and `fluid-soundfont-gm` (apt-get install fluidsynth fluid-soundfont-gm).
Writes one 16 kHz mono 16-bit WAV per (program, note): a 0.8 s note-on, rendered for 1 s
plus the release, trimmed to 1.5 s. Instruments were chosen to sit near the synths'
worlds (keys, organ, plucked and bowed strings, brass, reeds, flutes, basses, mallets).

Splits are disjoint by note so that recordings used for spectral fine-tuning (train) are
never scored by `synthmatch evaluate` (test): test notes are 45, 57, 64, 69 and 76;
train notes are the rest of 40..80 in steps of 4. `eval` is a subset of test: one note per
instrument, cycling through the test notes (18 targets, what Experiments/evaluate_matching scores).
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import wave

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
# General MIDI program numbers (0-based) and short names.
PROGRAMS = {
    0: "piano", 4: "epiano", 11: "vibraphone", 16: "organ", 24: "nylon-guitar", 32: "acoustic-bass",
    38: "synth-bass", 40: "violin", 48: "strings", 56: "trumpet", 61: "brass", 65: "alto-sax",
    71: "clarinet", 73: "flute", 80: "square-lead", 81: "saw-lead", 89: "warm-pad", 105: "banjo",
}
TEST_NOTES = [45, 57, 64, 69, 76]
TRAIN_NOTES = [n for n in range(40, 81, 4) if n not in TEST_NOTES]
RATE = 16000


def midi_file(program: int, note: int, seconds: float = 0.8) -> bytes:
    """A one-track MIDI file: program change, note on (velocity 100), note off."""
    ticks = 480  # per quarter; default tempo 120 bpm -> 960 ticks per second
    off = int(seconds * 960)

    def var(n: int) -> bytes:
        out = [n & 0x7F]
        n >>= 7
        while n:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes(reversed(out))

    events = var(0) + bytes([0xC0, program]) + var(0) + bytes([0x90, note, 100]) + var(off) + bytes([0x80, note, 0])
    events += var(960) + bytes([0xFF, 0x2F, 0x00])
    track = b"MTrk" + struct.pack(">I", len(events)) + events
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks) + track


def render(program: int, note: int, path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mid, raw = os.path.join(tmp, "n.mid"), os.path.join(tmp, "n.wav")
        with open(mid, "wb") as f:
            f.write(midi_file(program, note))
        subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(RATE), "-F", raw, SOUNDFONT, mid],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with wave.open(raw, "rb") as w:
            channels, width, frames = w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())
        assert width == 2, "fluidsynth wrote a non-16-bit file"
        samples = struct.unpack("<%dh" % (len(frames) // 2), frames)
        mono = [int(sum(samples[i:i + channels]) / channels) for i in range(0, len(samples), channels)]
        mono = mono[: int(1.5 * RATE)]
        partial = path + ".partial"
        with wave.open(partial, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(struct.pack("<%dh" % len(mono), *mono))
        os.replace(partial, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--split", choices=["train", "test", "eval", "all"], default="all")
    args = parser.parse_args()
    if not os.path.exists(SOUNDFONT):
        sys.exit(f"{SOUNDFONT} is missing: apt-get install fluidsynth fluid-soundfont-gm")
    os.makedirs(args.out, exist_ok=True)
    count = 0
    for i, (program, name) in enumerate(PROGRAMS.items()):
        if args.split == "eval":
            notes = [TEST_NOTES[i % len(TEST_NOTES)]]
        else:
            notes = {"train": TRAIN_NOTES, "test": TEST_NOTES, "all": sorted(TRAIN_NOTES + TEST_NOTES)}[args.split]
        for note in notes:
            render(program, note, os.path.join(args.out, f"{name}-{note}.wav"))
            count += 1
    print(f"wrote {count} notes to {args.out}")


if __name__ == "__main__":
    main()
