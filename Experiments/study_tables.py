#!/usr/bin/env python3
"""Prints the README's study tables (markdown) from the CSVs the studies write:
results/landscape/basins.csv, results/frequency/summary.csv, results/gradients/*.csv and
results/landscape/ripple.csv, results/bench/scaling.csv.
results/reading_group, results/pitch_ranking, results/landscape/ratio_summary.csv and
results/frequency_paper.
Usage: python3 Experiments/study_tables.py [landscape|ripple|frequency|gradients|scaling|reading-group|pitch-ranking|ratio-landscape|frequency-paper]"""
import csv
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def landscape():
    rows = load("results/landscape/basins.csv")
    losses = list(dict.fromkeys(r["loss_name"] for r in rows))
    print("| signal | " + " | ".join(l.replace("_", " ") for l in losses) + " |")
    print("|---|" + "---|" * len(losses))
    for sig in dict.fromkeys(r["signal"] for r in rows):
        cells = []
        for l in losses:
            rs = [r for r in rows if r["signal"] == sig and r["loss_name"] == l]
            w = [r for r in rs if float(r["target_f0"]) == 220][0]
            frac = sum(float(r["converges_fraction"]) for r in rs) / len(rs)
            toward = sum(float(r["points_toward_fraction"]) for r in rs) / len(rs)
            cells.append(f"{float(w['basin_low_cents']):+.0f}..{float(w['basin_high_cents']):+.0f} ({100 * frac:.0f}% / {100 * toward:.0f}%)")
        print(f"| {sig.replace('_', ' ')} | " + " | ".join(cells) + " |")


def ripple():
    rows = load("results/landscape/ripple.csv")
    durations = list(dict.fromkeys(r["duration_s"] for r in rows))
    paddings = list(dict.fromkeys(r["padding"] for r in rows))
    for target in dict.fromkeys(r["target_f0"] for r in rows):
        print(f"\nTarget {float(target):.0f} Hz, 100-300 cents either side: gradient sign changes per Hz (grid points "
              f"whose gradient points toward the target); 4T = {', '.join(f'{4 * float(d):g}' for d in durations)} per Hz\n")
        print("| FFT size | " + " | ".join(f"{float(d):g} s, {p}" for d in durations for p in paddings) + " |")
        print("|---|" + "---|" * (len(durations) * len(paddings)))
        for size in dict.fromkeys(r["fft_size"] for r in rows):
            cells = []
            for d in durations:
                for p in paddings:
                    r = [x for x in rows if x["target_f0"] == target and x["fft_size"] == size and x["duration_s"] == d and x["padding"] == p][0]
                    cells.append(f"{float(r['sign_changes_per_hz']):.2f} ({100 * float(r['points_toward_fraction']):.0f}%)")
            print(f"| {size} | " + " | ".join(cells) + " |")


def frequency():
    rows = load("results/frequency/summary.csv")
    configs = [("real", "mse"), ("real", "fft_l1"), ("surrogate", "mse"), ("surrogate", "fft_l1")]
    print("| sinusoids | " + " | ".join(f"{m}, {l.replace('_', ' ').upper()}" for m, l in configs) + " |")
    print("|---|" + "---|" * len(configs))
    for k in dict.fromkeys(r["sinusoids"] for r in rows):
        cells = []
        for m, l in configs:
            r = [x for x in rows if x["sinusoids"] == k and x["model"] == m and x["loss"] == l][0]
            cells.append(f"{100 * float(r['success_rate']):.0f}% ({float(r['median_frequency_mse_db']):.0f} dB)")
        print(f"| {k} | " + " | ".join(cells) + " |")


