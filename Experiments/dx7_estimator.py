#!/usr/bin/env python3
"""The dx7 estimator and matcher on targets never used in training (issue 15).

Targets:
  dexed:   N random voices the `dx7` module models (`dx7_voices.py`, seed 2002; the training banks
           use seed 1001, and every voice here is checked to be absent from them), algorithms drawn
           uniformly from 1-32, played by Dexed's engine (dexed-py) at a random note 48-72, velocity
           100, key held 0.3-1.5 s, 2 s at 16 kHz;
  gm:      the General MIDI test notes (`make_gm_targets.py --split test`, FluidR3: 10 instruments
           never used in training, A2/A3/A4, held 1.5 s, 4.5 s).

1. Parameter accuracy of the estimator alone (`synthmatch estimate`), as DXnet reports it
   (DXnet: a CNN reading 2 s at 8 kHz, 145 patch values; here 2 s at 16 kHz, 69 values and the
   algorithm): algorithm top-1 / top-3 accuracy (chance 1/32 and 3/32), operator ratios exactly
   right after rounding to the DX7's coarse/fine, and within a quarter tone; the same for the
   matcher's exported preset.syx. Intervals: 95% bootstrap over targets.
2. Methods at equal wall-clock budget per target (`synthmatch evaluate --synth dx7`): the matcher
   (estimate on the 3 likeliest algorithms + refinement), the estimate alone, CMA-ES and random
   search over all 70 parameters (the algorithm a dimension of their search), and gradient
   refinement from random starts (each keeping its random algorithm; Dexed targets only). Means
   with 95% bootstrap intervals; paired spectral differences to the matcher with intervals, wins,
   and a sign test.
3. "What you hear in Dexed is what the matcher found": `synthmatch match --synth dx7` writes
   preset.syx; Dexed renders it (matched note, key release, length, match's gain) and its spectral
   distance to the target is compared with match.wav's. Floor: within 10%.

    python3 Experiments/dx7_estimator.py [--voices 50] [--budget 6] [--out results/dx7]   (~40 min)
"""
import argparse
import csv
import json
import math
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
parser.add_argument("--voices", type=int, default=50)
parser.add_argument("--budget", type=float, default=6)
parser.add_argument("--seed", type=int, default=2002)
parser.add_argument("--model", default=os.path.join(root, "models", "dx7.h5"))
parser.add_argument("--gm", default=os.path.join(root, ".build", "experiments", "gm-test-fluid"))
parser.add_argument("--skip-methods", action="store_true", help="only parameter accuracy and the Dexed round trip")
parser.add_argument("--out", default=os.path.join(root, "results", "dx7"))
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
SR, SECONDS = 16000, 2.0
rng = random.Random(args.seed)
dexed = DexedSynth(SR)
work = tempfile.mkdtemp(prefix="dx7-estimator-")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def bootstrap(x, n=10000):
    x = np.asarray(x, dtype=float)
    means = np.array([np.mean(np.random.default_rng(i).choice(x, len(x))) for i in range(n)])
    return float(np.mean(x)), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def sign_test(d):
    """Two-sided sign test p-value of differences d (zeros dropped)."""
    d = [x for x in d if x != 0]
    n, k = len(d), sum(1 for x in d if x > 0)
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def fmt(m):
    return f"{m[0]:.3f} [{m[1]:.3f}, {m[2]:.3f}]"


def ratio_of(coarse, fine):
    return (0.5 if coarse == 0 else coarse) * (1 + fine / 100)


DX7_RATIOS = sorted({ratio_of(c, f) for c in range(32) for f in range(100)})


def nearest_dx7_ratio(x):
    """The DX7 ratio (coarse/fine) nearest x in log terms: what export writes."""
    return min(DX7_RATIOS, key=lambda r: abs(math.log(r / x)))


