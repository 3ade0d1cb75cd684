#!/bin/sh
# SIGINT (or SIGTERM) to `drc run` while its tasks run: it cancels them (a process task's group
# is killed, the worker pool of a function task stopped), cancels what waits on them, writes
# the journal and the pipeline's report, says how to resume, and exits 128 + the signal within
# seconds; the task's process does not outlive it.
#   sh run_interrupt.sh DRC WORKDIR TESTDATA SIGNAL
set -eu
drc=$1 work=$2 data=$3 signal=$4
rm -rf "$work"
"$drc" run "$data/pipeline_interrupt.yaml" --workdir "$work" --quiet 2>"$work.log" &
pid=$!
# Both long tasks executing (the shell task's pid written, the function task on the pool).
i=0
until [ -s "$work/long.shell/pid" ] &&
  grep -q '"task":"long.function".*"value":"EXECUTING"' "$work/events.jsonl" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 600 ] || { echo "the tasks did not start in 60 s" >&2; kill -9 $pid; exit 1; }
  sleep 0.1
done
task=$(cat "$work/long.shell/pid")
start=$(date +%s)
kill -s "$signal" $pid
rc=0
wait $pid || rc=$?
took=$(($(date +%s) - start))
cat "$work.log"
case $signal in INT) want=130 ;; TERM) want=143 ;; *) want=0 ;; esac
[ "$rc" -eq "$want" ] || { echo "drc run exited $rc, expected $want" >&2; exit 1; }
[ "$took" -le 20 ] || { echo "drc run took $took s to stop" >&2; exit 1; }
if kill -0 "$task" 2>/dev/null; then
  echo "the shell task's process $task outlived drc run" >&2
  kill -9 "$task"
  exit 1
fi
for uid in long.shell long.function later; do
  grep -q "\"task\":\"$uid\".*\"value\":\"CANCELED\"" "$work/events.jsonl" ||
    { echo "$uid was not journalled CANCELED" >&2; exit 1; }
done
grep -q '"kind":"pilot","value":"stop"' "$work/events.jsonl" || { echo "no pilot stop" >&2; exit 1; }
grep -q '<td>later</td><td class="bad">CANCELED</td>' "$work/report/index.html" ||
  { echo "the report lacks the canceled stage" >&2; exit 1; }
grep -q "canceled: drc run got SIG$signal" "$work/report/index.html" ||
  { echo "the report lacks the reason" >&2; exit 1; }
grep -q -- "--resume\` runs what did not end DONE" "$work.log"
echo "interrupted by SIG$signal: exit $rc in $took s, tasks canceled, report written"
