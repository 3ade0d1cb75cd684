#!/usr/bin/env python3
"""How far one model's MAE ratio over a few seeds can be trusted: ours vs NeuralForecast.

    seed_spread.py OURS.jsonl NF.jsonl [--model LSTM] [--k 3] [--draws 100000]

Both files hold one JSON object per run with "model", "mae" and "seed" (`drc forecast --json`
lines with a seed added, and `nf_forecast.py` output). Prints, over the seeds both sides ran:
each side's median, mean and standard deviation of the MAE; the difference of the means with
its standard error; P(ours > NF) over all pairs of runs; the ratio of the medians over each
run of k consecutive seeds (1..k, 2..k+1, ...); and how often the ratio of medians of k
randomly chosen seeds exceeds 1.25 (the issue's limit), for these runs and for both sides drawn
from the pooled runs (what chance alone gives when the two are the same).
"""
import argparse
import math
import random
import statistics as st

import json_lines


def load(path, model):
    return {int(d["seed"]): float(d["mae"]) for d in json_lines.read(path)
            if d.get("model") == model and "seed" in d}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ours")
    p.add_argument("nf")
    p.add_argument("--model", default="LSTM")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--draws", type=int, default=100000)
    a = p.parse_args()
    ours, nf = load(a.ours, a.model), load(a.nf, a.model)
    seeds = sorted(set(ours) & set(nf))
    if len(seeds) < max(a.k, 2):
        raise SystemExit(f"{a.model}: only {len(seeds)} seeds on both sides")
    o, n = [ours[s] for s in seeds], [nf[s] for s in seeds]
    print(f"{a.model}, seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} runs a side)")
    for name, m in (("ours", o), ("NF", n)):
        print(f"  {name:4s} median {st.median(m):9.0f}  mean {st.mean(m):9.0f}  sd {st.stdev(m):7.0f}")
    diff = st.mean(o) - st.mean(n)
    se = math.sqrt(st.variance(o) / len(o) + st.variance(n) / len(n))
    print(f"  mean difference {diff:.0f} (standard error {se:.0f}, t = {diff / se:.2f})")
    above = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in o for y in n)
    print(f"  P(ours > NF) over all pairs: {above / (len(o) * len(n)):.2f}")
    ratios = [st.median(o[i:i + a.k]) / st.median(n[i:i + a.k]) for i in range(len(o) - a.k + 1)]
    print(f"  median ratio over consecutive {a.k} seeds: " + " ".join(f"{r:.2f}" for r in ratios))
    rng = random.Random(1)

    def over(x, y):
        hits = sum(st.median(rng.sample(x, a.k)) / st.median(rng.sample(y, a.k)) > 1.25
                   for _ in range(a.draws))
        return hits / a.draws

    print(f"  P(median ratio of {a.k} random seeds > 1.25): these runs {over(o, n):.3f}, "
          f"same distribution (pooled) {over(o + n, o + n):.3f}")


if __name__ == "__main__":
    main()
