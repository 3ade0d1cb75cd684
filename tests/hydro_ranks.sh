#!/bin/sh
# Data-parallel hydrology: `drc hydro --ranks 2` (under mpirun, each batch split over the ranks,
# gradients summed) takes the steps a one-rank run takes, so without dropout its NSE and final
# loss equal the one-rank run's up to the order of floating-point sums.
#   sh hydro_ranks.sh DRC
set -eu
drc=$1
run() {
  "$drc" hydro --basins 01022500,01547700 --epochs 2 --seq-length 30 --hidden 16 --dropout 0 \
    --threads 1 --ranks "$1" --json | tail -1
}
one=$(run 1)
two=$(run 2)
echo "$one"
echo "$two"
python3 - "$one" "$two" <<'PY'
import json, sys
one, two = (json.loads(a) for a in sys.argv[1:])
assert two["ranks"] == 2, two
for key in ("median_nse", "final_loss"):
    if abs(one[key] - two[key]) > 1e-6 * max(1.0, abs(one[key])):
        sys.exit("%s: 1 rank %r, 2 ranks %r" % (key, one[key], two[key]))
print("2 ranks = 1 rank: median NSE %.6f, final loss %.6f" % (two["median_nse"], two["final_loss"]))
PY
