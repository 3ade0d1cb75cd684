#!/usr/bin/env bash
# drc forecast vs NeuralForecast on synthetic panels of many monthly series (bench/many_series.py),
# the published settings otherwise (h=24, input_size=24, max_steps=100, NF's defaults): does the
# time stay flat as series are added, and do the MAEs stay together? bench/forecast_compare.sh per
# panel, so the same table and result folders.
#   bash bench/many_series_compare.sh [MODELS] [SIZES] [THREADS]
#   bash bench/many_series_compare.sh MLP,NHITS "100 1000 10000" 2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
models=${1:-MLP,NHITS}
sizes=${2:-100 1000 10000}
threads=${3:-$(nproc)}
panels=$(mktemp -d)
trap 'rm -rf "$panels"' EXIT
for n in $sizes; do
  python3 "$here/many_series.py" "$n" "$panels/panel-$n.csv"
  echo "== $n series ($(($(wc -l <"$panels/panel-$n.csv") - 1)) rows)"
  DRC_CARRIER_CSV="$panels/panel-$n.csv" bash "$here/forecast_compare.sh" "$models" 1 "$threads"
done
