#!/usr/bin/env python3
"""Session 36's tables (docs/dl-benchmarks.md, "Session 36"), from the JSON lines here.

    python3 bench/peers/results/chain-gap-20261204-s36/tables.py

Our lines carry no seed: each script writes seeds in order (1-8, or 1-24 for run_seeds.sh), so a
line's seed is its position among its model's lines.
"""
import math
import os
import statistics as st
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
from json_lines import read  # noqa: E402


def maes(name, model="NBEATS"):
    return [r["mae"] for r in read(os.path.join(HERE, name)) if r.get("model") == model]


def num(x):
    """A whole number with thin-space thousands, as docs/dl-benchmarks.md writes them."""
    return f"{x:,.0f}".replace(",", " ")


def welch_t(a, b):
    return (st.mean(a) - st.mean(b)) / math.sqrt(st.variance(a) / len(a) +
                                                  st.variance(b) / len(b))


def main():
    print("First link alone (run_fit1.sh): MAE over the 2 calibration windows, seeds 1-8\n")
    print("| model | mean MAE ours | mean MAE NF | sd ours / NF |")
    print("|---|---:|---:|---|")
    for m in ("NBEATS", "MLP"):
        a, b = maes("fit1_drc.jsonl", m), maes("fit1_nf.jsonl", m)
        print(f"| {m} | {num(st.mean(a))} | {num(st.mean(b))} | "
              f"{num(st.stdev(a))} / {num(st.stdev(b))} |")
    cells = {
        ("ours", "ours"): maes("reverse_drc_from_ours.jsonl"),
        ("ours", "NF"): maes("cross_nf_from_ours.jsonl"),
        ("NF", "ours"): maes("reverse_drc_from_nf.jsonl"),
        ("NF", "NF"): maes("cross_nf_from_nf.jsonl"),
    }
    print("\nNBEATS on the series cut at 2022-10, MAE of the chained forecast by the side that "
          "trained each link (run_cross.sh, run_reverse.sh)\n")
    print("| first link (calibration copy) | second link (the fit) | "
          + " | ".join(f"seed {s}" for s in range(1, 9)) + " | mean |")
    print("|---|---|" + "---:|" * 9)
    for (first, second), v in cells.items():
        print(f"| {first} | {second} | {' | '.join(num(x) for x in v)} | {num(st.mean(v))} |")
    for m in ("NBEATS", "MLP"):
        a, b = maes("chain_drc.jsonl", m), maes("chain_nf.jsonl", m)
        n = min(len(a), len(b))
        if n < 2:
            continue
        a, b = a[:n], b[:n]
        print(f"\n{m}, whole chain, seeds 1-{n} (run_seeds.sh): mean MAE ours {num(st.mean(a))} "
              f"(sd {num(st.stdev(a))}, median {num(st.median(a))}, range {num(min(a))}-"
              f"{num(max(a))}), NF {num(st.mean(b))} (sd {num(st.stdev(b))}, median "
              f"{num(st.median(b))}, range {num(min(b))}-{num(max(b))}); ours / NF "
              f"{st.mean(a) / st.mean(b):.2f}; Welch t = {welch_t(a, b):.2f}; ours worse at "
              f"{sum(x > y for x, y in zip(a, b))} of {n} seeds")


if __name__ == "__main__":
    main()
