"""Reference values of DiffMoog's spectrogram losses (presets mss_magnitude, mss_cumsum_time,
mss_cumsum_freq of its src/model/loss/spectral_loss.py), computed with torch as DiffMoog computes
them (torchaudio.transforms.Spectrogram(n_fft, hop=n_fft // 4, power=2) is torch.stft with a
periodic Hann window, centred, reflect-padded, |.|^2), for six signal pairs of its naive
waveforms. `bench pitch-ranking --check-reference` compares SynthMatch's re-implementation
with these values (relative 1e-6). Needs torch (Experiments/peers/setup makes a venv).

    python Experiments/reference/diffmoog_loss_vectors.py Experiments/reference/diffmoog_loss_vectors.json
"""
import json
import math
import sys

import torch

N = 16000


def wave(kind, amp, freq, phase):
    t = torch.linspace(0, 1, N, dtype=torch.float64)
    if kind == "sine":
        return amp * torch.sin(2 * math.pi * freq * t + phase)
    if kind == "square":
        return amp * torch.sign(torch.sin(2 * math.pi * freq * t + phase))
    saw = 2 * (t * freq - torch.floor(0.5 + t * freq))
    saw = (((saw + 1) / 2) + phase / (2 * math.pi)) % 1
    return amp * (saw * 2 - 1)


def loss(pred, target, transform):
    total = 0.0
    for n in (2048, 1024, 512, 256, 128, 64):
        w = torch.hann_window(n, dtype=torch.float64)
        sp = torch.stft(pred, n, hop_length=n // 4, window=w, center=True, pad_mode="reflect", return_complex=True).abs() ** 2
        st = torch.stft(target, n, hop_length=n // 4, window=w, center=True, pad_mode="reflect", return_complex=True).abs() ** 2
        if transform == "time":
            sp, st = torch.cumsum(sp, dim=1), torch.cumsum(st, dim=1)  # [freq, time]: time is dim 1 unbatched
        elif transform == "frequency":
            sp, st = torch.cumsum(sp, dim=0), torch.cumsum(st, dim=0)
        total += (sp - st).abs().mean().item()
    return total


def main():
    cases = []
    for kind in ("sine", "square", "sawtooth"):
        for pred, target in (((0.3, 466.0, 1.0), (0.5, 440.0, 0.3)), ((0.05, 97.0, 2.5), (0.8, 3100.0, 0.0))):
            p, t = wave(kind, *pred).float().double(), wave(kind, *target).float().double()
            cases.append({"waveform": kind, "prediction": pred, "target": target,
                          "identity": loss(p, t, "identity"), "time": loss(p, t, "time"), "frequency": loss(p, t, "frequency")})
    with open(sys.argv[1], "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main()
