#!/usr/bin/env python3
"""Per-parameter error of the estimate (see `run`): mean normalised |error| with a 95% bootstrap
interval over targets, the constant guess 0.5 on the same targets (its error |u - 0.5| from the
true normalised value u, recovered from the dataset's parameter ranges), and the paired
difference (estimate minus constant, per target) with its interval: below zero, the network
recovers the parameter better than not looking at the audio at all."""
import csv
import json
import math
import sys

import numpy as np


def bootstrap(x, n=5000):
    x = np.asarray(x, dtype=float)
    means = np.array([np.mean(np.random.default_rng(i).choice(x, len(x))) for i in range(n)])
    return np.mean(x), np.percentile(means, 2.5), np.percentile(means, 97.5)


if sys.argv[1] == "--table":
    print("| synth | parameter | targets | estimate: mean abs error (normalised) [95% CI] | constant 0.5 | estimate minus constant, paired [95% CI] |")
    print("|---|---|---|---|---|---|")
    for path in sys.argv[2:]:
        synth = path.split("/")[-1].replace("-summary.csv", "")
        for r in sorted(csv.DictReader(open(path)), key=lambda r: -float(r["ratio"])):
            print(f"| {synth} | {r['parameter']} | {r['targets']} | {float(r['error']):.3f} [{float(r['low']):.3f}, {float(r['high']):.3f}] | "
                  f"{float(r['constant']):.3f} | {float(r['difference']):+.3f} [{float(r['difference_low']):+.3f}, {float(r['difference_high']):+.3f}] |")
    sys.exit()

rows = list(csv.DictReader(open(sys.argv[1])))
import h5py  # noqa: E402  (reads the ranges only)
specs = {p["name"]: p for p in json.loads(h5py.File(sys.argv[2], "r").attrs["parameters"])}


def normalised(name, value):
    s = specs[name]
    lo, hi, scale = s["min"], s["max"], s["scale"]
    v = min(max(value, lo), hi)
    if scale == "log":
        return math.log(v / lo) / math.log(hi / lo)
    if scale == "linear":
        return (v - lo) / (hi - lo)
    if scale.startswith("curve:"):
        return ((v - lo) / (hi - lo)) ** float(scale[6:])
    if scale.startswith("symmetric-curve:"):
        x = 2 * (v - lo) / (hi - lo) - 1
        return (math.copysign(abs(x) ** float(scale[16:]), x) + 1) / 2
    return float("nan")


by = {}
for r in rows:
    if r["method"] != "estimate":
        continue
    u = normalised(r["parameter"], float(r["true_value"]))
    by.setdefault(r["parameter"], ([], []))
    by[r["parameter"]][0].append(float(r["abs_error_normalised"]))
    by[r["parameter"]][1].append(abs(u - 0.5))
w = csv.writer(sys.stdout)
w.writerow(["parameter", "targets", "error", "low", "high", "constant", "ratio", "difference", "difference_low", "difference_high"])
for name, (errors, constant) in by.items():
    m, lo, hi = bootstrap(errors)
    c = float(np.mean(constant))
    d = bootstrap(np.asarray(errors) - np.asarray(constant))
    w.writerow([name, len(errors), f"{m:.5f}", f"{lo:.5f}", f"{hi:.5f}", f"{c:.5f}", f"{m / c:.4f}", f"{d[0]:.5f}", f"{d[1]:.5f}", f"{d[2]:.5f}"])
