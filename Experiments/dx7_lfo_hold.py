#!/usr/bin/env python3
"""Dexed's vibrato holds a tone near 16000 / 2^k Hz: the same saw-up and sine vibratos (LFO speed
30, key sync) on a carrier at ratio 1 (crossing 250 Hz), 4 (crossing 1000 Hz) and 3 (clear of
both), note 60, 16 kHz, played by Dexed (dexed-py) and by our engine emulation (`synthmatch render
--syx`): signal-to-difference over the held 0.4 s, and the blocks where Dexed's frequency stays
within 0.5 Hz of 250 or 1000 Hz for 3 or more blocks while ours moves. Writes results/dx7/lfo-hold.txt. ~10 s.

    python3 Experiments/dx7_lfo_hold.py
"""
import os
import subprocess
import tempfile

import numpy as np
import soundfile
from dexed import DexedSynth, Patch
from scipy.signal import hilbert

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = os.path.join(root, ".build", "release", "synthmatch")
work = tempfile.mkdtemp(prefix="dx7-lfo-")


def voice(name, wave, coarse, depth, sensitivity):
    p = Patch(name)
    p.algorithm, p.feedback = 31, 0
    for i in range(6):
        o = p.op[i]
        o.output_level = 0
        o.envelope.rates, o.envelope.levels = [99, 99, 99, 99], [99, 99, 99, 0]
    p.op[0].output_level, p.op[0].frequency_coarse = 99, coarse
    p.lfo.wave, p.lfo.speed, p.lfo.pitch_mod_depth, p.lfo.sync = wave, 30, depth, 1
    p.pitch_mod_sensitivity = sensitivity
    return p


def block_frequency(x):
    phase = np.unwrap(np.angle(hilbert(x)))
    return np.array([(phase[j + 64] - phase[j]) * 16000 / (2 * np.pi * 64) for j in range(0, len(x) - 64, 64)])


voices = [voice(f"{w} R{c}", wave, c, depth, sens) for c in (1, 4, 3) for (w, wave, depth, sens) in (("SAW", 2, 70, 3), ("SINE", 4, 50, 5))]
bank = os.path.join(work, "bank.syx")
Patch.save_to_bank(bank, voices + [Patch() for _ in range(32 - len(voices))])
dexed = DexedSynth(16000)
lines = []
for k, v in enumerate(voices):
    dexed.load_patch(v)
    theirs = dexed.render(60, 100, 0.4, 0.6).astype(float)
    path = os.path.join(work, "ours.wav")
    subprocess.run([binary, "render", "--syx", bank, "--voice", str(k + 1), "--note", "60", "--hold", "0.4", "--duration", "0.6",
                    "--sample-rate", "16000", "--quantise", "--out", path], check=True, capture_output=True)
    ours = soundfile.read(path)[0]
    held = slice(64, 6400)
    snr = 10 * np.log10(np.sum(theirs[held] ** 2) / np.sum((ours[held] - theirs[held]) ** 2))
    a, b = block_frequency(ours), block_frequency(theirs)
    stuck = []
    for hz in (250.0, 1000.0):
        run = 0
        for j in range(1, 100):
            if abs(b[j] - hz) < 0.5 and abs(a[j] - hz) > 0.5:
                run += 1
            else:
                if run >= 3:
                    stuck.append(f"{run} blocks at {hz:.0f} Hz before block {j}")
                run = 0
    lines.append(f"{v.name.strip():8s} carrier {261.63 * (v.op[0].frequency_coarse):.0f} Hz: signal-to-difference {snr:5.1f} dB; "
                 f"Dexed held: {'; '.join(stuck) if stuck else 'none'}")
text = "\n".join(lines)
open(os.path.join(root, "results", "dx7", "lfo-hold.txt"), "w").write(text + "\n")
print(text)
