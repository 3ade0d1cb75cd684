#!/bin/sh
# Models trained as function tasks on drc-dl's worker pool give exactly what `drc forecast`
# gives: the same MAE to the last digit for MLP and NHITS on one rank, and MLP on two ranks
# (data-parallel over the task's private communicator vs over an mpirun job's world).
#   sh run_forecast_functions.sh DRC WORKDIR TASKFILE CSV
set -eu
drc=$1 work=$2 file=$3 csv=$4
rm -rf "$work"
"$drc" run "$file" --workdir "$work" --quiet
mae() { sed -n 's/.*"mae":\([0-9.e+-]*\).*"model":"\([A-Za-z]*\)".*"ranks":\([0-9]*\).*/\2 \3 \1/p'; }
mae <"$work/gather/gather.out" >"$work/functions.txt"
{
  "$drc" forecast --data "$csv" --models MLP,NHITS --steps 5 --freq ME --threads 1 --json
  "$drc" forecast --data "$csv" --models MLP --steps 5 --freq ME --threads 1 --ranks 2 --json
} | mae >"$work/cli.txt"
cat "$work/functions.txt"
[ "$(wc -l <"$work/functions.txt")" -eq 3 ] || { echo "expected 3 results" >&2; exit 1; }
diff "$work/cli.txt" "$work/functions.txt" && echo "function tasks = drc forecast"
