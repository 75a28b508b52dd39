#!/usr/bin/env python3
"""Writes BANKS 32-voice DX7 banks of random voices the `dx7` module models (all 32 algorithms,
equally often; `dx7_voices.py`), the training material of the shipped dx7 estimator.

    python3 Experiments/make_dx7_banks.py OUT_DIR [--banks 1000] [--seed 1001]
"""
import argparse
import os
import random

from dexed import Patch

import dx7_voices

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--banks", type=int, default=1000)
parser.add_argument("--seed", type=int, default=1001)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
rng = random.Random(args.seed)
for b in range(args.banks):
    voices = [dx7_voices.modelled_voice(rng, (b * 32 + i) % 32 + 1, f"TRAIN{b * 32 + i:05d}") for i in range(32)]
    Patch.save_to_bank(os.path.join(args.out, f"train-{b:04d}.syx"), voices)
print(f"{args.banks} banks ({args.banks * 32} voices) in {args.out}")
