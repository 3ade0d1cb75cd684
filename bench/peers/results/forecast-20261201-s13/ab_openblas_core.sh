#!/bin/bash
# A/B: OpenBLAS Prescott kernels (forced, = before the fix on this host) vs the fix, same binary.
D=/work/shared/data/us_carrier/us_carrier_passenger.csv
B=/work/main/build/release/apps/drc/drc
for r in 1 2; do
for m in MLP RNN LSTM GRU TCN DilatedRNN DeepAR NBEATS NHITS PatchTST TimesNet Autoformer FEDformer VanillaTransformer; do
  for cfg in prescott fixed; do
    if [ $cfg = prescott ]; then e="OPENBLAS_CORETYPE=Prescott"; else e="DRC_AB=1"; fi
    env $e $B forecast --data $D --models $m --h 24 --input-size 24 --steps 100 --freq ME --seed 1 --threads 2 --json | sed "s/}\$/,\"cfg\":\"$cfg\",\"round\":$r}/" >> /tmp/ab/ab.jsonl
  done
done
done
echo done >> /tmp/ab/status
