#!/usr/bin/env python3
"""Reference vectors for SynthMatch's DSP core, from the reference libraries themselves:
librosa.filters.mel (auraloss's mel scale) and torch.nn.functional.interpolate (the
frame-to-sample rules of DDX7/NEWT/diffsynth and torchsynth).

Writes Tests/DSPTests/Fixtures/dsp_vectors.json.
Run: python3 Experiments/reference/dsp_vectors.py  (needs numpy, torch, librosa)
"""
import json
import pathlib

import librosa
import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/DSPTests/Fixtures/dsp_vectors.json"


def main():
    mel = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, dtype=np.float64)
    frames = np.array([0.3, -1.0, 2.5, 0.7, 0.0, 1.2])
    x = torch.tensor(frames).view(1, 1, -1)
    half_pixel = torch.nn.functional.interpolate(x, size=50, mode="linear", align_corners=False).view(-1)
    corners = torch.nn.functional.interpolate(x, size=50, mode="linear", align_corners=True).view(-1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "mel": {"sample_rate": 16000, "fft_size": 512, "bands": 40, "weights": mel.tolist()},
        "interpolate": {"frames": frames.tolist(), "samples": 50,
                        "half_pixel": half_pixel.tolist(), "align_corners": corners.tolist()},
    }) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
