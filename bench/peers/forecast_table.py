#!/usr/bin/env python3
"""Markdown table comparing `drc forecast --json` lines with nf_forecast.py lines.

    forecast_table.py --ours drc_seed*.jsonl --theirs nf_seed*.jsonl [--timed FILE ...]
                      [--models A,B,...]

Per model, the median over seeds of MAE, RMSE, MAPE % and seconds for each side, the MAE ratio
(ours / theirs; < 1 is better) and the speed-up (their seconds / ours). With --timed, the
seconds of both sides come only from the runs in those files (e.g. the runs made on a quiet
machine, when others ran beside a build for their accuracy alone); a model with no timed run
on a side shows "-" there. --models keeps only those models (e.g. the 11 of the published
evaluation). The last rows give the mean MAE over the models both sides ran, and how many models
are more than 25 % worse. Lines with prediction intervals (coverage_L and width_L, from --level)
add a table of the median coverage and width per model and level, ours and NF's.
"""
import argparse
import statistics

import json_lines


def load(paths, timed=None):
    runs = {}
    for path in paths:
        for r in json_lines.read(path):
            if "model" in r and "mae" in r:
                r["timed"] = timed is None or path in timed
                runs.setdefault(r["model"], []).append(r)
    out = {}
    for m, rs in runs.items():
        out[m] = {k: statistics.median(r[k] for r in rs) for k in ("mae", "rmse", "mape")}
        secs = [r["seconds"] for r in rs if r["timed"]]
        out[m]["seconds"] = statistics.median(secs) if secs else None
        out[m]["n"] = len(rs)
        for k in {k for r in rs for k in r if k.startswith(("coverage_", "width_"))}:
            values = [r[k] for r in rs if k in r and r[k] is not None]
            if values:
                out[m][k] = statistics.median(values)
    return out


def print_intervals(ours, theirs, models):
    """Median coverage and width per model and level where both sides scored intervals."""
    rows = []
    for m in models:
        levels = sorted({k[len("coverage_"):] for k in ours[m] if k.startswith("coverage_")}
                        & {k[len("coverage_"):] for k in theirs[m] if k.startswith("coverage_")},
                        key=float)
        for level in levels:
            o, t = ours[m], theirs[m]
            rows.append(f"| {m} | {level} | {o['coverage_' + level]:.2f} | "
                        f"{t['coverage_' + level]:.2f} | {o['width_' + level]:.0f} | "
                        f"{t['width_' + level]:.0f} |")
    if rows:
        print("\n| model | level | coverage ours | coverage NF | width ours | width NF |")
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))


def fmt_s(x):
    return "-" if x is None else f"{x:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", nargs="+", required=True)
    ap.add_argument("--theirs", nargs="+", required=True)
    ap.add_argument("--timed", nargs="+", help="files whose seconds count (default: all)")
    ap.add_argument("--models", help="comma-separated models to keep (default: all)")
    a = ap.parse_args()
    timed = set(a.timed) if a.timed else None
    ours, theirs = load(a.ours, timed), load(a.theirs, timed)
    print("| model | runs | MAE ours | MAE NF | MAE ratio | RMSE ours | RMSE NF | MAPE % ours "
          "| MAPE % NF | s ours | s NF | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    keep = set(a.models.split(",")) if a.models else None
    both = [m for m in ours if m in theirs and (keep is None or m in keep)]
    for m in both:
        o, t = ours[m], theirs[m]
        speedup = ("-" if o["seconds"] is None or t["seconds"] is None
                   else f"{t['seconds'] / o['seconds']:.1f}x")
        print(f"| {m} | {o['n']}/{t['n']} | {o['mae']:.0f} | {t['mae']:.0f} | "
              f"{o['mae'] / t['mae']:.2f} | {o['rmse']:.0f} | {t['rmse']:.0f} | {o['mape']:.2f} | "
              f"{t['mape']:.2f} | {fmt_s(o['seconds'])} | {fmt_s(t['seconds'])} | "
              f"{speedup} |")
    if both:
        mo = statistics.mean(ours[m]["mae"] for m in both)
        mt = statistics.mean(theirs[m]["mae"] for m in both)
        worse = [m for m in both if ours[m]["mae"] > 1.25 * theirs[m]["mae"]]
        print(f"\nMean MAE over {len(both)} models: ours {mo:.0f}, NF {mt:.0f} "
              f"(ratio {mo / mt:.2f}); more than 25 % worse: {', '.join(worse) or 'none'}.")
    print_intervals(ours, theirs, both)
    missing = sorted(m for m in set(ours) ^ set(theirs) if keep is None or m in keep)
    if missing:
        print(f"Only one side ran: {', '.join(missing)}.")
    unknown = sorted(keep - set(ours) - set(theirs)) if keep else []
    if unknown:
        print(f"Neither side ran: {', '.join(unknown)}.")


if __name__ == "__main__":
    main()
