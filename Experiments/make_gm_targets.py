#!/usr/bin/env python3
"""Real-instrument targets: whole notes rendered from Debian's General MIDI soundfonts.

    python3 Experiments/make_gm_targets.py OUT_DIR [--split train|test|example] [--soundfont fluid|timgm]
                                                   [--hold 1.5] [--length 4.5]

Needs `fluidsynth` and `fluid-soundfont-gm` (and `timgm6mb-soundfont` for --soundfont timgm).
Writes one 16 kHz mono 16-bit WAV per (program, note): a note held --hold seconds (velocity
100), rendered with its release, trimmed to --length seconds.

Splits are disjoint by instrument, so the instruments scored by `synthmatch evaluate` (test)
are never heard in training or tuning (train):
- train: 12 programs x notes 40..80 in steps of 4 (spectral fine-tuning of the shipped models,
  matcher tuning);
- test: 10 other programs x notes 45, 57, 69 (A2, A3, A4): 30 targets per soundfont. FluidR3
  (MIT) and TimGM6mb (GPL-2) render the same programs with different samples; TimGM6mb is used
  for testing only.
- example: the bundled README example (saw lead, A2, 0.8 s held, 1.5 s).
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import wave

SOUNDFONTS = {"fluid": "/usr/share/sounds/sf2/FluidR3_GM.sf2", "timgm": "/usr/share/sounds/sf2/TimGM6mb.sf2"}
SOUNDFONT = SOUNDFONTS["fluid"]
# General MIDI program numbers (0-based) and short names.
TRAIN_PROGRAMS = {
    0: "piano", 4: "epiano", 11: "vibraphone", 16: "organ", 24: "nylon-guitar", 32: "acoustic-bass",
    40: "violin", 61: "brass", 71: "clarinet", 80: "square-lead", 89: "warm-pad", 105: "banjo",
}
TEST_PROGRAMS = {
    6: "harpsichord", 19: "church-organ", 38: "synth-bass", 42: "cello", 48: "strings", 56: "trumpet",
    65: "alto-sax", 68: "oboe", 73: "flute", 81: "saw-lead",
}
TRAIN_NOTES = list(range(40, 81, 4))
TEST_NOTES = [45, 57, 69]
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
    events += var(int(4 * 960)) + bytes([0xFF, 0x2F, 0x00])   # 4 s of release rendered after note-off
    track = b"MTrk" + struct.pack(">I", len(events)) + events
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks) + track


def render(program: int, note: int, path: str, hold: float = 0.8, length: float = 1.5, soundfont: str = SOUNDFONT) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mid, raw = os.path.join(tmp, "n.mid"), os.path.join(tmp, "n.wav")
        with open(mid, "wb") as f:
            f.write(midi_file(program, note, hold))
        subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(RATE), "-F", raw, soundfont, mid],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with wave.open(raw, "rb") as w:
            channels, width, frames = w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())
        assert width == 2, "fluidsynth wrote a non-16-bit file"
        samples = struct.unpack("<%dh" % (len(frames) // 2), frames)
        mono = [int(sum(samples[i:i + channels]) / channels) for i in range(0, len(samples), channels)]
        mono = mono[: int(length * RATE)]
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
    parser.add_argument("--split", choices=["train", "test", "example"], default="test")
    parser.add_argument("--soundfont", choices=sorted(SOUNDFONTS), default="fluid")
    parser.add_argument("--hold", type=float, default=1.5, help="seconds the key is held")
    parser.add_argument("--length", type=float, default=4.5, help="seconds kept (note and release)")
    args = parser.parse_args()
    soundfont = SOUNDFONTS[args.soundfont]
    if not os.path.exists(soundfont):
        sys.exit(f"{soundfont} is missing: apt-get install fluidsynth fluid-soundfont-gm timgm6mb-soundfont")
    if args.split == "train" and args.soundfont != "fluid":
        sys.exit("the train split is FluidR3 only: TimGM6mb is kept for testing")
    os.makedirs(args.out, exist_ok=True)
    if args.split == "example":
        jobs = [(81, "saw-lead", 45, 0.8, 1.5)]
    else:
        programs, notes = (TRAIN_PROGRAMS, TRAIN_NOTES) if args.split == "train" else (TEST_PROGRAMS, TEST_NOTES)
        jobs = [(p, name, n, args.hold, args.length) for p, name in programs.items() for n in notes]
    for program, name, note, hold, length in jobs:
        render(program, note, os.path.join(args.out, f"{name}-{note}.wav"), hold, length, soundfont)
    print(f"wrote {len(jobs)} notes to {args.out} ({args.soundfont}, {args.split})")


if __name__ == "__main__":
    main()
