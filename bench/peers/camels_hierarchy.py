#!/usr/bin/env python3
"""A small real hierarchy from the CAMELS-US sample, for NF's HINT and drc forecast --hierarchy.

    camels_hierarchy.py OUT_DIR [--data DIR] [--start 2000-01-01] [--end 2002-12-31]

Streamflow of the sample's four basins as volumes (mm/day times the basin's area in km2 gives
thousands of m3 per day), and two sums of them: the basins of HUC region 01 (gauges 01022500
and 01547700) and all four. Writes
    OUT_DIR/Y.csv   unique_id, ds, y: the four basins and the two aggregates, "00-region01" and
                    "00-total" (named so that they sort before the basins: NF's HINT reads S's
                    first rows as the aggregates), one row per day
    OUT_DIR/S.csv   the summing matrix as HierarchicalForecast's S_df.to_csv() writes it:
                    unique_id, then one 0/1 column per basin
The days are those in [start, end] that every basin has (camels_long.py reads the files).
"""
import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import camels_long  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--start", default="2000-01-01")
    p.add_argument("--end", default="2002-12-31")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    long_csv = a.out / "camels_long.csv"
    argv = [str(long_csv), "--start", a.start, "--end", a.end]
    if a.data is not None:
        argv += ["--data", str(a.data)]
    sys.argv = ["camels_long.py"] + argv
    camels_long.main()
    df = pd.read_csv(long_csv, dtype={"unique_id": str})
    df["y"] = df["y"] * df["area"]  # mm/day * km2 = 1000 m3/day
    wide = df.pivot(index="ds", columns="unique_id", values="y").dropna()
    basins = sorted(wide.columns)
    groups = {"00-region01": [b for b in basins if b.startswith("01")], "00-total": basins}
    for name, members in groups.items():
        wide[name] = wide[members].sum(axis=1)
    order = list(groups) + basins
    y = wide[order].reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    y = y.sort_values(["unique_id", "ds"])[["unique_id", "ds", "y"]]
    y.to_csv(a.out / "Y.csv", index=False)
    rows = []
    for name in order:
        members = groups.get(name, [name])
        rows.append([name] + [1 if b in members else 0 for b in basins])
    pd.DataFrame(rows, columns=["unique_id"] + basins).to_csv(a.out / "S.csv", index=False)
    long_csv.unlink()
    print(f"{a.out / 'Y.csv'}: {len(order)} series x {len(wide)} days; {a.out / 'S.csv'}")


if __name__ == "__main__":
    main()
