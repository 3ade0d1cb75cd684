#!/usr/bin/env python3
"""The CAMELS-US sample as one long CSV for forecasting with exogenous variables.

    camels_long.py OUT.csv [--data DIR] [--start 1999-01-01] [--end 2002-12-31]

DIR (default ../shared/data/camels_us_sample from the project root) holds forcing_daymet/ and
streamflow/ (see ../shared/data/README.md). Writes one row per basin and day, sorted by
unique_id, ds, with the columns
    unique_id  gauge id as text (leading zeros kept, e.g. 01022500)
    ds         YYYY-MM-DD
    y          streamflow in mm/day; empty where the gauge has no value (-999 or no line)
    prcp, srad, tmax, tmin, vp, dayl   Daymet forcings (mm/day, W/m2, C, C, Pa, s)
    area       basin area in km2 (the forcing file's header, m2 / 1e6), the same every row
for the days in [start, end] that the forcing file has (the sample's data start 2000-01-01;
basin 01022500's forcings run to 2003 but its streamflow ends 2002-12-31). Parsing and
the unit conversion follow NeuralHydrology's camelsus loader: the forcing file has 3 header
lines (latitude, elevation, area in m2) and then a whitespace table; discharge in cfs becomes
QObs(mm/d) = 28316846.592 * cfs * 86400 / (area_m2 * 1e6), and negative values are missing.
"""
import argparse
from pathlib import Path

import pandas as pd

FORCINGS = {"dayl(s)": "dayl", "prcp(mm/day)": "prcp", "srad(W/m2)": "srad",
            "tmax(C)": "tmax", "tmin(C)": "tmin", "vp(Pa)": "vp"}
COLUMNS = ["unique_id", "ds", "y", "prcp", "srad", "tmax", "tmin", "vp", "dayl", "area"]


def dates(df):
    return pd.to_datetime(dict(year=df.Year, month=df.Mnth, day=df.Day))


def basin(data, gauge):
    """One basin's rows: forcings left-joined with the discharge in mm/day."""
    with open(data / "forcing_daymet" / f"{gauge}_lump_cida_forcing_leap.txt") as f:
        f.readline()  # latitude
        f.readline()  # elevation
        area_m2 = int(f.readline())
        forcing = pd.read_csv(f, sep=r"\s+")
    forcing = forcing.assign(ds=dates(forcing)).rename(columns=FORCINGS)
    flow = pd.read_csv(data / "streamflow" / f"{gauge}_streamflow_qc.txt", sep=r"\s+",
                       header=None, names=["basin", "Year", "Mnth", "Day", "QObs", "flag"])
    flow["ds"] = dates(flow)
    flow["y"] = 28316846.592 * flow.QObs * 86400 / (area_m2 * 10**6)
    flow.loc[flow.QObs < 0, "y"] = float("nan")  # -999: missing (NH: negative -> NaN)
    df = forcing.merge(flow[["ds", "y"]], on="ds", how="left")
    return df.assign(unique_id=gauge, area=area_m2 / 1e6)


def main():
    root = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="CSV to write")
    p.add_argument("--data", type=Path, default=root.parent / "shared/data/camels_us_sample")
    p.add_argument("--start", default="1999-01-01")
    p.add_argument("--end", default="2002-12-31")
    a = p.parse_args()
    gauges = sorted(f.name.split("_")[0] for f in (a.data / "forcing_daymet").glob("*.txt"))
    if not gauges:
        raise SystemExit(f"camels_long: no forcing files under {a.data}/forcing_daymet")
    df = pd.concat(basin(a.data, g) for g in gauges)
    df = df[(df.ds >= a.start) & (df.ds <= a.end)].sort_values(["unique_id", "ds"])
    df["ds"] = df.ds.dt.strftime("%Y-%m-%d")
    df[COLUMNS].to_csv(a.out, index=False, float_format="%.8g")


if __name__ == "__main__":
    main()
