#!/usr/bin/env python3
"""Markdown table of nf_forecast.py JSON lines: per model, the median over seeds.

    nf_summary.py results/nf_carrier_seed*.jsonl

Columns: model, seeds (how many runs), MAE, RMSE, MAPE %, sMAPE %, seconds; each the median
over the seeds found for that model. Lines without a "model" key are skipped.
"""
import statistics
import sys

import json_lines


def main():
    runs = {}
    for r in json_lines.read(*sys.argv[1:]):
        if "model" in r:
            runs.setdefault(r["model"], []).append(r)
    print("| model | seeds | MAE | RMSE | MAPE % | sMAPE % | seconds |")
    print("|---|---|---|---|---|---|---|")
    for model, rs in runs.items():
        med = lambda k: statistics.median(r[k] for r in rs)
        seeds = ",".join(str(r["seed"]) for r in rs)
        print(f"| {model} | {seeds} | {med('mae'):.0f} | {med('rmse'):.0f} | {med('mape'):.2f} "
              f"| {med('smape'):.2f} | {med('seconds'):.0f} |")


if __name__ == "__main__":
    main()
