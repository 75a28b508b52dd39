#!/usr/bin/env python3
"""Joins the rounds of Experiments/peers/run into results/bench/peers.csv: for every workload,
peer, our contender and thread count, the medians over the rounds of the peer's and our real-time
factors and of the per-round ratios (each round times both sides minutes apart), and the ratios'
range.

    python3 Experiments/peers/aggregate.py --out results/bench/peers.csv ROUND/peers.csv...
"""
import argparse
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import provenance  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("rounds", nargs="+")
    args = ap.parse_args()
    groups, order = {}, []
    for path in args.rounds:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                key = (row["workload"], row["peer"], row["ours"], row["threads"])
                if key not in groups:
                    groups[key] = []
                    order.append(key)
                groups[key].append((float(row["peer_x_real_time"]), float(row["ours_x_real_time"]), float(row["ratio"])))
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["workload", "peer", "peer_x_real_time", "ours", "ours_x_real_time", "ratio", "ratio_min", "ratio_max", "rounds", "threads"])
        for key in sorted(order, key=lambda k: (int(k[3]), order.index(k))):
            rows = groups[key]
            ratios = [r for _, _, r in rows]
            w.writerow([key[0], key[1], f"{statistics.median(p for p, _, _ in rows):.4g}", key[2],
                        f"{statistics.median(o for _, o, _ in rows):.4g}", f"{statistics.median(ratios):.3f}",
                        f"{min(ratios):.3f}", f"{max(ratios):.3f}", len(rows), key[3]])
    os.replace(tmp, args.out)
    provenance.write(args.out, {"rounds": str(len(args.rounds))}, " ".join(sys.argv))
    print(f"wrote {args.out} ({len(order)} rows from {len(args.rounds)} rounds)")


if __name__ == "__main__":
    main()
