#!/usr/bin/env python3
"""Reference f0 tracks from librosa's YIN, for Tests/DSPTests/PitchTrackerTests.swift.

    pip install librosa && python3 Experiments/reference/yin_vectors.py > Tests/DSPTests/Fixtures/yin_vectors.json

Each signal is a formula both sides evaluate (no audio is stored): a sum of harmonics
a_k sin(2 pi k f0 t + phi_k) at 16 kHz, 0.6 s, optionally with a slow vibrato. librosa.yin runs
with the tracker's defaults (frame 2048, hop 256, 30-2100 Hz, threshold 0.1, centred, zero
padding); frames whose centre lies 1024 samples or more inside the signal are kept.
"""
import json

import librosa
import numpy as np

RATE, SECONDS = 16000, 0.6


def signal(spec):
    t = np.arange(int(RATE * SECONDS)) / RATE
    f0 = spec["f0"]
    depth, rate = spec.get("vibrato_cents", 0.0), spec.get("vibrato_hz", 0.0)
    # Instantaneous frequency f0 * 2^(depth/1200 sin(2 pi rate t)), phase by cumulative sum.
    inst = f0 * 2.0 ** (depth / 1200 * np.sin(2 * np.pi * rate * t))
    phase = 2 * np.pi * np.concatenate([[0.0], np.cumsum(inst[:-1])]) / RATE
    y = np.zeros_like(t)
    for k, (a, phi) in enumerate(zip(spec["amplitudes"], spec["phases"]), start=1):
        y += a * np.sin(k * phase + phi)
    return y


def main():
    specs = [
        {"name": "sine-110", "f0": 110.0, "amplitudes": [0.5], "phases": [0.0]},
        {"name": "sine-220", "f0": 220.0, "amplitudes": [0.5], "phases": [0.3]},
        {"name": "saw-ish-146.83", "f0": 146.83, "amplitudes": [0.5 / k for k in range(1, 11)], "phases": [0.1 * k for k in range(10)]},
        {"name": "weak-fundamental-196", "f0": 196.0, "amplitudes": [0.05, 0.4, 0.3, 0.2], "phases": [0, 1, 2, 3]},
        {"name": "high-880", "f0": 880.0, "amplitudes": [0.4, 0.1], "phases": [0, 0.5]},
        {"name": "low-41.2", "f0": 41.2, "amplitudes": [0.3, 0.3, 0.2, 0.1], "phases": [0, 0, 0, 0]},
        {"name": "vibrato-330", "f0": 330.0, "amplitudes": [0.4, 0.2, 0.1], "phases": [0, 0, 0], "vibrato_cents": 30, "vibrato_hz": 5},
    ]
    out = []
    for spec in specs:
        y = signal(spec)
        f0 = librosa.yin(y, fmin=30, fmax=2100, sr=RATE, frame_length=2048, hop_length=256, trough_threshold=0.1, center=True)
        frames = [i for i in range(len(f0)) if i * 256 >= 1024 and i * 256 + 1024 <= len(y)]
        out.append(dict(spec, samples=len(y), frames=frames, f0_librosa=[float(f0[i]) for i in frames]))
    print(json.dumps({"sample_rate": RATE, "librosa": librosa.__version__, "signals": out}, indent=1))


if __name__ == "__main__":
    main()
