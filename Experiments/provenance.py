"""The provenance sidecar SynthMatch writes beside every result CSV (`NAME.provenance.json`:
commit, machine, seeds, date, command line), for the CSVs that Python scripts write."""
import datetime
import json
import os
import platform
import subprocess
import sys


def sidecar(csv_path):
    return (csv_path[:-4] if csv_path.endswith(".csv") else csv_path) + ".provenance.json"


def write(csv_path, seeds, command_line=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        if subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
            commit += "-dirty"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    doc = {"command_line": command_line or " ".join(sys.argv), "commit": commit, "cores": str(os.cpu_count()),
           "cpu": cpu, "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "host": platform.node(), "os": platform.platform(), "seeds": seeds}
    with open(sidecar(csv_path) + ".tmp", "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
    os.replace(sidecar(csv_path) + ".tmp", sidecar(csv_path))
