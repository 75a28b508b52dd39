#!/usr/bin/env python3
"""Reference vectors for SynthMatch's FM synth from DDX7's own operator code (fcaspe/ddx7,
ddx7/core.py: fm_string_synth, fm_brass_synth, fm_flute_synth), imported from a checkout.

Constant f0 = 220 Hz and constant output levels (DDX7 has no envelopes), 256 samples at
16 kHz, float64. Writes Tests/SynthsTests/Fixtures/ddx7_fm.json with, per patch: the ratios,
the levels, max_ol and DDX7's output (sum of carriers / max_ol).

Run: git clone https://github.com/fcaspe/ddx7 /tmp/ddx7
     python3 Experiments/reference/ddx7_vectors.py /tmp/ddx7      (needs torch, librosa)
"""
import json
import pathlib
import sys

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/SynthsTests/Fixtures/ddx7_fm.json"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.path.insert(0, sys.argv[1])
    from ddx7 import core  # noqa: E402  (the checkout given on the command line)

    torch.set_default_dtype(torch.float64)
    n, sr, f0, max_ol = 256, 16000, 220.0, 2.0
    patches = {
        "strings": (core.fm_string_synth, [1, 1, 1, 1, 3, 14], [0.8, 0.2, 0.8, 0.25, 0.15, 0.05]),
        "brass": (core.fm_brass_synth, [1, 1, 1, 1, 3.2, 8.5], [0.9, 0.3, 0.25, 0.2, 0.1, 0.05]),
        "flute": (core.fm_flute_synth, [1, 1, 1, 2, 2, 1.5], [0.9, 0.1, 0.12, 0.08, 0.1, 0.06]),
    }
    out = {"sample_rate": sr, "f0": f0, "max_ol": max_ol, "samples": n, "patches": {}}
    for name, (synth, ratios, levels) in patches.items():
        pitch = torch.full((1, n, 1), f0)
        ol = torch.tensor(levels).reshape(1, 1, 6).repeat(1, n, 1)
        y = synth(pitch, ol, torch.tensor(ratios, dtype=torch.float64), sr, max_ol)
        out["patches"][name] = {"ratios": ratios, "levels": levels, "output": y.reshape(-1).tolist()}
    OUT.write_text(json.dumps(out))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
