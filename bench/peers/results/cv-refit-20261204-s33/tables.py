#!/usr/bin/env python3
"""The two tables of docs/dl-benchmarks.md's "Session 33: cross-validation with refit".

    python3 bench/peers/results/cv-refit-20261204-s33/tables.py

Medians over seeds 1-3 per model: ours (drc*.jsonl), NF fitted afresh for each window
(nf_from_init*.jsonl) and NF's own cross_validation(refit=True) (nf*.jsonl); first the point
runs, then those with conformal intervals (*_conformal.jsonl).
"""
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    runs = {}
    with open(os.path.join(HERE, name)) as f:
        for line in f:
            if line.startswith("{") and '"model"' in line:
                r = json.loads(line)
                runs.setdefault(r["model"], []).append(r)
    return runs


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def num(x, fmt="{:,.0f}"):
    return fmt.format(x).replace(",", " ")


def main():
    ours, init, nf = load("drc.jsonl"), load("nf_from_init.jsonl"), load("nf.jsonl")
    print("| model | MAE ours | MAE NF, from init | ratio | MAE NF | ratio | s ours | "
          "s NF, from init | s NF | speed-up (from init / NF) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in ours:
        a, b, c = (med(x[m], "mae") for x in (ours, init, nf))
        sa, sb, sc = (med(x[m], "seconds") for x in (ours, init, nf))
        print(f"| {m} | {num(a)} | {num(b)} | {a / b:.2f} | {num(c)} | {a / c:.2f} | {sa:.1f} | "
              f"{sb:.1f} | {sc:.1f} | {sb / sa:.1f}× / {sc / sa:.1f}× |")
    means = [statistics.mean(med(x[m], "mae") for m in ours) for x in (ours, init, nf)]
    print(f"\nMean MAE: ours {num(means[0])}, NF from init {num(means[1])} "
          f"({means[0] / means[1]:.2f}), NF {num(means[2])} ({means[0] / means[2]:.2f})\n")
    sides = [load(f"{n}_conformal.jsonl") for n in ("drc", "nf_from_init", "nf")]
    print("| model | MAE ours / NF from init / NF | 80 % width ours / NF from init / NF | "
          "80 % coverage ours / NF from init / NF |")
    print("|---|---|---|---|")
    for m in sides[0]:
        def row(key, fmt):
            return " / ".join(num(med(x[m], key), fmt) for x in sides)
        print(f"| {m} | {row('mae', '{:,.0f}')} | {row('width_80', '{:,.0f}')} | "
              f"{row('coverage_80', '{:.2f}')} |")


if __name__ == "__main__":
    main()
