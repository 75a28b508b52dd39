#!/usr/bin/env python3
"""Reference values for Tests/MatchingTests/StandardMetricsTests.swift: the standard distances
of `StandardMetrics` computed with librosa, scipy and numpy on three signal pairs (16 kHz, 6000
samples, float32, written as metrics-signals.f32: pair i's prediction then its target).

- MCD (Kubichek 1993; SPTK-convention mel-cepstra): librosa.stft (1024, hop 256, centred,
  reflect), librosa.filters.mel (40 Slaney bands), c_d = DCT-II(ln sqrt(mel power + 1e-6))_d / M
  (scipy, unnormalised), d = 1..12, (10 / ln 10) sqrt(2 sum (dc)^2) per frame, mean;
- LSD over all bins and frames (Masuda & Saito 2023's form): same STFT, 10 log10 of
  (power + 1e-8) ratios, root of the mean square;
- spectral convergence as auraloss's SpectralConvergenceLoss, mean over auraloss's three default
  resolutions (librosa.stft with the window centred in the FFT, as torch.stft);
- MFCC L1 as spiegelib's MFCCEval: librosa.feature.mfcc(n_fft=2048, hop_length=512, n_mfcc=20),
  mean |difference|.

    python3 Experiments/reference/metric_vectors.py Tests/MatchingTests/Fixtures/metrics
"""
import json
import os
import sys

import librosa
import numpy as np
import scipy.fft

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/MatchingTests/Fixtures/metrics"
os.makedirs(out, exist_ok=True)
SR, N = 16000, 6000
t = np.arange(N) / SR
rng = np.random.default_rng(7)
env = np.exp(-3 * t)
pairs = [
    (0.5 * np.sin(2 * np.pi * 220 * t) * env, 0.5 * np.sin(2 * np.pi * 233 * t) * env),                      # a semitone apart
    (0.3 * np.sin(2 * np.pi * 440 * t + 2 * np.sin(2 * np.pi * 880 * t)), 0.3 * np.sin(2 * np.pi * 440 * t)),  # FM against a sine
    (0.2 * rng.standard_normal(N) * env, 0.4 * np.sign(np.sin(2 * np.pi * 110 * t)) * np.minimum(1, t * 20)),  # noise against a square
]
signals = np.concatenate([np.concatenate([p.astype(np.float32), q.astype(np.float32)]) for p, q in pairs]).astype("<f4")
signals.tofile(os.path.join(out, "metrics-signals.f32"))


def power(x, n_fft, hop, win=None):
    return np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop, win_length=win, window="hann", center=True, pad_mode="reflect")) ** 2


def mcd(x, y):
    bank = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=40)
    def cep(s):
        log_amplitude = 0.5 * np.log(bank @ power(s, 1024, 256) + 1e-6)         # (40, frames)
        return scipy.fft.dct(log_amplitude, type=2, axis=0)[1:13] / 40
    d = cep(x) - cep(y)
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * np.sum(d ** 2, axis=0))))


def lsd_all(x, y):
    px, py = power(x, 1024, 256), power(y, 1024, 256)
    return float(np.sqrt(np.mean((10 * np.log10((px + 1e-8) / (py + 1e-8))) ** 2)))


def spectral_convergence(x, y):
    values = []
    for fft, hop, win in [(1024, 120, 600), (2048, 240, 1200), (512, 50, 240)]:
        mx, my = np.sqrt(np.maximum(power(x, fft, hop, win), 1e-8)), np.sqrt(np.maximum(power(y, fft, hop, win), 1e-8))
        values.append(np.linalg.norm(my - mx) / np.linalg.norm(my))
    return float(np.mean(values))


def mfcc_l1(x, y):
    m = lambda s: librosa.feature.mfcc(y=s, sr=SR, n_fft=2048, hop_length=512, n_mfcc=20)
    return float(np.mean(np.abs(m(y) - m(x))))


vectors = []
for p, q in pairs:
    x, y = p.astype(np.float32).astype(np.float64), q.astype(np.float32).astype(np.float64)
    vectors.append({"mcd_db": mcd(x, y), "lsd_all_db": lsd_all(x, y), "spectral_convergence": spectral_convergence(x, y), "mfcc_l1": mfcc_l1(x, y)})
json.dump({"sample_rate": SR, "samples": N, "librosa": librosa.__version__, "pairs": vectors}, open(os.path.join(out, "metrics.json"), "w"), indent=1)
print(json.dumps(vectors, indent=1))
