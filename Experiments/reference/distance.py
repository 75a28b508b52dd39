#!/usr/bin/env python3
"""The reference libraries' distance between two files, to compare with
`synthmatch distance A B --loss ddsp|auraloss|mel` (same conventions: mono mean, first
min(len) samples; both files must already share a sample rate).

Run: python3 Experiments/reference/distance.py A.wav B.wav [--loss auraloss]
"""
import argparse
import pathlib
import sys

import auraloss
import soundfile
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from spectral_loss_vectors import ddsp_spectral_loss  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--loss", choices=["ddsp", "auraloss", "mel"], default="ddsp")
    args = parser.parse_args()
    (x, rx), (y, ry) = soundfile.read(args.a, always_2d=True), soundfile.read(args.b, always_2d=True)
    if rx != ry:
        sys.exit(f"sample rates differ ({rx} vs {ry}); resample first")
    n = min(len(x), len(y))
    x = torch.tensor(x[:n].mean(axis=1)).view(1, 1, -1)
    y = torch.tensor(y[:n].mean(axis=1)).view(1, 1, -1)
    if args.loss == "ddsp":
        value = ddsp_spectral_loss(x.view(1, -1), y.view(1, -1))
    else:
        kwargs = {"scale": "mel", "n_bins": 128, "sample_rate": rx} if args.loss == "mel" else {}
        loss = auraloss.freq.MultiResolutionSTFTLoss(**kwargs).double()
        for single in loss.stft_losses:
            single.window = torch.hann_window(single.win_length, dtype=torch.float64)
        value = loss(x, y)
    print(f"{float(value):.9g}")


if __name__ == "__main__":
    main()
