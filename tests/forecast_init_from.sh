#!/bin/sh
# drc forecast --init-from: a model that --checkpoint-dir saved, loaded and not trained further
# (--steps 0), forecasts what it forecast when saved, on 1 rank and on 2; trained on from there,
# it forecasts otherwise; a folder without the model's checkpoint is refused, naming what lacks.
#   sh forecast_init_from.sh DRC CARRIER_CSV WORKDIR
set -eu
drc=$1
csv=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
run() {
  "$drc" forecast --data "$csv" --models MLP --threads 1 --json "$@" |
    sed -n 's/.*"mae":\([0-9.e+-]*\).*/\1/p'
}
saved=$(run --steps 5 --checkpoint-dir "$dir/saved")
loaded=$(run --steps 0 --init-from "$dir/saved")
two=$(run --steps 0 --init-from "$dir/saved" --ranks 2)
on=$(run --steps 5 --init-from "$dir/saved")
if [ -z "$saved" ] || [ "$loaded" != "$saved" ] || [ "$two" != "$saved" ]; then
  echo "loaded MAE $loaded (2 ranks: $two), saved $saved" >&2
  exit 1
fi
if [ -z "$on" ] || [ "$on" = "$saved" ]; then
  echo "trained on from the checkpoint, MAE $on, saved $saved" >&2
  exit 1
fi
if "$drc" forecast --data "$csv" --models MLP --steps 5 --init-from "$dir/none" 2>"$dir/err"; then
  echo "a folder without MLP.ckpt was accepted" >&2
  exit 1
fi
grep -q "init_from $dir/none has no MLP.ckpt" "$dir/err"
echo "loaded = saved: MAE $saved on 1 and 2 ranks; trained on: MAE $on; missing checkpoint refused"
