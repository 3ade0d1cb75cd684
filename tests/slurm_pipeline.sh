#!/bin/sh
# A pipeline as a Slurm batch job (examples/slurm_pipeline.sbatch on tests/data/pipeline_slurm.yaml)
# stopped as at its time limit, then submitted again. At the limit Slurm sends SIGTERM to the
# job's processes, drc's and its tasks' (`scancel --full --signal=TERM` does the same without
# waiting a minute; a real `--time=1` run on this cluster, by hand, ended the same way, exit
# 143, whichever of drc and the task saw the signal first): drc, inside the job, on the
# allocation as its pilot (--pilot auto), cancels what did not end, writes the journal's end
# and the report within Slurm's kill wait, and exits 143. The second job resumes: it runs only
# what did not end DONE (the prepare stage does not run again) and completes the pipeline.
#   sh slurm_pipeline.sh DRC WORKDIR TESTDATA SBATCH_SCRIPT   (SLURM_CONF: the test cluster)
set -eu
drc=$1 work=$2 data=$3 script=$4
rm -rf "$work"
mkdir -p "$work"
run=$work/run events=$work/run/events.jsonl

submit() { # submit N: the batch job, its output in job-N.log; prints the job id
  sbatch --parsable --nodes=1 --ntasks=2 --mem=2048 --time=5 --output="$work/job-$1.log" \
    --export=ALL,DRC_BIN="$drc" "$script" "$data/pipeline_slurm.yaml" "$run" | cut -d';' -f1
}
state() { squeue --noheader --states=all --jobs="$1" --format=%T 2>/dev/null | head -1; }
wait_end() { # wait_end JOB: until the job has ended (at most 120 s); prints its state
  i=0
  while :; do
    s=$(state "$1")
    case $s in PENDING | CONFIGURING | RUNNING | COMPLETING | "") ;; *) echo "$s"; return ;; esac
    i=$((i + 1))
    [ $i -lt 1200 ] || { echo "job $1 did not end in 120 s" >&2; scancel "$1"; exit 1; }
    sleep 0.1
  done
}

job=$(submit 1)
# Running: the prepare stage DONE (on the worker pool inside the job), long.wait executing.
i=0
until grep -q '"task":"long.wait".*"value":"EXECUTING"' "$events" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 1200 ] || { echo "long.wait did not start in 120 s" >&2; cat "$work/job-1.log" >&2; scancel "$job"; exit 1; }
  sleep 0.1
done
start=$(date +%s)
scancel --full --signal=TERM "$job"
first=$(wait_end "$job")
took=$(($(date +%s) - start))
cat "$work/job-1.log"
grep -q "inside Slurm job $job: the pilot is its allocation" "$work/job-1.log" ||
  { echo "drc did not take the job's allocation as its pilot" >&2; exit 1; }
grep -q -- "--resume" "$work/job-1.log" || { echo "no resume hint in the job's output" >&2; exit 1; }
[ "$took" -le 5 ] || { echo "the job took $took s to end after SIGTERM (KillWait is 5 s)" >&2; exit 1; }
grep -q '"kind":"pilot","value":"stop"' "$events" || { echo "the journal has no end" >&2; exit 1; }
grep -q '"task":"prepare".*"value":"DONE"' "$events" || { echo "prepare did not end DONE" >&2; exit 1; }
grep -q '<td>forecast.MLP</td><td class="bad">CANCELED</td>' "$run/report/index.html" ||
  { echo "the report lacks the canceled forecast" >&2; exit 1; }
echo "job $job stopped by SIGTERM ($first) in $took s: journal ended, report written"

touch "$work/go"
job=$(submit 2)
second=$(wait_end "$job")
cat "$work/job-2.log"
[ "$second" = COMPLETED ] || { echo "the resubmitted job ended $second" >&2; exit 1; }
grep -q "Every task ended DONE" "$run/report/index.html" ||
  { echo "the resumed report lacks: Every task ended DONE" >&2; exit 1; }
runs=$(grep -c '"task":"prepare".*"value":"EXECUTING"' "$events")
[ "$runs" -eq 1 ] || { echo "prepare ran $runs times" >&2; exit 1; }
grep -q '"task":"forecast.MLP".*"value":"DONE"' "$events" || { echo "forecast.MLP not DONE" >&2; exit 1; }
echo "job $job resumed and completed the pipeline; prepare ran once"
