#!/usr/bin/env python3
"""Prints the README's matching tables from results/matching/*-summary.csv (Experiments/evaluate_matching):
one row per synth, target set and method, each mean with its 95% bootstrap interval over targets."""
import csv
import glob
import os


def cell(r, name, digits):
    mean, low, high = r.get(name, ""), r.get(name + "_low", ""), r.get(name + "_high", "")
    if mean == "":
        return "-"
    return f"{float(mean):.{digits}f} [{float(low):.{digits}f}, {float(high):.{digits}f}]"


rows = []
for path in sorted(glob.glob("results/matching/*-summary.csv")):
    name = os.path.basename(path)[: -len("-summary.csv")]
    with open(path) as f:
        reader = csv.DictReader(f)
        if "spectral_low" not in (reader.fieldnames or []):
            continue   # an older summary without intervals
        synth, _, targets = name.partition("-")
        for r in reader:
            rows.append((synth, targets, r))

print("| synth | targets | method | spectral | LSD all bins (dB) | right note | envelope corr | release error (dB) | centroid ratio | matcher better (of targets) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for synth, targets, r in rows:
    better = r.get("matcher_better_count", "")
    print(f"| {synth} | {targets} ({r['targets']}, {float(r['budget_s']):.0f} s) | {r['method']} | {cell(r, 'spectral', 3)} | "
          f"{cell(r, 'lsd_all_db', 2)} | {cell(r, 'right_note', 2)} | {cell(r, 'envelope_corr', 3)} | "
          f"{cell(r, 'release_error_db', 1)} | {cell(r, 'centroid_ratio', 2)} | {better or '-'} |")
print()
print("Paired spectral difference to the matcher (method minus matcher; > 0: the matcher is better):")
print("| synth | targets | method | difference [95% CI] |")
print("|---|---|---|---|")
for synth, targets, r in rows:
    if r.get("spectral_minus_matcher", ""):
        print(f"| {synth} | {targets} | {r['method']} | {cell(r, 'spectral_minus_matcher', 3)} |")
print()
print("The matcher's pitch per target set (from the per-target CSVs): targets at the right note (|error| < 50 cents) and the median |pitch error|:")
print("| synth | targets | right note | median abs pitch error (cents) |")
print("|---|---|---|---|")
import statistics
for path in sorted(glob.glob("results/matching/*.csv")):
    name = os.path.basename(path)[: -len(".csv")]
    if name.endswith("-summary") or name.endswith("-training") or "-" not in name or name.startswith("joint"):
        continue
    synth, _, targets = name.partition("-")
    with open(path) as f:
        matched = [r for r in csv.DictReader(f) if r.get("method") == "matcher" and r.get("right_note", "") != ""]
    if not matched:
        continue
    right = sum(1 for r in matched if float(r["right_note"]) == 1)
    errors = [abs(float(r["pitch_error_cents"])) for r in matched]
    print(f"| {synth} | {targets} | {right}/{len(matched)} | {statistics.median(errors):.2f} |")
