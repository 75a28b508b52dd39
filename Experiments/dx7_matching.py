#!/usr/bin/env python3
"""Matching Dexed-rendered notes into DX7 patches (issue 15), without an estimator yet.

Targets: N random voices per algorithm (1, 5, 16 by default) whose settings the `dx7` module
models (random levels, rates, ratios 0.5-4.x, detune, feedback; no keyboard scaling,
sensitivities, fixed frequency, pitch EG or LFO), each played by Dexed's engine (dexed-py) at a
random note 48-72, velocity 100, key held 0.6 s, 1.0 s at 16 kHz. None of these voices is used
for anything else.

1. `synthmatch evaluate --synth dx7-algN --methods gradient,cmaes,random` at equal wall-clock
   budget per target (gradient = refinement from random starts, what `match --no-model` runs);
   paired spectral differences with 95% bootstrap intervals over targets.
2. "What you hear in Dexed is what the matcher found": `synthmatch match --no-model` writes
   preset.syx; Dexed renders it (at the matched note, key release and length, with match's
   loudness gain) and its spectral distance to the target is compared with that of match.wav.

    python3 Experiments/dx7_matching.py [--voices 10] [--budget 6] [--algorithms 1 5 16] [--out results/dx7]
"""
import argparse
import csv
import json
import os
import random
import subprocess
import tempfile

import numpy as np
import soundfile
from dexed import DexedSynth, Patch

import dx7_voices

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = os.path.join(root, ".build", "release", "synthmatch")
parser = argparse.ArgumentParser()
parser.add_argument("--voices", type=int, default=10)
parser.add_argument("--budget", type=float, default=6)
parser.add_argument("--algorithms", type=int, nargs="+", default=[1, 5, 16])
parser.add_argument("--seed", type=int, default=3)
parser.add_argument("--out", default=os.path.join(root, "results", "dx7"))
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
SR = 16000
rng = random.Random(args.seed)
dexed = DexedSynth(SR)
work = tempfile.mkdtemp(prefix="dx7-matching-")


def modelled_voice(algorithm):
    return dx7_voices.modelled_voice(rng, algorithm)


def distance(a, b):
    r = subprocess.run([binary, "distance", a, b], check=True, capture_output=True, text=True)
    return float(r.stdout.strip())


def bootstrap(x, n=10000):
    x = np.asarray(x)
    means = [np.mean(np.random.default_rng(i).choice(x, len(x))) for i in range(n)]
    return np.mean(x), np.percentile(means, 2.5), np.percentile(means, 97.5)


summary, roundtrip_rows = [], []
for algorithm in args.algorithms:
    folder = os.path.join(work, f"alg{algorithm}")
    os.makedirs(folder)
    for j in range(args.voices):
        voice, note = modelled_voice(algorithm), rng.randint(48, 72)
        dexed.load_patch(voice)
        soundfile.write(os.path.join(folder, f"v{j:02d}-n{note}.wav"), dexed.render(note, 100, 0.6, 1.0), SR, subtype="FLOAT")
    # 1. Methods at equal time.
    out = os.path.join(args.out, f"eval-alg{algorithm}")
    subprocess.run([binary, "evaluate", "--synth", f"dx7-alg{algorithm}", "--targets", folder, "--methods", "gradient,cmaes,random",
                    "--budget", str(args.budget), "--out", out, "--quiet"], check=True, capture_output=True)
    rows = list(csv.DictReader(open(out + ".csv")))
    by = {}
    for r in rows:
        by.setdefault(r["method"], {})[r["target"]] = float(r["spectral"])
    for other in ("cmaes", "random"):
        d = [by[other][t] - by["gradient"][t] for t in by["gradient"] if t in by[other]]
        m, lo, hi = bootstrap(d)
        summary.append(f"algorithm {algorithm}: spectral distance {other} minus gradient (refinement from random starts), "
                       f"{len(d)} targets: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    for method in by:
        m, lo, hi = bootstrap(list(by[method].values()))
        summary.append(f"algorithm {algorithm}: {method} spectral distance {m:.3f} [{lo:.3f}, {hi:.3f}]")
    # 2. Dexed plays the exported voice.
    for name in sorted(os.listdir(folder)):
        target = os.path.join(folder, name)
        match = os.path.join(work, "m")
        subprocess.run(["rm", "-rf", match])
        subprocess.run([binary, "match", target, "--synth", f"dx7-alg{algorithm}", "--no-model", "--time-limit", str(args.budget),
                        "--out", match], check=True, capture_output=True)
        preset = json.load(open(os.path.join(match, "preset.json")))
        note_off = next(p["value"] for p in preset["parameters"] if p["name"] == "note_off")
        patch = Patch.from_sysex(open(os.path.join(match, "preset.syx"), "rb").read()[6:161] + b"\x3f")
        dexed.load_patch(patch)
        played = dexed.render(preset["note"], 100, note_off, preset["duration_seconds"]) * 10 ** (preset["gain_db"] / 20)
        played_path = os.path.join(work, "played.wav")
        soundfile.write(played_path, played, SR, subtype="FLOAT")
        ours, theirs = distance(os.path.join(match, "match.wav"), target), distance(played_path, target)
        roundtrip_rows.append([algorithm, name, ours, theirs, theirs / ours])
with open(os.path.join(args.out, "roundtrip.csv"), "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["algorithm", "target", "match_wav_vs_target", "dexed_preset_syx_vs_target", "ratio"]); w.writerows(roundtrip_rows)
ratios = np.array([r[4] for r in roundtrip_rows])
summary.append(f"Dexed playing preset.syx vs match.wav, distance to the target: ratio median {np.median(ratios):.3f} "
               f"(10/90%: {np.percentile(ratios, 10):.3f} {np.percentile(ratios, 90):.3f}, max {ratios.max():.3f}); "
               f"within 10% either way: {np.mean(np.abs(ratios - 1) <= 0.1) * 100:.0f}% of {len(ratios)}; "
               f"no more than 10% farther: {np.mean(ratios <= 1.1) * 100:.0f}%")
text = "\n".join(summary)
open(os.path.join(args.out, "matching-summary.txt"), "w").write(text + "\n")
print(text)
