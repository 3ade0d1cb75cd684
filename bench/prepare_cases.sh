# shellcheck shell=bash disable=SC2154  # $here comes from the sourcing script
# Shared by bench/prepare_join.sh and bench/prepare_features.sh (sourced, not run, with $here the
# bench folder): sets $drc (the release build's), $py (bench/peers/.venv's) and $work (a
# temporary folder, removed on exit), or stops when either program is missing; then
#   prepare_cases RUNS OUTPUT PEERS_SCRIPT PEER_INPUT...
# times a prepare stage's pipeline on 1 and 2 ranks against a peers script, alternated, and
# prints the medians. It needs $work/drc-1.yaml and drc-2.yaml, whose stage `prepare` writes
# OUTPUT, and a function same_as_pandas OUT.parquet that fails when OUT differs from
# $work/pandas.parquet. Writes $work/times: "case wall work" per run.

drc=$(dirname "$here")/build/release/apps/drc/drc
py=$here/peers/.venv/bin/python
[ -x "$drc" ] || { echo "$(basename "$0"): build first (make build)" >&2; exit 1; }
[ -x "$py" ] || { echo "$(basename "$0"): run bench/peers/setup_peers.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The function task's seconds: its launch to its exit, in the run's journal.
task_seconds() {
  "$py" - "$1" <<'PY'
import json, sys
t = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["task"] == "prepare" and e["kind"] in ("launch", "exit"):
        t[e["kind"]] = e["t"]
print(t["exit"] - t["launch"])
PY
}

prepare_cases() {
  local runs=$1 output=$2 peers=$3 start wall seconds out case
  shift 3
  for _ in $(seq "$runs"); do
    for case in pandas drc-1 drc-2 polars duckdb; do
      start=$(date +%s.%N)
      if [ "${case%-*}" = drc ]; then
        rm -rf "$work/run"
        "$drc" run "$work/$case.yaml" --workdir "$work/run" --quiet >/dev/null 2>&1
        wall=$(echo "$(date +%s.%N) - $start" | bc)
        seconds=$(task_seconds "$work/run/events.jsonl")
        out=$work/run/prepare/$output
      else
        seconds=$("$py" "$peers" --system "$case" "$@" "$work/$case.parquet" |
          "$py" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
        wall=$(echo "$(date +%s.%N) - $start" | bc)
        out=$work/$case.parquet
      fi
      same_as_pandas "$out" || { echo "$(basename "$0"): $case differs from pandas" >&2; exit 1; }
      echo "$case $wall $seconds" >>"$work/times"
    done
  done
  for case in drc-1 drc-2 pandas polars duckdb; do
    printf '%-7s wall %.2f s, work %.2f s\n' "$case" "$(case_median "$case" 2)" \
      "$(case_median "$case" 3)"
  done
}

# The median of field K of CASE's lines in $work/times.
case_median() {
  awk -v c="$1" -v k="$2" '$1 == c { print $k }' "$work/times" | sort -g |
    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
