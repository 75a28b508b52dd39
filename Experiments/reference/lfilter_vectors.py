#!/usr/bin/env python3
"""Reference vectors for SynthMatch's biquad and its adjoint from torchaudio.functional.lfilter
(clamp=False, float64): a static low-pass biquad (RBJ / bilinear, as LowpassDesign) on seeded
noise, N = 512; the output y and, by autograd, the gradients of L = sum(w * y) with respect to
the input, b0 and (a1, a2) for seeded weights w.

Writes Tests/SynthsTests/Fixtures/lfilter.json. Run: python3 Experiments/reference/lfilter_vectors.py
(needs torch, torchaudio, numpy)
"""
import json
import math
import pathlib

import numpy as np
import torch
import torchaudio.functional as F

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/SynthsTests/Fixtures/lfilter.json"


def main():
    n, sr, fc, q = 512, 16000.0, 1200.0, 1.4
    k = math.tan(math.pi * fc / sr)
    d = 1 + k / q + k * k
    b0, a1, a2 = k * k / d, 2 * (k * k - 1) / d, (1 - k / q + k * k) / d
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.standard_normal(n), requires_grad=True)
    w = torch.tensor(rng.standard_normal(n))
    b0t = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    at = torch.tensor([a1, a2], dtype=torch.float64, requires_grad=True)
    b = torch.stack([b0t, 2 * b0t, b0t])
    a = torch.cat([torch.ones(1, dtype=torch.float64), at])
    y = F.lfilter(x, a, b, clamp=False)
    (w * y).sum().backward()
    OUT.write_text(json.dumps({
        "fc": fc, "q": q, "sample_rate": sr, "b0": b0, "a1": a1, "a2": a2,
        "x": x.detach().tolist(), "w": w.tolist(), "y": y.detach().tolist(),
        "dx": x.grad.tolist(), "db0": b0t.grad.item(), "da1": at.grad[0].item(), "da2": at.grad[1].item(),
    }))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