def gradients():
    rows = load("results/gradients/accuracy_summary.csv")
    runs = defaultdict(list)
    for r in load("results/gradients/matching.csv"):
        runs[(r["module"], r["loss"], r["estimator"])].append(r)
    diagnostics = ["adjoint_float32_synth_only", "adjoint_float32_loss_only"]
    estimators = [e for e in dict.fromkeys(r["estimator"] for r in rows) if e not in diagnostics]
    for loss in dict.fromkeys(r["loss"] for r in rows):
        print(f"\nLoss `{loss}`: cosine similarity to the float64 adjoint (mean over points) / time per gradient "
              f"relative to the float32 adjoint / mean best loss of the equal-time matching runs (mean start loss "
              f"in the module column)\n")
        print("| module | " + " | ".join(estimators) + " |")
        print("|---|" + "---|" * len(estimators))
        for module in dict.fromkeys(r["module"] for r in rows):
            cells, start = [], None
            for e in estimators:
                r = [x for x in rows if x["module"] == module and x["loss"] == loss and x["estimator"] == e]
                m = runs.get((module, loss, e), [])
                if m:
                    start = sum(float(x["start_loss"]) for x in m) / len(m)
                if not r:
                    cells.append("-")
                    continue
                final = f" / {sum(float(x['best_loss']) for x in m) / len(m):.3g}" if m else ""
                cost = 1 / float(r[0]['speed_vs_adjoint'])
                cells.append(f"{float(r[0]['mean_cosine_similarity']):.3f} / {cost:.1f}x{final}" if cost < 100 else
                             f"{float(r[0]['mean_cosine_similarity']):.3f} / {cost:.0f}x{final}")
            label = f"{module} ({start:.3g})" if start is not None else module
            print(f"| {label} | " + " | ".join(cells) + " |")
    # Where the float32 adjoint's error comes from: float32 in the synth only, or the loss only.
    split = ["adjoint_float32"] + diagnostics
    if any(r["estimator"] in diagnostics for r in rows):
        losses = list(dict.fromkeys(r["loss"] for r in rows))
        print("\nThe float32 adjoint's mean cosine to the float64 adjoint, with float32 everywhere / in the synth only / "
              "in the loss only\n")
        print("| module | " + " | ".join(losses) + " |")
        print("|---|" + "---|" * len(losses))
        for module in dict.fromkeys(r["module"] for r in rows):
            cells = []
            for loss in losses:
                vals = [[x for x in rows if x["module"] == module and x["loss"] == loss and x["estimator"] == e] for e in split]
                cells.append(" / ".join(f"{float(v[0]['mean_cosine_similarity']):.3f}" if v else "-" for v in vals))
            print(f"| {module} | " + " | ".join(cells) + " |")
    # Which estimator reached the lowest loss in each matching run.
    wins = defaultdict(lambda: defaultdict(int))
    groups = defaultdict(list)
    for (module, loss, e), rs in runs.items():
        for r in rs:
            groups[(module, loss, r["run"])].append((float(r["best_loss"]), e))
    for (module, loss, run), entries in groups.items():
        wins[loss][min(entries)[1]] += 1
    for loss, counts in wins.items():
        print(f"\nBest estimator per matching run, `{loss}`: " + ", ".join(f"{e} {n}" for e, n in sorted(counts.items(), key=lambda x: -x[1])))


def scaling():
    rows = load("results/bench/scaling.csv")
    batches = sorted({int(r["batch"]) for r in rows if r["subject"] != "dataset"})
    threads = sorted({int(r["threads"]) for r in rows})
    print("| subject | pass | " + " | ".join(f"batch {b}, {t} thr" for t in threads for b in batches) + " |")
    print("|---|---|" + "---|" * (len(batches) * len(threads)))
    table = defaultdict(dict)
    for r in rows:
        if r["subject"] == "dataset":
            continue
        table[(r["subject"], r["pass"])][(int(r["threads"]), int(r["batch"]))] = float(r["realtime_factor"])
    for (subject, p), cells in table.items():
        print(f"| {subject} | {p} | " + " | ".join(f"{cells.get((t, b), float('nan')):.0f}" for t in threads for b in batches) + " |")
    for r in rows:
        if r["subject"] == "dataset":
            print(f"\ndataset generation, {r['threads']} thread(s): {float(r['realtime_factor']):.0f}x real time "
                  f"({float(r['batch']) / float(r['wall_seconds']):.0f} examples/s of 1 s)")


