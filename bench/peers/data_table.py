#!/usr/bin/env python3
"""Tables of bench/data_compare.sh's results (Markdown), with the issue-4 goal ratios.

    data_table.py DRC_JSONL PEERS_JSONL
"""
import sys

import json_lines


def load(path):
    return list(json_lines.read(path))


def main():
    drc, peers = load(sys.argv[1]), load(sys.argv[2])
    ours = {(r["op"], r["ranks"], r.get("backend", "local")): r for r in drc}
    theirs = {(r["system"], r["op"], r["ranks"]): r["seconds"] for r in peers}
    ops = [op for op in ("join", "groupby", "sort") if (op, 1, "local") in ours]
    fmt = lambda x: "-" if x is None else f"{x:.2f}"
    print("## 1 rank (seconds, median)\n")
    print("| op | drc | pyarrow | Polars | DuckDB | pandas | drc vs best of Polars/DuckDB | pandas / drc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for op in ops:
        d = ours[(op, 1, "local")]["seconds"]
        p = {s: theirs.get((s, op, 1)) for s in ("pyarrow", "polars", "duckdb", "pandas")}
        best = min(x for x in (p["polars"], p["duckdb"]) if x is not None)
        pandas = p["pandas"]
        print(f"| {op} | **{d:.2f}** | {fmt(p['pyarrow'])} | {fmt(p['polars'])} | {fmt(p['duckdb'])} "
              f"| {fmt(pandas)} | {d / best:.2f}x | {pandas / d:.1f}x |")
    print("\n## 2 ranks (seconds, median)\n")
    print("| op | drc local | drc mpi | Dask, 2 workers | Dask / drc (local, mpi) |")
    print("|---|---:|---:|---:|---:|")
    for op in ops:
        loc = ours.get((op, 2, "local"), {}).get("seconds")
        mpi = ours.get((op, 2, "mpi"), {}).get("seconds")
        dask = theirs.get(("dask", op, 2))
        ratio = "-" if dask is None else f"{dask / loc:.1f}x, {dask / mpi:.1f}x"
        print(f"| {op} | {fmt(loc)} | {fmt(mpi)} | {fmt(dask)} | {ratio} |")
    print("\n## Shuffle, 2 ranks\n")
    print("| backend | seconds | GB/s per rank |")
    print("|---|---:|---:|")
    for b in ("local", "mpi"):
        r = ours.get(("shuffle", 2, b))
        if r:
            print(f"| {b} | {r['seconds']:.3f} | {r['gbps_per_rank']:.2f} |")


if __name__ == "__main__":
    main()
