#!/usr/bin/env python3
"""Reference levels for results/frequency_paper (Hayes et al. 2023's metrics on their target
distribution): what the metrics give with no optimisation at all, so the study's numbers can be
read against chance.
- random guess: K frequencies drawn as the starts are (U[0.05, 0.45]), scored by the frequency
  MSE after the optimal assignment (sorted pairing), in dB;
- silence: the spectral MSE (forward-normalised rfft magnitudes) of a zero prediction, in dB.
2,000 draws per K (numpy seed 0), medians with the 10th-90th percentiles. ~10 s.
Usage: python3 Experiments/frequency_paper_chance.py"""
import numpy as np

N, DRAWS = 4096, 2000
rng = np.random.default_rng(0)
n = np.arange(N)
print("K | random guess: frequency MSE (dB), median [10%, 90%] | silence: spectral MSE (dB), median [10%, 90%]")
for k in (2, 8, 32):
    freq_db, silent_db = [], []
    for _ in range(DRAWS):
        f = rng.uniform(0.05, 0.45, k)
        a = rng.uniform(0.1, 1.0, k)
        a /= a.sum()
        guess = rng.uniform(0.05, 0.45, k)
        freq_db.append(10 * np.log10(np.mean((np.sort(f) - np.sort(guess)) ** 2)))
        if len(silent_db) < 200:   # the FFTs are the slow part; 200 targets suffice for the level
            y = (a[:, None] * np.cos(2 * np.pi * f[:, None] * n[None, :])).sum(0)
            m = np.abs(np.fft.rfft(y, norm="forward"))
            silent_db.append(10 * np.log10(np.mean(m ** 2)))
    q = lambda x: f"{np.median(x):.1f} [{np.percentile(x, 10):.1f}, {np.percentile(x, 90):.1f}]"
    print(f"{k} | {q(freq_db)} | {q(silent_db)}")