def mean_ci(values, resamples=2000, seed=1):
    """Mean and 95% percentile-bootstrap interval (fixed seed)."""
    import random
    rng = random.Random(seed)
    x = [v for v in values if v == v]
    if not x:
        return float("nan"), float("nan"), float("nan")
    means = sorted(sum(rng.choice(x) for _ in x) / len(x) for _ in range(resamples))
    return sum(x) / len(x), means[int(0.025 * (resamples - 1))], means[int(0.975 * (resamples - 1))]


def reading_group():
    """results/reading_group: torch (group's setup, two parametrisations) and bench reading-group."""
    rows = []
    for r in load("results/reading_group/torch-runs.csv"):
        label = "torch, free softplus amplitudes (the group's)" if r["parametrisation"] == "softplus" else "torch, DDSP's factorised amplitudes"
        rows.append((label, r))
    for variant, label in (("group_settings", "SynthMatch `harmonic`, linear + log (the group's loss)"),
                           ("linear_only", "SynthMatch `harmonic`, linear term only")):
        try:
            rows += [(label, r) for r in load(f"results/reading_group/{variant}-runs.csv")]
        except FileNotFoundError:
            pass
    print("| target | setup | seeds | output / target RMS | max harmonic error | final loss |")
    print("|---|---|---|---|---|---|")
    for target in ("a440", "c261", "e329_odd"):
        for label in dict.fromkeys(l for l, _ in rows):
            rs = [r for l, r in rows if l == label and r["target"] == target]
            if not rs:
                continue
            rms = mean_ci([float(r["rms_ratio"]) for r in rs])
            err = mean_ci([100 * float(r["max_relative_error"]) for r in rs])
            loss = mean_ci([float(r["final_loss"]) for r in rs])
            def cell(m, fmt, unit=""):
                return f"{m[0]:{fmt}}{unit}" + (f" [{m[1]:{fmt}}, {m[2]:{fmt}}]" if len(rs) > 1 else "")
            print(f"| {target} | {label} | {len(rs)} | {cell(rms, '.3f')} | {cell(err, '.1f', '%')} | {cell(loss, '.2f')} |")


def ddsp_seed_collapse():
    """results/ddsp_seed_collapse/CONFIG-seedN/summary.csv (f0-given runs)."""
    import glob
    import os
    runs = defaultdict(list)
    for path in sorted(glob.glob("results/ddsp_seed_collapse/*-seed*/summary.csv")):
        config = os.path.basename(os.path.dirname(path)).rsplit("-seed", 1)[0]
        for r in load(path):
            if r["run"] == "fixed_f0":
                runs[(config, r["target"])].append(r)
    labels = {"base": "committed setup (noise at the harmonics' rate)", "slow_noise": "noise at a tenth of the rate",
              "no_noise": "no noise module", "log_offset": "log(S + 1e-7) instead of safe_log",
              "centred": "centred frames", "centred_log_offset": "centred frames and log(S + 1e-7)",
              "lr0.01": "constant learning rate 0.01", "lr0.002": "constant learning rate 0.002"}
    print("| setup | seeds | A 440: runs collapsed (error > 90%); median (worst) max harmonic error | C 261 | E 329 odd | median final loss (A, C, E) |")
    print("|---|---|---|---|---|---|")
    for config, label in labels.items():
        cells, losses, seeds = [], [], 0
        for target in ("a440", "c261", "e329_odd"):
            rs = runs.get((config, target), [])
            if not rs:
                cells.append("-"); losses.append("-"); continue
            seeds = len(rs)
            errors = sorted(100 * float(r["max_relative_amplitude_error"]) for r in rs)
            loss = sorted(float(r["final_loss"]) for r in rs)
            collapsed = sum(e > 90 for e in errors)
            worst = f", worst {errors[-1]:.1f}%" if len(errors) > 1 else ""
            cells.append(f"{collapsed} of {len(rs)}; {errors[len(errors) // 2]:.2f}%{worst}")
            losses.append(f"{loss[len(loss) // 2]:.2f}")
        if seeds:
            print(f"| {label} | {seeds} | " + " | ".join(cells) + f" | {', '.join(losses)} |")


