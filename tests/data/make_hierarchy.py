#!/usr/bin/env python3
"""Writes hierarchy_Y.csv and hierarchy_S.csv from four_series.csv: its four monthly series
(east, north, south, west) and two sums of them, "coast" (east + west) and "total" (all four),
and the summing matrix as HierarchicalForecast's S_df.to_csv() writes it (unique_id, then a 0/1
column per bottom series), with the rows in another order than the data's (cli_forecast_hint*)."""
import csv
from collections import defaultdict

series = defaultdict(dict)
with open("four_series.csv") as f:
    for row in csv.DictReader(f):
        series[row["unique_id"]][row["ds"]] = float(row["y"])
bottom = ["east", "north", "south", "west"]
groups = {"coast": ["east", "west"], "total": bottom}
days = sorted(series["east"])
with open("hierarchy_Y.csv", "w") as f:
    f.write("unique_id,ds,y\n")
    for name in ["coast", "east", "north", "south", "total", "west"]:
        for day in days:
            y = sum(series[b][day] for b in groups.get(name, [name]))
            f.write(f"{name},{day},{y:.1f}\n")
with open("hierarchy_S.csv", "w") as f:
    f.write("unique_id," + ",".join(bottom) + "\n")
    for name in ["total", "coast"] + bottom:
        members = groups.get(name, [name])
        f.write(name + "," + ",".join("1" if b in members else "0" for b in bottom) + "\n")
