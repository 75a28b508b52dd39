#!/usr/bin/env python3
"""Prints the README's matching table from results/matching/*-summary.csv (one row per synth,
target set and method: mean spectral distance, LSD, MCD, parameter MAE, times best)."""
import csv
import glob
import os

rows = []
for path in sorted(glob.glob("results/matching/*-summary.csv")):
    name = os.path.basename(path)[: -len("-summary.csv")]
    synth, _, targets = name.rpartition("-")
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append((synth, targets, r))

print("| synth | targets | method | spectral | LSD (dB) | MCD (dB) | param MAE | best of methods |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for synth, targets, r in rows:
    mae = float(r["param_mae"])
    mae_text = "-" if mae != mae else f"{mae:.3f}"
    count = r["targets"]
    best = r["best_spectral_count"] if r["method"] != "estimate" else "-"
    print(f"| {synth} | {targets} ({count}, {float(r['budget_s']):.0f} s) | {r['method']} | {float(r['spectral']):.3f} | "
          f"{float(r['lsd_db']):.2f} | {float(r['mcd_db']):.2f} | {mae_text} | {best} |")