# The training voices (same generator, seed 1001, as Experiments/make_dx7_banks.py writes them).
train_rng = random.Random(1001)
training = {dx7_voices.voice_key(dx7_voices.modelled_voice_bytes(train_rng, i % 32 + 1, f"TRAIN{i:05d}")) for i in range(32000)}

# Dexed targets and their truth.
dexed_dir = os.path.join(work, "dexed")
os.makedirs(dexed_dir)
truth = {}
for j in range(args.voices):
    algorithm = rng.randint(1, 32)
    data = dx7_voices.modelled_voice_bytes(rng, algorithm, f"TEST{j:04d}")
    assert dx7_voices.voice_key(data) not in training, "an evaluation voice is in the training banks"
    note, hold = rng.randint(48, 72), rng.uniform(0.3, 1.5)
    dexed.load_patch(Patch.from_sysex(data + b"\x3f"))
    name = f"v{j:03d}-alg{algorithm}-n{note}.wav"
    soundfile.write(os.path.join(dexed_dir, name), dexed.render(note, 100, hold, SECONDS), SR, subtype="FLOAT")
    # Operator order in the data: 6 first; 21 bytes each: coarse at 18, fine at 19.
    ratios = {6 - k: ratio_of(data[21 * k + 18], data[21 * k + 19]) for k in range(6)}
    truth[name] = {"algorithm": algorithm, "ratios": ratios, "note": note, "hold": hold}
print(f"{args.voices} Dexed targets in {dexed_dir}; none in the 32,000 training voices", flush=True)

summary = []

# 1. The estimator alone.
est_csv = os.path.join(work, "estimates.csv")
run([binary, "estimate", *[os.path.join(dexed_dir, n) for n in sorted(truth)], "--synth", "dx7", "--model", args.model,
     "--top", "32", "--out", est_csv])
rows = []
for r in csv.DictReader(open(est_csv)):
    name = os.path.basename(r["target"])
    t = truth[name]
    ranked = [int(x.split(":")[0]) for x in r["algorithm_ranked"].split()]
    exact = [abs(math.log2(nearest_dx7_ratio(float(r[f"op{op}_ratio"])) / t["ratios"][op])) < 1e-6 for op in range(1, 7)]
    quarter = [abs(math.log2(float(r[f"op{op}_ratio"]) / t["ratios"][op])) < 1 / 24 for op in range(1, 7)]
    rank = ranked.index(t["algorithm"]) + 1
    rows.append({"target": name, "true_algorithm": t["algorithm"], "estimated_algorithm": ranked[0], "true_rank": rank,
                 "ratio_exact": np.mean(exact), "ratio_quarter_tone": np.mean(quarter)})
