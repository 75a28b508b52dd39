#!/usr/bin/env python3
"""Reference renders of torchsynth's default Voice (torchsynth 1.0.2, the synth1B1 architecture)
for SynthMatch's TorchsynthVoice: three notes of 0.2 s at 44.1 kHz (control rate 441 Hz) with
seeded random parameters, times shortened so that every envelope segment, the key release and
the LFO shapes show within the note. torchsynth draws its noise from torch's generator, which
Swift cannot reproduce, so the noise buffer is replaced by a sequence both sides compute:
((7919 i + 104729 b) mod 2001) / 1000 - 1 for sample i of note b.

Writes Tests/SynthsTests/Fixtures/torchsynth_voice.json: every parameter in torchsynth's units
(`module/parameter`, what `module.p(name)` returns) and every second output sample. Run in the
peers venv (Experiments/peers/setup): .build/peers-venv/bin/python Experiments/reference/torchsynth_voice.py
"""
import json
import pathlib

import torch
from torchsynth.config import SynthConfig
from torchsynth.synth import Voice

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/SynthsTests/Fixtures/torchsynth_voice.json"
B, SECONDS, SR = 3, 0.2, 44100
# Physical ranges (seconds) for the time parameters, so that the segments fall inside 0.2 s.
SHORT = {"attack": (0.0, 0.06), "decay": (0.0, 0.08), "release": (0.0, 0.1), "duration": (0.03, 0.15)}


def main():
    torch.manual_seed(0)
    config = SynthConfig(batch_size=B, sample_rate=SR, buffer_size_seconds=SECONDS, reproducible=False, no_grad=True)
    voice = Voice(config)
    g = torch.Generator().manual_seed(11)
    for name, module in voice.named_children():
        for pname, parameter in module.torchparameters.items():
            if pname in SHORT:
                lo, hi = SHORT[pname]
                module.set_parameter(pname, lo + (hi - lo) * torch.rand(B, generator=g))
            elif pname == "midi_f0":
                module.set_parameter(pname, 40 + 45 * torch.rand(B, generator=g))
            else:
                module.set_parameter_0to1(pname, torch.rand(B, generator=g))
    n = voice.noise.noise.shape[1]
    i = torch.arange(n, dtype=torch.int64)
    voice.noise.noise = torch.stack([((7919 * i + 104729 * b) % 2001).float() / 1000 - 1 for b in range(B)])
    audio, _, _ = voice()
    parameters = {}
    for name, module in voice.named_children():
        for pname in module.torchparameters:
            parameters[f"{name}/{pname}"] = [float(v) for v in module.p(pname)]
    OUT.write_text(json.dumps({
        "source": "Experiments/reference/torchsynth_voice.py (torchsynth 1.0.2)",
        "sample_rate": SR, "control_rate": 441, "seconds": SECONDS, "sample_count": n, "stride": 2,
        "parameters": parameters,
        "audio": [[round(float(v), 7) for v in row[::2]] for row in audio],
    }, indent=0))
    print(f"wrote {OUT} ({len(parameters)} parameters, {B} notes of {n} samples, peaks {audio.abs().max(dim=1).values.tolist()})")


if __name__ == "__main__":
    main()
