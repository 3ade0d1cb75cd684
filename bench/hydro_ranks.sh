#!/usr/bin/env bash
# drc hydro on 2 ranks, the basins sharded (each rank reads only its basins' files from the CAMELS
# folder and evaluates only them), against one rank of 2 threads (docs/dl-benchmarks.md,
# "Hydrology on ranks"). The folder holds BASINS basins: the first BASINS gauges of CAMELS-US'
# attribute files that have every default attribute, each with the forcings and discharge of one
# of the sample's 4 basins in turn (so the inputs repeat; the attributes are the gauges' own).
# Wall time and the largest process's peak RSS (/usr/bin/time), runs alternated, medians.
#   bash bench/hydro_ranks.sh [BASINS] [RUNS] [EPOCHS]   (defaults: 64 basins, 3 runs, 1 epoch)
# DRC=PATH runs another drc binary (e.g. an older one, for a before/after comparison).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
drc=${DRC:-$root/build/release/apps/drc/drc}
basins=${1:-64}
runs=${2:-3}
epochs=${3:-1}
sample=${DRC_CAMELS_DIR:-$root/../shared/data/camels_us_sample}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$drc" ] || { echo "hydro_ranks: build first (make build)" >&2; exit 1; }

python3 - "$sample" "$work/camels" "$basins" <<'PY'
import os, shutil, sys
sample, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
attributes = os.path.join(sample, "attributes")
complete = None
for name in sorted(os.listdir(attributes)):
    if not name.startswith("camels_"):
        continue
    rows = [line.rstrip("\n").split(";") for line in open(os.path.join(attributes, name))]
    ok = {r[0] for r in rows[1:] if "NA" not in r and "" not in r}
    complete = ok if complete is None else complete & ok
gauges = sorted(complete)[:count]
if len(gauges) < count:
    sys.exit("only %d gauges have every attribute" % len(gauges))
sources = sorted(f[:8] for f in os.listdir(os.path.join(sample, "forcing_daymet")))
for sub in ("forcing_daymet", "streamflow"):
    os.makedirs(os.path.join(out, sub))
shutil.copytree(attributes, os.path.join(out, "attributes"))
for i, gauge in enumerate(gauges):
    src = sources[i % len(sources)]
    shutil.copy(os.path.join(sample, "forcing_daymet", src + "_lump_cida_forcing_leap.txt"),
                os.path.join(out, "forcing_daymet", gauge + "_lump_cida_forcing_leap.txt"))
    with open(os.path.join(sample, "streamflow", src + "_streamflow_qc.txt")) as f:
        text = f.read().replace(src, gauge)
    with open(os.path.join(out, "streamflow", gauge + "_streamflow_qc.txt"), "w") as f:
        f.write(text)
PY
hydro() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$drc" hydro --data "$work/camels" --epochs "$epochs" \
    --json "$@" >"$work/out"
  echo "$(cat "$work/time") $(sed -n 's/.*"median_nse":\([0-9.e+-]*\).*/\1/p' "$work/out")"
}
for _ in $(seq "$runs"); do
  echo "ranks2 $(hydro --ranks 2 --threads 1)" >>"$work/times"
  echo "one $(hydro --threads 2)" >>"$work/times"
done
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for case in ranks2 one; do
  s=$(awk -v c="$case" '$1 == c { print $2 }' "$work/times" | median)
  kb=$(awk -v c="$case" '$1 == c { print $3 }' "$work/times" | median)
  nse=$(awk -v c="$case" '$1 == c { print $4 }' "$work/times" | median)
  printf '%-6s %6.2f s  %5.2f GB peak per process  median NSE %.4f\n' "$case" "$s" \
    "$(echo "$kb / 1048576" | bc -l)" "$nse"
done
