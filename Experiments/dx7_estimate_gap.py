#!/usr/bin/env python3
"""Why the dx7 estimate alone scores so far from Dexed's notes: the same voices played by Dexed and
by our engine emulation (`synthmatch render --syx`), the estimator's guess scored against each
(`evaluate --methods estimate`) and its algorithm ranking on each. Random voices the module models
(`dx7_voices.py`, seed 3003), notes 48-72, held 0.3-1.5 s, 2 s at 16 kHz. ~1 min.

    python3 Experiments/dx7_estimate_gap.py [--voices 64] [--out results/dx7]
"""
import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import soundfile
from dexed import DexedSynth, Patch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dx7_voices  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = os.path.join(root, ".build", "release", "synthmatch")
parser = argparse.ArgumentParser()
parser.add_argument("--voices", type=int, default=64)
parser.add_argument("--seed", type=int, default=3003)
parser.add_argument("--model", default=os.path.join(root, "models", "dx7.h5"))
parser.add_argument("--out", default=os.path.join(root, "results", "dx7"))
args = parser.parse_args()
rng = random.Random(args.seed)
dexed = DexedSynth(16000)
work = tempfile.mkdtemp(prefix="dx7-gap-")
folders = {"dexed": os.path.join(work, "dexed"), "engine": os.path.join(work, "engine")}
for f in folders.values():
    os.makedirs(f)
lines = []
for bank in range(0, args.voices, 32):
    voices, plays = [], []
    for j in range(bank, min(bank + 32, args.voices)):
        algorithm = rng.randint(1, 32)
        voices.append(dx7_voices.modelled_voice(rng, algorithm))
        plays.append((j, algorithm, rng.randint(48, 72), rng.uniform(0.3, 1.5)))
    syx = os.path.join(work, f"bank{bank}.syx")
    Patch.save_to_bank(syx, voices + voices[:1] * (32 - len(voices)))
    for k, (j, algorithm, note, hold) in enumerate(plays):
        name = f"v{j:03d}-alg{algorithm}.wav"
        dexed.load_patch(voices[k])
        soundfile.write(os.path.join(folders["dexed"], name), dexed.render(note, 100, hold, 2.0), 16000, subtype="FLOAT")
        subprocess.run([binary, "render", "--syx", syx, "--voice", str(k + 1), "--note", str(note), "--hold", str(hold), "--duration", "2",
                        "--sample-rate", "16000", "--out", os.path.join(folders["engine"], name)], check=True, capture_output=True)
for label, folder in folders.items():
    out = os.path.join(work, f"eval-{label}")
    subprocess.run([binary, "evaluate", "--synth", "dx7", "--model", args.model, "--targets", folder, "--methods", "estimate",
                    "--budget", "1", "--out", out, "--quiet"], check=True, capture_output=True)
    spectral = [float(r["spectral"]) for r in csv.DictReader(open(out + ".csv"))]
    est = os.path.join(work, f"est-{label}.csv")
    files = sorted(os.listdir(folder))
    subprocess.run([binary, "estimate", *[os.path.join(folder, f) for f in files], "--synth", "dx7", "--model", args.model,
                    "--top", "32", "--out", est], check=True, capture_output=True)
    ranks = []
    for r in csv.DictReader(open(est)):
        truth = int(os.path.basename(r["target"]).split("-alg")[1].split(".")[0])
        ranks.append([int(x.split(":")[0]) for x in r["algorithm_ranked"].split()].index(truth) + 1)
    ranks = np.array(ranks)
    lines.append(f"{label} renders of {len(files)} voices: estimate's spectral distance mean {np.mean(spectral):.2f} "
                 f"(median {np.median(spectral):.2f}); true algorithm first {np.mean(ranks == 1):.3f}, in the first three "
                 f"{np.mean(ranks <= 3):.3f}, median rank {np.median(ranks):.0f} of 32")
text = "\n".join(lines)
open(os.path.join(args.out, "estimate-gap.txt"), "w").write(text + "\n")
print(text)
