#!/usr/bin/env python3
"""How closely SynthMatch's DX7 voice (`synthmatch render --syx`) plays what Dexed plays (issue 15).

The reference is Dexed's own engine through the `dexed-py` package (pip install dexed-py; used
only here and in Experiments/reference, never by the Swift package). Both render at 44.1 kHz:
1. pitch: one carrier alone for every coarse 0...31 x fine {0, 1, 7, 33, 50, 99} x detune
   {0, 3, 7, 11, 14} and fixed-frequency settings from 30 Hz (lower ones do not complete enough
   cycles in the 0.8 s measured); f0 of each render by a zero-padded FFT peak
   with parabolic interpolation; difference in cents;
2. envelopes: 100 random single-operator envelopes (rates 20...99, levels 0...99, 0.6 s held, then
   released); 64-sample-block RMS in dB of both renders; level difference where Dexed is above
   -60 dB, and the time shift that best aligns the two (cross-correlation of the dB curves);
3. the output-level table: one carrier at output level 0...99, amplitude ratio in dB where Dexed's
   output is above its 12-bit quantisation floor (amplitude > 2^-8);
4. random voices: N random voices (all 32 algorithms, feedback 0...7, every operator field random,
   LFO depths 0; a second set with every LFO setting random, sync on or off, measures the LFO
   as `DX7LFO` plays it), note 60, velocity 100, 1 s held, 1.5 s rendered; multi-scale spectral distance
   (`synthmatch distance`, DDSP's loss at 44.1 kHz) between our render and Dexed's, against the
   distance between Dexed's renders of two different random voices, and against the floor set by
   Dexed's 12-bit output: Dexed's render against itself with 1-LSB noise on 30 % of its samples.

    python3 Experiments/dx7_agreement.py [--voices 200] [--out results/dx7]    (needs a release build)

5. the differentiable `dx7` module (its continuous relaxation, `render --synth dx7-algN --set ...`) at
   the integer settings of N random voices whose settings it models (no keyboard scaling,
   velocity or modulation sensitivity, fixed frequency, pitch EG or LFO), against Dexed, with
   the same 12-bit output step applied to ours.

Writes pitch.csv, envelopes.csv, levels.csv, voices.csv, module.csv and summary.txt under --out.
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

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = os.path.join(root, ".build", "release", "synthmatch")
parser = argparse.ArgumentParser()
parser.add_argument("--voices", type=int, default=200)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--out", default=os.path.join(root, "results", "dx7"))
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
SR = 44100
dexed = DexedSynth(SR)
work = tempfile.mkdtemp(prefix="dx7-agreement-")
OPERATOR_RANGES = [99] * 11 + [3, 3, 7, 3, 7, 99, 1, 31, 99, 14]
GLOBAL_RANGES = [99] * 8 + [31, 7, 1, 99, 99, 99, 99, 1, 5, 7, 48]


def ours(patches, note=60, velocity=100, hold=1.0, duration=1.5, quantise=False):
    """Our renders of a list of Patch objects (through a bank file and `render --syx`)."""
    renders = []
    for start in range(0, len(patches), 32):
        chunk = patches[start:start + 32]
        bank = os.path.join(work, "bank.syx")
        Patch.save_to_bank(bank, chunk + [Patch() for _ in range(32 - len(chunk))])
        for i in range(len(chunk)):
            wav = os.path.join(work, "o.wav")
            subprocess.run([binary, "render", "--syx", bank, "--voice", str(i + 1), "--note", str(note), "--velocity", str(velocity),
                            "--hold", str(hold), "--duration", str(duration), "--sample-rate", str(SR), "--out", wav] + (["--quantise"] if quantise else []),
                           check=True, capture_output=True)
            renders.append(soundfile.read(wav, dtype="float64")[0])
    return renders


def theirs(patch, note=60, velocity=100, hold=1.0, duration=1.5):
    dexed.load_patch(patch)
    return dexed.render(note, velocity, hold, duration).astype(np.float64)


def carrier(coarse=1, fine=0, detune=7, fixed=0, level=99, rates=(99, 99, 99, 99), levels=(99, 99, 99, 0)):
    p = Patch("TEST")
    p.algorithm = 31                                    # algorithm 32: six carriers, only op 1 sounds
    p.feedback = 0
    for i in range(6):
        o = p.op[i]
        o.output_level = level if i == 0 else 0
        o.envelope.rates, o.envelope.levels = list(rates), list(levels)
        o.frequency_coarse, o.frequency_fine, o.detune, o.frequency_mode = coarse, fine, detune, fixed
    return p


def f0(x):
    seg = x[int(0.1 * SR):int(0.9 * SR)]
    n = 1 << 22
    s = np.log(np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n)) + 1e-30)
    k = int(np.argmax(s))
    a, b, c = s[k - 1], s[k], s[k + 1]
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / n


def block_db(x):
    m = len(x) // 64
    return 10 * np.log10(np.mean(x[:m * 64].reshape(m, 64) ** 2, axis=1) * 2 + 1e-20)


summary = []

# 1. Pitch
settings = [(c, f, d, 0) for c in range(32) for f in (0, 1, 7, 33, 50, 99) for d in (0, 3, 7, 11, 14)]
settings += [(c, f, d, 1) for c in range(4) for f in (0, 20, 50, 99) for d in (7, 14)]
settings = [s for s in settings if (s[3] == 1 and 30 <= 10 ** ((s[0] & 3) + s[1] / 100) < 18000) or (s[3] == 0 and 261.6 * (0.5 if s[0] == 0 else s[0]) * (1 + s[1] / 100) < 18000)]
patches = [carrier(c, f, d, x) for c, f, d, x in settings]
rendered = ours(patches, hold=1.0, duration=1.0)
rows = []
for (c, f, d, x), p, o in zip(settings, patches, rendered):
    t = theirs(p, hold=1.0, duration=1.0)
    fo, ft = f0(o), f0(t)
    rows.append([c, f, d, x, fo, ft, 1200 * np.log2(fo / ft)])
with open(os.path.join(args.out, "pitch.csv"), "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["coarse", "fine", "detune", "fixed", "ours_hz", "dexed_hz", "cents"]); w.writerows(rows)
cents = np.abs([r[6] for r in rows])
summary.append(f"pitch: {len(rows)} coarse/fine/detune/fixed settings, |difference| median {np.median(cents):.4f} cents, max {cents.max():.4f} cents")

# 2. Envelopes
rng = random.Random(args.seed)
envs = []
for _ in range(100):
    rates = [rng.randint(20, 99) for _ in range(4)]
    levels = [rng.randint(0, 99) for _ in range(4)]
    levels[rng.randrange(3)] = 99
    envs.append((rates, levels))
patches = [carrier(level=99, rates=r, levels=l) for r, l in envs]
rendered = ours(patches, hold=0.6, duration=1.2)
rows = []
for (r, l), p, o in zip(envs, patches, rendered):
    t = theirs(p, hold=0.6, duration=1.2)
    a, b = block_db(o), block_db(t)
    keep = b > -60
    err = np.abs(a - b)[keep]
    shifts = range(-8, 9)
    scores = [np.mean(np.abs(np.roll(a, s) - b)[keep]) for s in shifts]
    rows.append([*r, *l, float(np.median(err)) if len(err) else 0, float(err.max()) if len(err) else 0, list(shifts)[int(np.argmin(scores))]])
with open(os.path.join(args.out, "envelopes.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["r1", "r2", "r3", "r4", "l1", "l2", "l3", "l4", "median_abs_db", "max_abs_db", "best_shift_blocks"]); w.writerows(rows)
med = np.array([r[8] for r in rows]); mx = np.array([r[9] for r in rows]); sh = np.array([r[10] for r in rows])
summary.append(f"envelopes: 100 random single-operator envelopes, per-block |dB difference| (Dexed above -60 dB): median of medians {np.median(med):.3f} dB, "
               f"worst median {med.max():.3f} dB, worst block {mx.max():.2f} dB; best-aligning shift 0 blocks in {np.sum(sh == 0)}/100")

# 3. Output-level table
rows = []
patches = [carrier(level=L) for L in range(100)]
rendered = ours(patches, hold=0.5, duration=0.5)
for L, p, o in zip(range(100), patches, rendered):
    t = theirs(p, hold=0.5, duration=0.5)
    ao, at = np.abs(o[4410:17640]).max(), np.abs(t[4410:17640]).max()
    rows.append([L, ao, at, 20 * np.log10(ao / at) if at > 2 ** -8 else ""])
with open(os.path.join(args.out, "levels.csv"), "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["output_level", "ours_peak", "dexed_peak", "db_difference"]); w.writerows(rows)
d = np.abs([r[3] for r in rows if r[3] != ""])
summary.append(f"output levels: {len(d)} levels above Dexed's quantisation floor, |dB difference| max {d.max():.3f} dB")


# 4. Random voices
def random_patch(lfo):
    data = [rng.randint(0, m) for _ in range(6) for m in OPERATOR_RANGES]
    data += [rng.randint(0, m) for m in GLOBAL_RANGES]
    data += [rng.randint(65, 90) for _ in range(10)]
    data[134] = rng.randint(0, 31)
    data[135] = rng.randint(1, 7)                        # feedback on
    data[144] = 24
    if not lfo:
        data[139] = data[140] = 0                         # LFO pitch and amplitude depth 0
    return Patch.from_sysex(bytes(data) + b"\x3f")


convergences = {}


def distance(a, b):
    """DDSP's multi-scale spectral loss (linear + log magnitude) at 44.1 kHz; the mean spectral
    convergence over its six resolutions (linear magnitudes only: insensitive to the 12-bit
    floor) is kept in `convergences` under the same value."""
    pa, pb = os.path.join(work, "a.wav"), os.path.join(work, "b.wav")
    soundfile.write(pa, a.astype(np.float32), SR, subtype="FLOAT"); soundfile.write(pb, b.astype(np.float32), SR, subtype="FLOAT")
    r = subprocess.run([binary, "distance", pa, pb, "--sample-rate", str(SR), "--terms"], check=True, capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    total = float(lines[0])
    convergences[total] = float(np.mean([float(line.split("convergence")[1]) for line in lines[1:]]))
    return total


rows = []
noise = np.random.default_rng(args.seed)
for lfo in (False, True):
    patches = [random_patch(lfo) for _ in range(args.voices)]
    raw, quantised = ours(patches), ours(patches, quantise=True)
    dexed_renders = [theirs(p) for p in patches]
    for i, (p, o, oq, t) in enumerate(zip(patches, raw, quantised, dexed_renders)):
        if np.abs(t).max() < 1e-3:
            continue                                      # silent in Dexed: nothing to compare
        other = dexed_renders[(i + 1) % len(patches)]
        # The floor Dexed's own 12-bit output sets: Dexed's render against itself with 1-LSB noise
        # on 30 % of its samples (what a different fixed-point sine would change).
        noisy = t + (noise.random(len(t)) < 0.3) * np.sign(noise.standard_normal(len(t))) / 4096
        rows.append([int(lfo), i, p.algorithm + 1, p.feedback, distance(oq, t), distance(o, t), distance(other, t), distance(noisy, t)])
with open(os.path.join(args.out, "voices.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["lfo", "voice", "algorithm", "feedback", "ours_quantised_vs_dexed", "ours_raw_vs_dexed", "other_voice_vs_dexed", "dexed_plus_1lsb_vs_dexed"]); w.writerows(rows)
for lfo in (0, 1):
    r = [x for x in rows if x[0] == lfo]
    base = np.median([x[6] for x in r])
    for column, what in ((4, "ours (12-bit output like Dexed's)"), (5, "ours (unquantised)"), (7, "Dexed + 1-LSB noise (the floor)")):
        d = np.array([x[column] for x in r])
        q = np.percentile(d, [10, 25, 50, 75, 90])
        summary.append(f"random voices, {'LFO random' if lfo else 'LFO off'}, {len(r)} audible of {args.voices}: {what} vs Dexed median {q[2]:.3f} "
                       f"(10/25/75/90%: {q[0]:.3f} {q[1]:.3f} {q[3]:.3f} {q[4]:.3f}); two different voices in Dexed median {base:.3f}; ratio {q[2] / base:.3f}")
    conv = lambda column: np.median([convergences[x[column]] for x in r])
    summary.append(f"  spectral convergence (linear magnitudes): ours {conv(4):.4f}, Dexed + 1-LSB noise {conv(7):.4f}, two different voices {conv(6):.4f}; "
                   f"ratio ours / two voices {conv(4) / conv(6):.4f}")
    worst = sorted({x[2] for x in r}, key=lambda a: -np.median([x[4] for x in r if x[2] == a]))[:5]
    summary.append("  algorithms with the largest median distance: " + ", ".join(
        f"{a}: {np.median([x[4] for x in r if x[2] == a]):.2f} (n={sum(1 for x in r if x[2] == a)})" for a in worst))

# 5. The differentiable module at integer settings
def modelled_patch():
    data = [rng.randint(0, m) for _ in range(6) for m in OPERATOR_RANGES]
    data += [rng.randint(0, m) for m in GLOBAL_RANGES]
    data += [rng.randint(65, 90) for _ in range(10)]
    for op in range(6):
        b = op * 21
        data[b + 8], data[b + 9], data[b + 10], data[b + 11], data[b + 12] = 39, 0, 0, 0, 0
        data[b + 13] = data[b + 14] = data[b + 15] = data[b + 17] = 0
    data[126:130] = [99] * 4
    data[130:134] = [50] * 4
    data[134] = rng.randint(0, 31)
    data[135] = rng.randint(1, 7)
    data[139] = data[140] = 0
    data[144] = 24
    return Patch.from_sysex(bytes(data) + b"\x3f")


def module_render(p, hold=1.0, duration=1.5):
    sets = [f"feedback={p.feedback}", f"note_off={hold}"]
    for i in range(6):
        o = p.op[i]
        coarse = 0.5 if o.frequency_coarse == 0 else o.frequency_coarse
        sets += [f"op{i + 1}_output_level={o.output_level}", f"op{i + 1}_ratio={coarse * (1 + o.frequency_fine / 100)}",
                 f"op{i + 1}_detune={o.detune - 7}"]
        sets += [f"op{i + 1}_rate{k + 1}={o.envelope.rates[k]}" for k in range(4)]
        sets += [f"op{i + 1}_level{k + 1}={o.envelope.levels[k]}" for k in range(4)]
    wav = os.path.join(work, "m.wav")
    subprocess.run([binary, "render", "--synth", f"dx7-alg{p.algorithm + 1}", "--note", "60", "--duration", str(duration),
                    "--sample-rate", str(SR), "--out", wav, "--set"] + sets, check=True, capture_output=True)
    x = soundfile.read(wav, dtype="float64")[0]
    return np.floor(x * 4096) / 4096


rows = []
patches = [modelled_patch() for _ in range(args.voices)]
dexed_renders = [theirs(p) for p in patches]
emulation = ours(patches, quantise=True)
for i, (p, t, e) in enumerate(zip(patches, dexed_renders, emulation)):
    if np.abs(t).max() < 1e-3:
        continue
    other = dexed_renders[(i + 1) % len(patches)]
    rows.append([i, p.algorithm + 1, p.feedback, distance(module_render(p), t), distance(e, t), distance(other, t)])
with open(os.path.join(args.out, "module.csv"), "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["voice", "algorithm", "feedback", "module_vs_dexed", "engine_emulation_vs_dexed", "other_voice_vs_dexed"]); w.writerows(rows)
m = np.array([r[3] for r in rows]); e = np.array([r[4] for r in rows]); b = np.median([r[5] for r in rows])
summary.append(f"dx7 module at integer settings ({len(rows)} audible of {args.voices} modelled random voices, LFO off): module vs Dexed median {np.median(m):.3f} "
               f"(25/75%: {np.percentile(m, 25):.3f} {np.percentile(m, 75):.3f}), engine emulation vs Dexed median {np.median(e):.3f}; two different voices {b:.3f}; "
               f"ratios {np.median(m) / b:.3f} and {np.median(e) / b:.3f}")
cm, ce, cb = (np.median([convergences[r[k]] for r in rows]) for k in (3, 4, 5))
summary.append(f"  spectral convergence: module {cm:.4f}, engine emulation {ce:.4f}, two different voices {cb:.4f}; ratios {cm / cb:.4f} and {ce / cb:.4f}")

text = "\n".join(summary)
open(os.path.join(args.out, "summary.txt"), "w").write(text + "\n")
print(text)
