#!/usr/bin/env python3
"""Reference DX7 sysex files for Tests/SynthsTests/DX7SysexTests.swift, written by Dexed's own
Python package (dexed-py, `pip install dexed-py`; never a dependency of the Swift package).

- random-bank.syx: 32 random voices (every field uniform over its DX7 range, random names) saved
  by `dexed.Patch.save_to_bank` (Dexed's packing and checksum);
- random-bank.json: for each voice, the 155 unpacked bytes Dexed reads back from that bank
  (`Patch.load_bank(...)[i].to_sysex()[:155]`), the values our reader must produce;
- voice.syx: voice 7 of the bank as a single-voice dump framed by hand from the DX7 manual
  (F0 43 00 00 01 1B, 155 bytes, checksum, F7), with its bytes in voice.json.

    python3 Experiments/reference/dx7_sysex_fixtures.py Tests/SynthsTests/Fixtures/dx7
"""
import json
import os
import random
import sys

from dexed import Patch

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/SynthsTests/Fixtures/dx7"
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
OPERATOR_RANGES = [99] * 11 + [3, 3, 7, 3, 7, 99, 1, 31, 99, 14]
GLOBAL_RANGES = [99] * 8 + [31, 7, 1, 99, 99, 99, 99, 1, 5, 7, 48]


def random_voice():
    data = [rng.randint(0, m) for _ in range(6) for m in OPERATOR_RANGES]
    data += [rng.randint(0, m) for m in GLOBAL_RANGES]
    data += [rng.randint(32, 126) for _ in range(10)]
    return Patch.from_sysex(bytes(data) + b"\x3f")


patches = [random_voice() for _ in range(32)]
bank = os.path.join(out, "random-bank.syx")
Patch.save_to_bank(bank, patches)
loaded = Patch.load_bank(bank)
json.dump([list(p.to_sysex()[:155]) for p in loaded], open(os.path.join(out, "random-bank.json"), "w"))

voice = list(loaded[6].to_sysex()[:155])
checksum = (-sum(voice)) & 0x7F
open(os.path.join(out, "voice.syx"), "wb").write(bytes([0xF0, 0x43, 0x00, 0x00, 0x01, 0x1B] + voice + [checksum, 0xF7]))
json.dump(voice, open(os.path.join(out, "voice.json"), "w"))
print(f"wrote {bank} ({os.path.getsize(bank)} bytes), voice.syx, JSON")
