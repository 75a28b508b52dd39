#!/usr/bin/env python3
"""Upgrade SynthMatch model files from format 2 to 3 in place: the same weights, rewritten with
HDF5's Fletcher-32 checksum filter (one chunk), and format_version = 3. Nothing else changes;
the weights are compared before the file replaces the original (written to a temporary file,
then renamed). Used once for the shipped models/*.h5 (issue 14); a model trained by
`synthmatch train` is written as format 3 already.

    python3 Experiments/upgrade_model_checksums.py models/subtractive.h5 models/fm.h5
"""
import os
import shutil
import sys

import h5py
import numpy as np


def upgrade(path):
    temporary = path + ".upgrading"
    shutil.copyfile(path, temporary)
    with h5py.File(temporary, "r+") as f:
        assert f.attrs["format"] == "synthmatch-estimator", f"{path}: not a SynthMatch model"
        version = int(f.attrs["format_version"])
        if version >= 3:
            print(f"{path}: format {version} already")
            os.remove(temporary)
            return
        assert version == 2, f"{path}: format {version}"
        weights = f["weights"][...].astype(np.float32)
        del f["weights"]
        f.create_dataset("weights", data=weights, chunks=(len(weights),), fletcher32=True)
        f.attrs.modify("format_version", np.int64(3))
    with h5py.File(temporary, "r") as f:
        assert np.array_equal(f["weights"][...], weights)
        assert f["weights"].fletcher32
    os.replace(temporary, path)
    print(f"{path}: format 2 -> 3, {len(weights)} weights with a Fletcher-32 checksum")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        upgrade(p)
