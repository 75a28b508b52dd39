#!/usr/bin/env python3
"""Random byte flips in a small SynthMatch dataset file, then `synthmatch dataset info` on each
damaged copy (issue 14: what a corrupted HDF5 file does). Counts clear errors or correct reads
(exit 0/1), crashes (a signal) and hangs (over 30 s), with the child-process probe of
Sources/synthmatch/Probe.swift and without it (SYNTHMATCH_NO_PROBE=1), on the same damaged copies. Half the trials damage the first 6000
bytes (HDF5's superblock and object headers), half anywhere.

    python3 Experiments/corrupt_hdf5.py [TRIALS] [SEED]     (needs a release build)
"""
import os
import random
import subprocess
import sys
import tempfile

binary = os.path.join(os.path.dirname(__file__), "..", ".build", "release", "synthmatch")
trials = int(sys.argv[1]) if len(sys.argv) > 1 else 100
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
with tempfile.TemporaryDirectory() as folder:
    base, damaged = os.path.join(folder, "base.h5"), os.path.join(folder, "c.h5")
    subprocess.run([binary, "dataset", "generate", "--synth", "subtractive", "--count", "8", "--duration", "0.1",
                    "--out", base, "--quiet"], check=True)
    data = open(base, "rb").read()
    modes = {"with probe": {}, "without probe": {"SYNTHMATCH_NO_PROBE": "1"}}
    counts = {m: {"clear error or correct read": 0, "crash": 0, "hang": 0} for m in modes}
    for t in range(trials):
        d = bytearray(data)
        for _ in range(random.choice([1, 4, 16])):
            d[random.randrange(0, 6000 if t % 2 == 0 else len(d))] = random.randrange(256)
        open(damaged, "wb").write(d)
        for mode, extra in modes.items():
            try:
                r = subprocess.run([binary, "dataset", "info", damaged], capture_output=True, timeout=30,
                                   env={**os.environ, **extra})
                counts[mode]["clear error or correct read" if r.returncode in (0, 1) else "crash"] += 1
            except subprocess.TimeoutExpired:
                counts[mode]["hang"] += 1
    for mode in modes:
        print(f"{trials} damaged copies of a {len(data)}-byte dataset, {mode}: {counts[mode]}")
