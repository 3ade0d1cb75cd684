#!/usr/bin/env python3
"""The tables of docs/dl-benchmarks.md's "Session 35: warm starts, NF's chained fits".

    python3 bench/peers/results/warm-start-20261204-s35/tables.py

Medians over seeds 1-3 per model: ours from the initial weights (drc.jsonl), ours chained
(drc_warm.jsonl) and NF's own cross_validation(refit=True) (nf.jsonl); then the chained runs with
conformal intervals, ours and NF's (*_conformal.jsonl); then plain forecasts with conformal
intervals (run_plain.sh: plain_*.jsonl); then the series cut at 2022-10 (run_cut.sh: cut_*.jsonl).
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
import json_lines  # noqa: E402  (bench/peers/json_lines.py)


def load(name):
    """The runs of a result file, by model."""
    runs = {}
    for r in json_lines.read(os.path.join(HERE, name)):
        if "model" in r:
            runs.setdefault(r["model"], []).append(r)
    return runs


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def num(x, fmt="{:,.0f}"):
    return fmt.format(x).replace(",", " ")


def main():
    init, warm, nf = load("drc.jsonl"), load("drc_warm.jsonl"), load("nf.jsonl")
    print("| model | MAE ours, from init | MAE ours, warm | MAE NF | warm / NF | s ours, warm | "
          "s NF | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in warm:
        a, b, c = (med(x[m], "mae") for x in (init, warm, nf))
        sb, sc = med(warm[m], "seconds"), med(nf[m], "seconds")
        print(f"| {m} | {num(a)} | {num(b)} | {num(c)} | {b / c:.2f} | {sb:.1f} | {sc:.1f} | "
              f"{sc / sb:.1f}× |")
    means = [statistics.mean(med(x[m], "mae") for m in warm) for x in (init, warm, nf)]
    print(f"\nMean MAE: ours from init {num(means[0])}, ours warm {num(means[1])}, "
          f"NF {num(means[2])} (warm / NF {means[1] / means[2]:.2f})\n")
    sides = [load(f"{n}_conformal.jsonl") for n in ("drc_warm", "nf")]
    print("| model | MAE ours / NF | 80 % width ours / NF | 80 % coverage ours / NF | "
          "s ours / NF |")
    print("|---|---|---|---|---|")
    for m in sides[0]:
        def row(key, fmt):
            return " / ".join(num(med(x[m], key), fmt) for x in sides)
        print(f"| {m} | {row('mae', '{:,.0f}')} | {row('width_80', '{:,.0f}')} | "
              f"{row('coverage_80', '{:.2f}')} | {row('seconds', '{:.1f}')} |")
    if not os.path.exists(os.path.join(HERE, "plain_nf.jsonl")):
        return
    init, warm, nf = (load(f"plain_{n}.jsonl") for n in ("drc", "drc_warm", "nf"))
    print("\n| model | MAE ours, from init | MAE ours, warm | MAE NF | warm / NF | "
          "80 % width ours, warm / NF | 80 % coverage ours, warm / NF | s ours, warm / NF |")
    print("|---|---:|---:|---:|---:|---|---|---|")
    for m in warm:
        a, b, c = (med(x[m], "mae") for x in (init, warm, nf))
        w = " / ".join(num(med(x[m], "width_80")) for x in (warm, nf))
        cov = " / ".join(num(med(x[m], "coverage_80"), "{:.2f}") for x in (warm, nf))
        sec = " / ".join(num(med(x[m], "seconds"), "{:.1f}") for x in (warm, nf))
        print(f"| {m} | {num(a)} | {num(b)} | {num(c)} | {b / c:.2f} | {w} | {cov} | {sec} |")
    means = [statistics.mean(med(x[m], "mae") for m in warm) for x in (init, warm, nf)]
    print(f"\nMean MAE: ours from init {num(means[0])}, ours warm {num(means[1])}, "
          f"NF {num(means[2])} (warm / NF {means[1] / means[2]:.2f})")
    if not os.path.exists(os.path.join(HERE, "cut_nf_conformal.jsonl")):
        return
    single, chained = ((load(f"cut_{a}.jsonl"), load(f"cut_{b}.jsonl"))
                       for a, b in (("drc", "nf"), ("drc_warm", "nf_conformal")))
    print("\n| model (cut at 2022-10, seeds 1-8) | single fit: mean MAE ours / NF | "
          "chained: mean MAE ours / NF | chained, ours worse at | chained range ours / NF |")
    print("|---|---|---|---|---|")
    for m in single[0]:
        def mean(runs):
            return statistics.mean(r["mae"] for r in runs[m])

        def span(runs):
            maes = [r["mae"] for r in runs[m]]
            return f"{num(min(maes))}–{num(max(maes))}"
        worse = sum(a["mae"] > b["mae"] for a, b in zip(chained[0][m], chained[1][m]))
        print(f"| {m} | {num(mean(single[0]))} / {num(mean(single[1]))} | "
              f"{num(mean(chained[0]))} / {num(mean(chained[1]))} | "
              f"{worse} of {len(chained[0][m])} seeds | "
              f"{span(chained[0])} / {span(chained[1])} |")


if __name__ == "__main__":
    main()
