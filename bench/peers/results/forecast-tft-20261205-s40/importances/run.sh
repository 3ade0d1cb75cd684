#!/bin/sh
# TFT's variable importances, ours and NF's, on CAMELS with the forcings and the area, one fit on
# all but each basin's last week, 100 steps, seed 1.
out=$1
cam=/work/main/bench/results/forecast-exog-20261205T034859Z/camels.csv
/tmp/s40bin2/drc forecast --data $cam --models TFT --steps 100 --seed 1 --h 7 --input-size 28 --freq D --threads 2 --scaler standard --futr-exog prcp,srad,tmax,tmin,vp,dayl --stat-exog area --json --importances $out/drc_importances.csv > $out/drc.jsonl
/work/main/bench/peers/.venv-dl/bin/python /work/main/bench/peers/nf_exog.py $cam --models TFT --max-steps 100 --seed 1 --threads 2 --h 7 --input-size 28 --freq D --scaler standard --futr-exog prcp,srad,tmax,tmin,vp,dayl --stat-exog area --importances $out/nf_importances.csv > $out/nf.jsonl
# Ours at seeds 2 and 3 (how stable one side's weights are):
for s in 2 3; do
  /tmp/s40bin2/drc forecast --data $cam --models TFT --steps 100 --seed $s --h 7 --input-size 28 --freq D --threads 2 --scaler standard --futr-exog prcp,srad,tmax,tmin,vp,dayl --stat-exog area --json --importances $out/drc_importances_seed$s.csv >> $out/drc.jsonl
done
