"""Random DX7 voices whose every setting the `dx7` module models, shared by the DX7 scripts.

Per operator: rates 40-99, levels 99 / 50-99 / 0-99 / 0, output level 50-99, coarse 0-4, fine
0 (or 50 one time in four), detune -3...+3; feedback 0-7; no keyboard scaling, sensitivities,
fixed frequency, pitch EG or LFO. The training banks (`Experiments/train_dx7`) and the evaluation
targets (`dx7_matching.py`, `dx7_estimator.py`) draw from this same distribution with different
seeds, and the evaluation checks that none of its voices is in the training banks.
"""
import random

from dexed import Patch


def modelled_voice_bytes(rng: random.Random, algorithm: int, name: str = None) -> bytes:
    """The 155 unpacked voice bytes (DX7 order: operator 6 first)."""
    data = []
    for _ in range(6):
        rates = [rng.randint(40, 99) for _ in range(4)]
        levels = [99, rng.randint(50, 99), rng.randint(0, 99), 0]
        data += rates + levels + [39, 0, 0, 0, 0, 0, 0, 0, rng.randint(50, 99), 0, rng.randint(0, 4), rng.choice([0, 0, 0, 50]), rng.randint(4, 10)]
    data += [99] * 4 + [50] * 4 + [algorithm - 1, rng.randint(0, 7), 1, 35, 0, 0, 0, 0, 0, 0, 24]
    label = (name or f"RANDOM {rng.randint(100, 999)}")[:10].ljust(10)
    data += [ord(c) for c in label]
    return bytes(data)


def modelled_voice(rng: random.Random, algorithm: int, name: str = None) -> Patch:
    return Patch.from_sysex(modelled_voice_bytes(rng, algorithm, name) + b"\x3f")


def voice_key(patch_bytes: bytes) -> bytes:
    """A voice's settings without its name: what makes two voices the same sound."""
    return bytes(patch_bytes[:145])
