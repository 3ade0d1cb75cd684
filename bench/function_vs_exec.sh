#!/usr/bin/env bash
# Function tasks on warm workers vs the same operation as a batch job per task: Radical-Cylon's
# comparison (JSSPP 2024 reports join and sort 4-15 % faster on Raptor's warm workers than as
# batch jobs). Each side runs N tasks of one distributed operator (`drc bench data --op OP` on
# RANKS ranks, ROWS rows per rank, generated in the task), one after another (a chain), on a
# local pilot of RANKS cores:
#   function: `function: data.OP` on the run's worker pool (started once, at the first task);
#   exec:     `drc bench data ... --backend mpi` launched by mpirun per task.
#   bash bench/function_vs_exec.sh [OP] [ROWS] [N] [RANKS]
#   bash bench/function_vs_exec.sh sort 1000000 10 2
# OP forecast trains MLP on the US air-carrier series instead (`drc forecast --models MLP
# --steps ROWS`, data-parallel on RANKS ranks) as `dl.forecast` on drc-dl's workers or as
# `drc forecast` launched per task; the operator's time is then the model's fit + predict.
# Prints, per side, the run's wall time, the operator's median time inside the tasks (rank 0's
# JSON line), and what each task cost beyond its operator: (wall - sum of operator times) / N.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
op=${1:-sort}
rows=${2:-1000000}
n=${3:-10}
ranks=${4:-2}
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
csv=${DRC_CARRIER_CSV:-$(cd "$root/.." && pwd)/shared/data/us_carrier/us_carrier_passenger.csv}
[ -x "$drc" ] || { echo "function_vs_exec: build first (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/drc-function-vs-exec.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A chain of N tasks, each depending on the one before (no two run at once).
write_file() {  # kind
  local kind=$1 file=$work/$1.yaml
  echo "pilot: {cores: $ranks}" >"$file"
  echo "tasks:" >>"$file"
  for ((i = 0; i < n; i++)); do
    echo "  - uid: t$i" >>"$file"
    if [ "$kind" = function ] && [ "$op" = forecast ]; then
      echo "    function: dl.forecast" >>"$file"
      echo "    args: {data: $csv, models: MLP, steps: $rows, freq: ME}" >>"$file"
    elif [ "$kind" = function ]; then
      echo "    function: data.$op" >>"$file"
      echo "    args: {rows: $rows}" >>"$file"
    elif [ "$op" = forecast ]; then
      echo "    shell: true" >>"$file"
      echo "    executable: '\"\$DRC_BIN\" forecast --data $csv --models MLP --steps $rows --freq ME --ranks $ranks --json'" >>"$file"
      echo "    environment: {OMPI_MCA_rmaps_base_oversubscribe: \"1\"}" >>"$file"
    else
      echo "    shell: true" >>"$file"
      echo "    executable: '\"\$DRC_BIN\" bench data --op $op --rows $rows --ranks $ranks --backend mpi --iters 1 --json'" >>"$file"
      echo "    environment: {OMPI_MCA_rmaps_base_oversubscribe: \"1\"}" >>"$file"
    fi
    echo "    ranks: $ranks" >>"$file"
    if ((i > 0)); then echo "    depends_on: [t$((i - 1))]" >>"$file"; fi
  done
}

for kind in exec function; do
  write_file "$kind"
  start=$(date +%s.%N)
  "$drc" run "$work/$kind.yaml" --workdir "$work/$kind-run" --quiet 2>"$work/$kind.log" ||
    { cat "$work/$kind.log" >&2; exit 1; }
  end=$(date +%s.%N)
  cat "$work/$kind-run"/t*/t*.out | python3 -c "
import json, statistics, sys
wall = $end - $start
ops = [json.loads(l)['seconds'] for l in sys.stdin if l.startswith('{')]
assert len(ops) == $n, f'{len(ops)} results for $n tasks'
print(json.dumps({'kind': '$kind', 'op': '$op', 'rows_per_rank': $rows, 'ranks': $ranks,
                  'tasks': $n, 'wall_s': round(wall, 3),
                  'op_median_s': round(statistics.median(ops), 4),
                  'beyond_op_per_task_s': round((wall - sum(ops)) / $n, 4)}))"
done
