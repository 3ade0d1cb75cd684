#!/usr/bin/env python3
"""`drc hydro` against NeuralHydrology over several seeds: per-seed median NSE and summaries.

    hydro_seeds.py --ours drc_hydro_lstm_e30_seed*.jsonl --theirs nh_camels_cudalstm_e30_seed*.jsonl

One file per run (`drc-dl hydro --json` or `nh_camels.py` output), the seed taken from the file
name (`..._seed<S>.jsonl`): per-basin lines with "basin" and "nse", one summary line with
"median_nse". Prints, over the seeds both sides ran, a Markdown table of each seed's median NSE
(over the basins) and then: the median of the seeds' medians and the mean NSE over seeds and
basins per side (the issue's goal: ours at least NH's), the per-seed differences (mean, standard
deviation, t of the mean) and at how many seeds each side is ahead.
"""
import argparse
import math
import re
import statistics as st

import json_lines


def load(paths):
    runs = {}
    for path in paths:
        m = re.search(r"_seed(\d+)\.jsonl$", path)
        if not m:
            raise SystemExit(f"hydro_seeds: {path}: expected a name ending in _seed<S>.jsonl")
        lines = list(json_lines.read(path))
        basins = [d["nse"] for d in lines if "basin" in d]
        summary = [d for d in lines if "median_nse" in d]
        if not summary or not basins:
            raise SystemExit(f"hydro_seeds: {path}: no summary line or no basin lines (run unfinished?)")
        runs[int(m.group(1))] = {"median": summary[-1]["median_nse"], "basins": basins}
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", nargs="+", required=True)
    ap.add_argument("--theirs", nargs="+", required=True)
    a = ap.parse_args()
    ours, theirs = load(a.ours), load(a.theirs)
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        raise SystemExit("hydro_seeds: no seed that both sides ran")
    print("| seed | median NSE ours | median NSE NH | difference |")
    print("|---|---|---|---|")
    diffs = []
    for s in seeds:
        d = ours[s]["median"] - theirs[s]["median"]
        diffs.append(d)
        print(f"| {s} | {ours[s]['median']:.3f} | {theirs[s]['median']:.3f} | {d:+.3f} |")
    print()
    for name, runs in (("ours", ours), ("NH  ", theirs)):
        medians = [runs[s]["median"] for s in seeds]
        every = [v for s in seeds for v in runs[s]["basins"]]
        print(f"{name}: median of the seeds' median NSE {st.median(medians):.3f}, "
              f"mean NSE over seeds and basins {st.mean(every):.3f}")
    n = len(diffs)
    sd = st.stdev(diffs) if n > 1 else float("nan")
    t = st.mean(diffs) / (sd / math.sqrt(n)) if n > 1 and sd > 0 else float("nan")
    ahead = sum(d > 0 for d in diffs)
    print(f"per-seed difference (ours - NH) over {n} seeds: mean {st.mean(diffs):+.3f}, "
          f"sd {sd:.3f}, t = {t:.2f}; ours ahead at {ahead}, NH at {n - ahead}")


if __name__ == "__main__":
    main()
