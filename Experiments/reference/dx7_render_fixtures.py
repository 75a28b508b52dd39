#!/usr/bin/env python3
"""Reference renders for Tests/SynthsTests/DX7VoiceTests.swift, made by Dexed's own engine
(dexed-py, `pip install dexed-py`; never a dependency of the Swift package).

Six voices chosen to exercise one law each, saved as a bank (renders.syx) and rendered at
16 kHz, note 60 (voice 5: note 72, velocity 40), key held 0.2 s, 0.35 s long, as float32
little-endian files renders-N.f32:
1. one carrier, slow attack (R1 70), decay to L2 60, sustain L3 80, release R4 60;
2. a 2-operator stack (algorithm 1: op2 -> op1, op2 level 80, ratio 3);
3. feedback 5 on a carrier alone (algorithm 32, op6);
4. fixed-frequency modulator (440 Hz) on a ratio-0.5 carrier with fine 37 and detune 11;
5. keyboard level and rate scaling and velocity sensitivity (note 72, velocity 40);
6. a pitch envelope (levels 70/40/50/50).

And six LFO voices (lfo-renders.syx, lfo-renders-N.f32: note 60, key held 0.4 s, 0.6 s long, LFO
key sync on; vibrato on a ratio-3 carrier): 1. sine vibrato; 2. triangle tremolo (AMS 3); 3. square vibrato and tremolo after
a delay (AMS 2); 4. saw-down tremolo on a modulator (AMS 1); 5. saw-up vibrato; 6. sample and
hold vibrato.

    python3 Experiments/reference/dx7_render_fixtures.py Tests/SynthsTests/Fixtures/dx7
"""
import os
import sys

import numpy as np
from dexed import DexedSynth, Patch

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/SynthsTests/Fixtures/dx7"


def base(name, algorithm=31):
    p = Patch(name)
    p.algorithm = algorithm
    p.feedback = 0
    for i in range(6):
        o = p.op[i]
        o.output_level = 0
        o.envelope.rates, o.envelope.levels = [99, 99, 99, 99], [99, 99, 99, 0]
    p.op[0].output_level = 99
    return p


voices = []
p = base("ENVELOPE"); p.op[0].envelope.rates = [70, 55, 40, 60]; p.op[0].envelope.levels = [99, 60, 80, 0]; voices.append(p)
p = base("STACK", algorithm=0); p.op[1].output_level = 80; p.op[1].frequency_coarse = 3; voices.append(p)
p = base("FEEDBACK"); p.op[0].output_level = 0; p.op[5].output_level = 95; p.feedback = 5; voices.append(p)
p = base("FIXED", algorithm=0); p.op[0].frequency_coarse = 0; p.op[0].frequency_fine = 37; p.op[0].detune = 11
p.op[1].output_level = 75; p.op[1].frequency_mode = 1; p.op[1].frequency_coarse = 2; p.op[1].frequency_fine = 64; voices.append(p)
p = base("SCALING"); o = p.op[0]
o.breakpoint, o.left_depth, o.right_depth, o.left_curve, o.right_curve = 45, 30, 60, 1, 2
o.rate_scaling, o.velocity_sensitivity = 5, 6
o.envelope.rates = [60, 50, 45, 55]; o.envelope.levels = [99, 70, 85, 0]; voices.append(p)
p = base("PITCH EG"); p.pitch_envelope.rates = [60, 50, 40, 70]; p.pitch_envelope.levels = [70, 40, 50, 50]; voices.append(p)

Patch.save_to_bank(os.path.join(out, "renders.syx"), voices + [Patch() for _ in range(32 - len(voices))])
synth = DexedSynth(16000)
for i, v in enumerate(voices):
    synth.load_patch(v)
    note, velocity = (72, 40) if i == 4 else (60, 100)
    audio = synth.render(note, velocity, 0.2, 0.35).astype("<f4")
    audio.tofile(os.path.join(out, f"renders-{i + 1}.f32"))
    print(f"voice {i + 1} {v.name.strip()}: {len(audio)} samples, peak {np.abs(audio).max():.3f}")


def lfo_voice(name, wave, speed, pitch_depth=0, sensitivity=0, amp_depth=0, delay=0, algorithm=31):
    p = base(name, algorithm)
    p.lfo.wave, p.lfo.speed, p.lfo.pitch_mod_depth, p.lfo.amp_mod_depth, p.lfo.delay, p.lfo.sync = wave, speed, pitch_depth, amp_depth, delay, 1
    p.pitch_mod_sensitivity = sensitivity
    return p


lfo = [lfo_voice("SINE VIB", 4, 60, pitch_depth=50, sensitivity=5),
       lfo_voice("TRI TREM", 0, 70, amp_depth=80),
       lfo_voice("SQR DELAY", 3, 80, pitch_depth=40, sensitivity=4, amp_depth=40, delay=40),
       lfo_voice("SAW TREM", 1, 50, amp_depth=90, algorithm=0),
       lfo_voice("SAW VIB", 2, 30, pitch_depth=70, sensitivity=3),
       lfo_voice("S&H VIB", 5, 75, pitch_depth=60, sensitivity=6)]
# Vibrato carriers at ratio 3 (785 Hz +- 15%): Dexed's engine holds a tone whose frequency comes
# near 16000 / 2^k Hz (250, 500, 1000 ...) at that frequency for a few blocks, which we do not
# model; these stay clear of it.
for v in (lfo[0], lfo[2], lfo[4], lfo[5]):
    v.op[0].frequency_coarse = 3
lfo[1].op[0].amp_mod_sensitivity = 3
lfo[2].op[0].amp_mod_sensitivity = 2
lfo[3].op[1].output_level, lfo[3].op[1].frequency_coarse, lfo[3].op[1].amp_mod_sensitivity = 85, 2, 1
Patch.save_to_bank(os.path.join(out, "lfo-renders.syx"), lfo + [Patch() for _ in range(32 - len(lfo))])
for i, v in enumerate(lfo):
    synth.load_patch(v)
    audio = synth.render(60, 100, 0.4, 0.6).astype("<f4")
    audio.tofile(os.path.join(out, f"lfo-renders-{i + 1}.f32"))
    print(f"LFO voice {i + 1} {v.name.strip()}: {len(audio)} samples, peak {np.abs(audio).max():.3f}")
