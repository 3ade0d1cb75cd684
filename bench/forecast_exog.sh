#!/usr/bin/env bash
# drc forecast vs NeuralForecast with exogenous variables, side by side on real data: daily
# streamflow (mm/day) of the 4 CAMELS-US sample basins, 2000-2002, forecast h=7 days from 28
# (MLP by default, max_steps 500, standard scaler), once with the Daymet forcings as future exogenous
# columns and once without (the baseline), so that the gain from the exogenous variables shows
# on both sides. Scored by cross-validation over 2002 (52 weekly cutoffs, refit=False: one fit
# on 2000-2001), not on one week. Same seeds and intra-op threads, alternated.
#   bash bench/forecast_exog.sh [SEEDS] [THREADS] [EXOG FLAGS] [MODEL]
#   bash bench/forecast_exog.sh "1 2 3" 2
#   bash bench/forecast_exog.sh 1 2 "--futr-exog prcp,tmax --stat-exog area" NHITS
# Writes bench/results/forecast-exog-<timestamp>/camels.csv (bench/peers/camels_long.py), JSON
# lines to {drc,nf}_{exog,base}_seed<S>.jsonl there, and prints the table (median MAE and
# seconds over seeds) to table.md. Run it on a quiet machine: the seconds are wall times.
# Needs the release build and `bash bench/peers/setup_dl_peers.sh`.
# DRC_BIN=PATH runs another drc binary (e.g. a copy, so that rebuilding does not change a run).
# STEPS=N trains N steps instead of 500 (for the slow transformers, whose NF runs take minutes).
# DATA=carrier runs the US air-carrier series instead, with the issue's settings (h=24 from 24,
# 100 steps, hold-out of the last 24 months; standard scaler) and a text column `month` (Jan ..
# Dec) as a future categorical variable (--futr-exog month --cat-exog month, NF's cat_exog_list),
# against the plain model:
#   DATA=carrier bash bench/forecast_exog.sh "1 2 3" 2 "" LSTM
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
seeds=${1:-1 2 3}
threads=${2:-$(nproc)}
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
py=$here/peers/.venv-dl/bin/python
out=$root/bench/results/forecast-exog-$(date -u +%Y%m%dT%H%M%SZ)
csv=$out/camels.csv
mkdir -p "$out"

bash "$here/peers/setup_dl_peers.sh"
[ -x "$drc" ] || { echo "forecast_exog: build first (make build)" >&2; exit 1; }
if [ "${DATA:-camels}" = carrier ]; then
  csv=$out/carrier_month.csv
  "$py" - "$root/../shared/data/us_carrier/us_carrier_passenger.csv" "$csv" <<'EOF'
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1], parse_dates=["ds"])
df["month"] = df["ds"].dt.strftime("%b")
df[["unique_id", "ds", "y", "month"]].to_csv(sys.argv[2], index=False, date_format="%Y-%m-%d")
EOF
  common=(--h 24 --input-size 24 --freq ME --threads "$threads" --scaler standard)
  default_exog="--futr-exog month --cat-exog month"
  default_steps=100
else
  "$py" "$here/peers/camels_long.py" "$csv"
  common=(--h 7 --input-size 28 --freq D --threads "$threads" --scaler standard --cv-windows 52
    --cv-step 7)
  default_exog="--futr-exog prcp,srad,tmax,tmin,vp,dayl"
  default_steps=500
fi
read -ra exog <<<"${3:-$default_exog}"
model=${4:-MLP}
steps=${STEPS:-$default_steps}
for s in $seeds; do
  for kind in exog base; do
    flags=()
    if [ "$kind" = exog ]; then flags=("${exog[@]}"); fi
    "$drc" forecast --data "$csv" --models "$model" --steps "$steps" --seed "$s" "${common[@]}" \
      "${flags[@]}" --json | sed "s/}\$/,\"seed\":$s}/" >>"$out/drc_${kind}_seed$s.jsonl"
    "$py" "$here/peers/nf_exog.py" "$csv" --models "$model" --max-steps "$steps" --seed "$s" \
      "${common[@]}" "${flags[@]}" >>"$out/nf_${kind}_seed$s.jsonl"
  done
done

/usr/bin/python3 - "$out" "$here/peers" "$model" <<'EOF' | tee "$out/table.md"
import glob, statistics, sys
sys.path.insert(0, sys.argv[2])
import json_lines
print("| model | side | runs | median MAE | median s |\n|---|---|---|---|---|")
for kind, label in (("base", sys.argv[3]), ("exog", sys.argv[3] + "+exog")):
    for side, name in (("drc", "drc"), ("nf", "NF")):
        rs = [r for r in json_lines.read(*sorted(glob.glob(f"{sys.argv[1]}/{side}_{kind}_seed*.jsonl")))
              if "mae" in r]
        if rs:
            print(f"| {label} | {name} | {len(rs)} | {statistics.median(r['mae'] for r in rs):.3f} "
                  f"| {statistics.median(r['seconds'] for r in rs):.1f} |")
EOF
