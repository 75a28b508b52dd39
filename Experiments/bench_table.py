#!/usr/bin/env python3
"""Prints the README's speed tables (markdown) from the CSVs Experiments/throughput writes:
results/bench/synths.csv and synths_haswell.csv (per module, real-time factors, 1 and 2 cores)."""
import csv
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "results/bench"
MODULES = ["harmonic-bank", "adsr", "subtractive", "subtractive-iir", "fm", "fm-alg4", "ddx7-strings", "modal", "modal-noise",
           "modal-fft", "wavetable", "wavetable-fixed", "waveshaper", "newt", "newt-fast", "naive-fm"]


def load(name):
    path = ROOT / name
    if not path.exists():
        return {}
    return {(r["module"], r["setting"], r["pass"], r["threads"]): r for r in csv.DictReader(path.open())}


def main():
    portable, haswell = load("synths.csv"), load("synths_haswell.csv")
    print("| module | pass | 1 core | 2 cores | 1 core, haswell | 2 cores, haswell | 1 core vs naive FM |")
    print("|---|---|---|---|---|---|---|")
    for m in MODULES:
        setting = "random" if m == "harmonic-bank" else "default"
        for p in ["forward", "forward+backward"]:
            k1, k2 = (m, setting, p, "1"), (m, setting, p, "2")
            if k1 not in portable:
                continue
            def rtf(d, k):
                return f"{float(d[k]['realtime_factor']):.0f}" if k in d else "-"
            ratio = float(portable[k1]["ratio_vs_naive_fm_forward"])
            print(f"| {m} | {p} | {rtf(portable, k1)} | {rtf(portable, k2)} | {rtf(haswell, k1)} | {rtf(haswell, k2)} | {ratio:.2f} |")
    print()
    print("Low f0 (32 Hz: every harmonic below Nyquist sounds), forward+backward, 1 core:")
    for m in ["subtractive", "subtractive-iir"]:
        k = (m, "f0=32Hz", "forward+backward", "1")
        if k in portable:
            print(f"- {m}: {float(portable[k]['realtime_factor']):.0f}x" + (f" ({float(haswell[k]['realtime_factor']):.0f}x haswell)" if k in haswell else ""))


if __name__ == "__main__":
    main()