with open(os.path.join(args.out, "estimator-accuracy.csv"), "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
top1 = bootstrap([r["true_rank"] == 1 for r in rows])
top3 = bootstrap([r["true_rank"] <= 3 for r in rows])
summary.append(f"estimator, {len(rows)} Dexed targets: algorithm top-1 {fmt(top1)} (chance 0.031), top-3 {fmt(top3)} (chance 0.094), "
               f"median rank of the true algorithm {np.median([r['true_rank'] for r in rows]):.0f} of 32")
summary.append(f"estimator: operator ratios exact {fmt(bootstrap([r['ratio_exact'] for r in rows]))}, "
               f"within a quarter tone {fmt(bootstrap([r['ratio_quarter_tone'] for r in rows]))} "
               f"(a constant guess of ratio 1 is exact for 0.15 of operators in this distribution)")
print("\n".join(summary), flush=True)

# 3. Round trip through Dexed, and the matcher's parameter accuracy.
trip = []
for name in sorted(truth):
    target = os.path.join(dexed_dir, name)
    match = os.path.join(work, "m")
    subprocess.run(["rm", "-rf", match])
    run([binary, "match", target, "--synth", "dx7", "--model", args.model, "--time-limit", str(args.budget), "--out", match])
    preset = json.load(open(os.path.join(match, "preset.json")))
    note_off = next(p["value"] for p in preset["parameters"] if p["name"] == "note_off")
    raw = open(os.path.join(match, "preset.syx"), "rb").read()[6:161]
    patch = Patch.from_sysex(raw + b"\x3f")
    dexed.load_patch(patch)
    played = dexed.render(preset["note"], 100, note_off, preset["duration_seconds"]) * 10 ** (preset["gain_db"] / 20)
    played_path = os.path.join(work, "played.wav")
    soundfile.write(played_path, played, SR, subtype="FLOAT")
    ours = float(run([binary, "distance", os.path.join(match, "match.wav"), target]).stdout)
    theirs = float(run([binary, "distance", played_path, target]).stdout)
    t = truth[name]
    ratios = {6 - k: ratio_of(raw[21 * k + 18], raw[21 * k + 19]) for k in range(6)}
    trip.append({"target": name, "target_peak": float(np.abs(soundfile.read(target)[0]).max()),
                 "true_algorithm": t["algorithm"], "matched_algorithm": raw[134] + 1,
                 "ratio_exact": np.mean([abs(math.log2(ratios[op] / t["ratios"][op])) < 1e-6 for op in range(1, 7)]),
                 "match_wav_vs_target": ours, "dexed_preset_syx_vs_target": theirs, "ratio": theirs / ours})
with open(os.path.join(args.out, "estimator-roundtrip.csv"), "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(trip[0])); w.writeheader(); w.writerows(trip)
ratios = np.array([r["ratio"] for r in trip])
summary.append(f"matcher (match --synth dx7, {args.budget:g} s), {len(trip)} Dexed targets: algorithm right "
               f"{fmt(bootstrap([r['true_algorithm'] == r['matched_algorithm'] for r in trip]))}, operator ratios exact "
               f"{fmt(bootstrap([r['ratio_exact'] for r in trip]))}")
summary.append(f"Dexed playing preset.syx vs match.wav, distance to the target: ratio median {np.median(ratios):.3f} "
               f"(10/90%: {np.percentile(ratios, 10):.3f} {np.percentile(ratios, 90):.3f}, max {ratios.max():.3f}); "
               f"no more than 10% farther: {int(np.sum(ratios <= 1.1))} of {len(ratios)}")
print("\n".join(summary[-2:]), flush=True)

# 2. Methods at equal time.
if not args.skip_methods:
    sets = [("dexed", dexed_dir, "matcher,estimate,gradient,cmaes,random")]
    if os.path.isdir(args.gm):
        sets.append(("gm-fluid", args.gm, "matcher,estimate,cmaes,random"))
    else:
        summary.append(f"GM targets skipped: {args.gm} missing (python3 Experiments/make_gm_targets.py {args.gm} --split test)")
    for label, folder, methods in sets:
        out = os.path.join(args.out, f"eval-dx7-{label}")
        run([binary, "evaluate", "--synth", "dx7", "--model", args.model, "--targets", folder, "--methods", methods,
             "--budget", str(args.budget), "--out", out, "--quiet"])
        by = {}
        for r in csv.DictReader(open(out + ".csv")):
            by.setdefault(r["method"], {})[r["target"]] = float(r["spectral"])
        for method in methods.split(","):
            summary.append(f"{label}: {method} spectral distance {fmt(bootstrap(list(by[method].values())))} over {len(by[method])} targets")
        for method in methods.split(","):
            if method == "matcher":
                continue
            d = [by[method][t] - by["matcher"][t] for t in by["matcher"] if t in by[method]]
            wins = sum(1 for x in d if x > 0)
            summary.append(f"{label}: {method} minus matcher {fmt(bootstrap(d))}; matcher better on {wins} of {len(d)}, sign test p = {sign_test(d):.2g}")
text = "\n".join(summary)
open(os.path.join(args.out, "estimator-summary.txt"), "w").write(text + "\n")
print(text)