def pitch_ranking():
    rows = load("results/pitch_ranking/summary.csv")
    published = {("square", "spectrogram_identity"): ("0.5", "0.676", "0.7"), ("square", "spectrogram_wasserstein_time"): ("0.48", "0.733", "0.748"),
                 ("square", "spectrogram_wasserstein_frequency"): ("0.528", "0.605", "0.623"),
                 ("sawtooth", "spectrogram_identity"): ("0.47", "0.642", "0.701"), ("sawtooth", "spectrogram_wasserstein_time"): ("0.48", "0.712", "0.715"),
                 ("sawtooth", "spectrogram_wasserstein_frequency"): ("0.53", "0.571", "0.543"),
                 ("sine", "spectrogram_identity"): ("0.517", "0.855", "0.87"), ("sine", "spectrogram_wasserstein_time"): ("0.491", "0.848", "0.863"),
                 ("sine", "spectrogram_wasserstein_frequency"): ("0.495", "0.687", "0.735")}
    cents = list(dict.fromkeys(r["cents"] for r in rows))
    print("| waveform | loss | " + " | ".join(("+-0.5 cent" if float(c) == 0 else f"+{float(c):.0f} cents") for c in cents)
          + " | DiffMoog's (f+-eps, 300, 600) |")
    print("|---|---|" + "---|" * (len(cents) + 1))
    for w in dict.fromkeys(r["waveform"] for r in rows):
        for loss in dict.fromkeys(r["loss"] for r in rows):
            cells = []
            for c in cents:
                r = [x for x in rows if x["waveform"] == w and x["loss"] == loss and x["cents"] == c][0]
                cells.append(f"{float(r['accuracy']):.2f} [{float(r['ci_low']):.2f}, {float(r['ci_high']):.2f}]")
            pub = published.get((w, loss))
            print(f"| {w} | {loss.replace('_', ' ')} | " + " | ".join(cells) + f" | {', '.join(pub) if pub else '-'} |")


def ratio_landscape():
    rows = load("results/landscape/ratio_summary.csv")
    print("| loss | basin width (cents) | share of grid pointing to the target | local minima on the grid | lowest point at the target |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['loss_name'].replace('_', ' ')} | {float(r['basin_width_cents']):.0f} [{float(r['basin_ci_low']):.0f}, {float(r['basin_ci_high']):.0f}] | "
              f"{100 * float(r['points_toward_fraction']):.0f}% [{100 * float(r['toward_ci_low']):.0f}, {100 * float(r['toward_ci_high']):.0f}] | "
              f"{float(r['local_minima']):.0f} [{float(r['minima_ci_low']):.0f}, {float(r['minima_ci_high']):.0f}] | "
              f"{100 * float(r['global_minimum_at_target_fraction']):.0f}% of {r['seeds']} |")


def frequency_paper():
    rows = load("results/frequency_paper/summary.csv")
    paired = load("results/frequency_paper/paired.csv")
    metrics = [("freq_lac_db", "frequency MSE after assignment (dB)"), ("spectral_mse_db", "spectral MSE (dB)")]
    print("| sinusoids | metric | surrogate: median, mean [95% CI] | real oscillator: median, mean [95% CI] | surrogate - real, paired mean [95% CI] | surrogate lower |")
    print("|---|---|---|---|---|---|")
    for k in dict.fromkeys(r["sinusoids"] for r in rows):
        for metric, label in metrics:
            cells = []
            for model in ("surrogate", "real"):
                r = [x for x in rows if x["sinusoids"] == k and x["model"] == model and x["metric"] == metric][0]
                diverged = f", {r['diverged']} diverged" if int(r["diverged"]) else ""
                cells.append(f"{float(r['median']):.1f}, {float(r['mean']):.1f} [{float(r['mean_low']):.1f}, {float(r['mean_high']):.1f}]{diverged}")
            p = [x for x in paired if x["sinusoids"] == k and x["metric"] == metric][0]
            print(f"| {k} | {label} | {cells[0]} | {cells[1]} | {float(p['mean_difference_surrogate_minus_real']):+.1f} "
                  f"[{float(p['low']):+.1f}, {float(p['high']):+.1f}] | {p['surrogate_lower']} of {p['pairs']} |")


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["landscape", "ripple", "frequency", "gradients", "scaling"]
    for name in wanted:
        print(f"\n## {name}\n")
        globals()[name.replace("-", "_")]()
