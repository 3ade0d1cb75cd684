#!/usr/bin/env python3
"""Writes panel_unequal.csv: 40 daily series of 40-79 points (40 + 7 k mod 40), all ending on
2020-03-19, y = 100 + 10 k + 8 sin(2 pi t / 7 + k) + 0.3 t. More series than NF's batch_size
(32) and of different lengths: an epoch has two batches, and the shorter series train on
windows that start in NF's front padding (tests/CMakeLists.txt, cli_forecast_panel_nf_draws).
Also panel_unequal_exog.csv: the same rows with a future variable f = sin(0.7 d), d the day's
number from 2020-01-01, and a static one s = k / 10 (cli_forecast_multivariate_exog)."""
import datetime
import math

rows = ["unique_id,ds,y"]
exog = ["unique_id,ds,y,f,s"]
for k in range(40):
    n = 40 + (7 * k) % 40
    start = datetime.date(2020, 1, 1) + datetime.timedelta(days=79 - n)
    for t in range(n):
        day = start + datetime.timedelta(days=t)
        y = 100 + 10 * k + 8 * math.sin(2 * math.pi * t / 7 + k) + 0.3 * t
        rows.append(f"s{k:02d},{day.isoformat()},{y:.3f}")
        d = (day - datetime.date(2020, 1, 1)).days
        exog.append(f"{rows[-1]},{math.sin(0.7 * d):.4f},{k / 10:.1f}")
with open("panel_unequal.csv", "w") as out:
    out.write("\n".join(rows) + "\n")
with open("panel_unequal_exog.csv", "w") as out:
    out.write("\n".join(exog) + "\n")
