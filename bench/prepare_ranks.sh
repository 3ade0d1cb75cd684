#!/usr/bin/env bash
# A prepare stage alone on a synthetic panel, on 1 and on 2 ranks (and on 2 ranks partitioned:
# each writes its part, nothing gathered), rows shuffled and in order (docs/pipeline.md, "A
# prepare stage on several ranks"): wall time of each whole `drc run`, runs alternated, the
# median printed per case.
#   bash bench/prepare_ranks.sh [SERIES] [RUNS]        (defaults: 10000 series, 3 runs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
drc=$(dirname "$here")/build/release/apps/drc/drc
series=${1:-10000}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$drc" ] || { echo "prepare_ranks: build first (make build)" >&2; exit 1; }

python3 "$here/many_series.py" "$series" "$work/sorted.csv"
(head -1 "$work/sorted.csv" && tail -n +2 "$work/sorted.csv" | shuf --random-source=<(yes)) \
  >"$work/shuffled.csv"
for input in shuffled sorted; do
  for ranks in 1 2 2p; do
    partitioned=false
    [ "$ranks" = 2p ] && partitioned=true
    cat >"$work/$input-$ranks.yaml" <<YAML
pilot: {cores: 2}
stages:
  - {name: prepare, kind: prepare, input: $work/$input.csv, drop_nulls: [y], resample: ME,
     ranks: ${ranks%p}, partitioned: $partitioned}
YAML
  done
done
for _ in $(seq "$runs"); do
  for input in shuffled sorted; do
    for ranks in 1 2 2p; do
      rm -rf "$work/run"
      start=$(date +%s.%N)
      "$drc" run "$work/$input-$ranks.yaml" --workdir "$work/run" --quiet >/dev/null 2>&1
      echo "$input $ranks $(echo "$(date +%s.%N) - $start" | bc)" >>"$work/times"
    done
  done
done
for input in shuffled sorted; do
  for ranks in 1 2 2p; do
    median=$(awk -v i="$input" -v r="$ranks" '$1 == i && $2 == r { print $3 }' "$work/times" |
      sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf '%-8s rows, %s rank(s)%s: %.2f s\n' "$input" "${ranks%p}" \
      "$([ "$ranks" = 2p ] && echo ', partitioned')" "$median"
  done
done
