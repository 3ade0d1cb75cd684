"""Alternated A/B of `drc forecast` seconds over --window-parts settings (session 8).

    python3 ab_window_parts.py MODEL SEEDS ROUNDS DRC_DL PARTS...
    python3 ab_window_parts.py RNN 1,2,3 4 /tmp/wp/drc-dl 1 0

Runs every PARTS value once per seed and round, in turn, and prints per value the median and
minimum seconds (and the speed-up of each against the first) and the MAE per seed. The carrier
CSV is $DRC_CARRIER_CSV, else ../shared/data/us_carrier/us_carrier_passenger.csv.
"""
import json
import os
import statistics
import subprocess
import sys

model, seeds, rounds, binary = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
variants = sys.argv[5:]
csv = os.environ.get("DRC_CARRIER_CSV", "../shared/data/us_carrier/us_carrier_passenger.csv")
seconds = {v: [] for v in variants}
mae = {v: {} for v in variants}
for _ in range(rounds):
    for s in seeds:
        for v in variants:
            out = subprocess.run([binary, "forecast", "--data", csv, "--models", model, "--h", "24",
                                  "--input-size", "24", "--steps", "100", "--seed", s,
                                  "--threads", "2", "--window-parts", v, "--json"],
                                 capture_output=True, text=True, check=True).stdout
            d = json.loads(out.strip().splitlines()[-1])
            seconds[v].append(d["seconds"])
            mae[v][s] = round(d["mae"])
base = statistics.median(seconds[variants[0]])
for v in variants:
    med = statistics.median(seconds[v])
    print(f"{model:11s} parts={v} median {med:.3f} ({base / med:.2f}x) min {min(seconds[v]):.2f} "
          f"mae {mae[v]}")
