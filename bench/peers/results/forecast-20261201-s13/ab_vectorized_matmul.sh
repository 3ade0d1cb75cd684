#!/bin/bash
# A/B: the batched product's clones scalar (old build, with the PCH) vs vectorized, OpenBLAS SkylakeX for both.
D=/work/shared/data/us_carrier/us_carrier_passenger.csv
NEW=/work/main/build/release/apps/drc/drc-dl.ab
OLD=/tmp/drc-dl.scalar
for r in 2; do
for m in Autoformer TimesNet; do
  for cfg in scalar vectorized; do
    if [ $cfg = scalar ]; then b=$OLD; else b=$NEW; fi
    OPENBLAS_CORETYPE=SkylakeX $b forecast --data $D --models $m --h 24 --input-size 24 --steps 100 --freq ME --seed 1 --threads 2 --json | sed "s/}\$/,\"cfg\":\"$cfg\",\"round\":$r}/" >> /tmp/ab/ab2.jsonl
  done
done
done
echo done >> /tmp/ab/status3
