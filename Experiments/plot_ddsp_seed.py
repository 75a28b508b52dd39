#!/usr/bin/env python3
"""SVG loss curves for the DDSP seed study, with no plotting library: one plot per target,
one line per run (fixed f0 and each learned-f0 start), log-scaled loss against step.

Run: python3 Experiments/plot_ddsp_seed.py results/ddsp_seed [more result folders]
"""
import csv
import math
import pathlib
import sys

COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [int(r["step"]) for r in rows], [float(r["loss"]) for r in rows]


def plot(folder, target, runs):
    w, h, pad = 640, 360, 50
    series = [(name, *read(path)) for name, path in runs]
    max_step = max(max(s[1]) for s in series)
    lo = min(min(v for v in s[2] if v > 0) for s in series)
    hi = max(max(s[2]) for s in series)
    lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-9:
        hi = lo + 1

    def xy(step, value):
        x = pad + (w - 2 * pad) * step / max(max_step, 1)
        y = h - pad - (h - 2 * pad) * (math.log10(max(value, 1e-12)) - lo) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{target}: multi-scale spectral loss</text>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">Adam step (0..{max_step})</text>',
             f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" text-anchor="middle">loss (log10 {lo:.1f}..{hi:.1f})</text>']
    for i, (name, steps, losses) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(xy(s, v) for s, v in zip(steps, losses))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{w - pad - 150}" y="{pad + 14 * i}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    out = pathlib.Path(folder) / f"{target}_loss.svg"
    out.write_text("\n".join(parts) + "\n")
    print(f"wrote {out}")


def main():
    for folder in sys.argv[1:] or ["results/ddsp_seed"]:
        folder = pathlib.Path(folder)
        by_target = {}
        for path in sorted(folder.glob("*.csv")):
            if path.name == "summary.csv":
                continue
            for target in ("a440", "c261", "e329_odd"):
                if path.name.startswith(target + "_"):
                    by_target.setdefault(target, []).append((path.stem[len(target) + 1:], path))
        for target, runs in by_target.items():
            plot(folder, target, runs)


if __name__ == "__main__":
    main()
