#!/bin/sh
# A/B of TFT before (4d1d276, /tmp/s40bin) and after (c75f906, /tmp/s40bin2) the folded selection networks.
out=$1
car=/work/shared/data/us_carrier/us_carrier_passenger.csv
cam=/work/main/bench/results/forecast-exog-20261205T034859Z/camels.csv
for s in 1 2 3; do
  for b in s40bin s40bin2; do
    /tmp/$b/drc forecast --data $car --models TFT --h 24 --input-size 24 --steps 100 --freq ME --seed $s --threads 2 --json | sed "s/}\$/,\"bin\":\"$b\",\"seed\":$s,\"data\":\"carrier\"}/" >> $out
  done
done
for b in s40bin s40bin2; do
  /tmp/$b/drc forecast --data $cam --models TFT --steps 100 --seed 1 --h 7 --input-size 28 --freq D --threads 2 --scaler standard --cv-windows 52 --cv-step 7 --futr-exog prcp,srad,tmax,tmin,vp,dayl --stat-exog area --json | sed "s/}\$/,\"bin\":\"$b\",\"seed\":1,\"data\":\"camels-exog\"}/" >> $out
done
