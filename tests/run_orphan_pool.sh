#!/bin/sh
# A worker pool whose drc dies (SIGKILL: no chance to stop it) while a call runs: the workers
# hear no heartbeat for DRC_WORKER_SILENCE_S seconds and end the pool, the call unfinished,
# instead of computing on until it returns.
#   sh run_orphan_pool.sh DRC WORKDIR TESTDATA
set -eu
drc=$1 work=$2 data=$3
rm -rf "$work"
DRC_WORKER_SILENCE_S=2 "$drc" run "$data/tasks_long_function.yaml" --workdir "$work" --quiet \
  2>"$work.log" &
pid=$!
i=0
until grep -q '"task":"long".*"value":"EXECUTING"' "$work/events.jsonl" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 600 ] || { echo "the task did not start in 60 s" >&2; kill -9 $pid; exit 1; }
  sleep 0.1
done
# The pool: drc's child mpirun and its children, the workers.
pool=""
for launcher in $(pgrep -P $pid); do pool="$pool $launcher $(pgrep -P "$launcher" | tr '\n' ' ')"; done
[ -n "$(echo $pool)" ] || { echo "no worker pool under drc ($pid)" >&2; kill -9 $pid; exit 1; }
kill -9 $pid
wait $pid 2>/dev/null || true
start=$(date +%s)
while :; do
  left=""
  for p in $pool; do
    if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]; then
      left="$left $p"
    fi
  done
  [ -n "$left" ] || break
  if [ $(($(date +%s) - start)) -gt 30 ]; then
    echo "the pool's processes$left outlived drc by 30 s" >&2
    kill -9 $left
    exit 1
  fi
  sleep 0.2
done
echo "the orphaned pool ($(echo $pool | wc -w) processes) ended $(($(date +%s) - start)) s after drc"
