#!/usr/bin/env python3
"""Reference vectors for SynthMatch's spectral losses.

Writes Tests/MatchingTests/Fixtures/spectral_loss/: the two seeded test signals, and for
each preset the loss value and its gradient with respect to the prediction (float64):

- auraloss.freq.MultiResolutionSTFTLoss() at its defaults (the library itself);
- the same with scale='mel', n_bins=128, sample_rate=16000 (librosa filterbank);
- magenta/ddsp losses.SpectralLoss(mag_weight=1, logmag_weight=1): a float64 torch port
  of its formula (tf.signal.stft with pad_end=True, |.|, ddsp.core.safe_log, L1 means
  summed over FFT sizes 2048..64, hop size/4), since TensorFlow is not installed here.

Arrays are raw little-endian float64 (.f64); scalars and shapes go to vectors.json.
Run: python3 Experiments/reference/spectral_loss_vectors.py  (needs torch, auraloss, librosa)
"""
import json
import pathlib

import auraloss
import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/MatchingTests/Fixtures/spectral_loss"
SR = 16000
N = 4096


def signals():
    rng = np.random.default_rng(1234)
    t = np.arange(N) / SR
    prediction = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(N)
    target = 0.4 * np.sin(2 * np.pi * 445 * t + 0.3) + 0.2 * np.sin(2 * np.pi * 890 * t) + 0.05 * rng.standard_normal(N)
    return prediction, target


def ddsp_spectral_loss(x, y):
    """Port of ddsp.losses.SpectralLoss(loss_type='L1', mag_weight=1, logmag_weight=1)."""
    def safe_log(v, eps=1e-5):
        return torch.log(torch.where(v <= 0.0, torch.full_like(v, eps), v))

    def mag(sig, size):
        hop = size // 4  # overlap 0.75
        frames = -(-sig.shape[-1] // hop)  # tf.signal.frame(pad_end=True)
        padded = torch.nn.functional.pad(sig, (0, (frames - 1) * hop + size - sig.shape[-1]))
        framed = padded.unfold(-1, size, hop)
        window = torch.hann_window(size, periodic=True, dtype=sig.dtype)
        return torch.abs(torch.fft.rfft(framed * window, n=size))

    loss = 0.0
    for size in (2048, 1024, 512, 256, 128, 64):
        sx, sy = mag(x, size), mag(y, size)
        loss = loss + torch.mean(torch.abs(sy - sx)) + torch.mean(torch.abs(safe_log(sy) - safe_log(sx)))
    return loss


def value_and_grad(fn, prediction, target):
    x = torch.tensor(prediction, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(target, dtype=torch.float64)
    loss = fn(x, y)
    loss.backward()
    return float(loss.detach()), x.grad.numpy().astype("<f8")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    prediction, target = signals()
    prediction.astype("<f8").tofile(OUT / "prediction.f64")
    target.astype("<f8").tofile(OUT / "target.f64")

    aura = auraloss.freq.MultiResolutionSTFTLoss()
    # The filterbank is a float32 buffer; .double() keeps the whole computation in float64.
    aura_mel = auraloss.freq.MultiResolutionSTFTLoss(scale="mel", n_bins=128, sample_rate=SR).double()
    # auraloss keeps each STFT window as a float32 attribute (not a buffer), so .double()
    # misses it, and casting it keeps float32 rounding (1.4e-7): recompute it in float64.
    for loss in (aura, aura_mel):
        for single in loss.stft_losses:
            single.window = torch.hann_window(single.win_length, dtype=torch.float64)
    presets = {
        "auraloss": lambda x, y: aura(x.view(1, 1, -1), y.view(1, 1, -1)),
        "auraloss_mel": lambda x, y: aura_mel(x.view(1, 1, -1), y.view(1, 1, -1)),
        "ddsp": lambda x, y: ddsp_spectral_loss(x.view(1, -1), y.view(1, -1)),
    }
    summary = {"sample_rate": SR, "samples": N, "presets": {}}
    for name, fn in presets.items():
        value, grad = value_and_grad(fn, prediction, target)
        grad.tofile(OUT / f"{name}_gradient.f64")
        summary["presets"][name] = {"loss": value}
        print(f"{name}: loss {value:.9g}, |grad| {np.linalg.norm(grad):.6g}")
    summary["versions"] = {"torch": torch.__version__, "auraloss": getattr(auraloss, "__version__", "unknown")}
    (OUT / "vectors.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
