#!/usr/bin/env bash
set -x
cd /work/main
export DRC_BIN=/tmp/s45bin/drc
bash bench/forecast_compare.sh XLinear,SOFTSSharp "1 2 3" 2 2
DRC_CARRIER_CSV=/tmp/panel-100.csv bash bench/forecast_compare.sh XLinear "1 2 3" 2 1
bash bench/forecast_exog.sh "1 2 3" 2 "--futr-exog prcp,srad,tmax,tmin,vp,dayl --stat-exog area" XLinear
P=tests/data/panel_unequal.csv
for side in drc nf drc nf; do
  if [ $side = drc ]; then /tmp/s45bin/drc forecast --data $P --models SOFTSSharp --h 6 --input-size 12 --freq D --steps 100 --seed 1 --threads 2 --json
  else bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py $P --models SOFTSSharp --h 6 --input-size 12 --freq D --max-steps 100 --seed 1 --threads 2; fi
done
echo BENCH_DONE
