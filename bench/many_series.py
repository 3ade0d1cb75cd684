#!/usr/bin/env python3
"""A synthetic monthly panel for scale benchmarks (the shared data has one series).

    many_series.py N OUT.csv [--min-len 96] [--max-len 298] [--seed 7]

N series of random lengths in [min-len, max-len] months, each ending 2024-10-31 (the carrier
series' last month), in the long format of drc forecast and NeuralForecast: unique_id, ds, y.
y = level * (1 + trend * t) * (1 + amp * sin(2 pi t / 12 + phase)) * (1 + noise), with the
level, trend, seasonal amplitude, phase and noise scale drawn per series; deterministic for a
seed. Standard library only.
"""
import argparse
import calendar
import math
import random


def month_ends(last_year, last_month, n):
    """The n month ends up to last_year-last_month, oldest first, as YYYY-MM-DD."""
    out = []
    y, m = last_year, last_month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    p.add_argument("out")
    p.add_argument("--min-len", type=int, default=96)
    p.add_argument("--max-len", type=int, default=298)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    if a.n < 1 or not 1 <= a.min_len <= a.max_len:
        p.error("need N >= 1 and 1 <= --min-len <= --max-len")
    rng = random.Random(a.seed)
    with open(a.out, "w") as f:
        f.write("unique_id,ds,y\n")
        for s in range(a.n):
            length = rng.randint(a.min_len, a.max_len)
            level = rng.uniform(100, 10000)
            trend = rng.uniform(-0.002, 0.006)
            amp = rng.uniform(0.0, 0.3)
            phase = rng.uniform(0, 2 * math.pi)
            noise = rng.uniform(0.01, 0.1)
            for t, ds in enumerate(month_ends(2024, 10, length)):
                y = level * (1 + trend * t) * (1 + amp * math.sin(2 * math.pi * t / 12 + phase))
                y *= 1 + rng.gauss(0, noise)
                f.write(f"S{s:05d},{ds},{y:.3f}\n")


if __name__ == "__main__":
    main()
