#!/usr/bin/env bash
# Side by side: task throughput and time-to-first-task of Deep RC (`drc bench tasks`) and
# RADICAL-Pilot (bench/peers/rp_tasks.py, resource local.localhost), same machine, same tasks
# (N x /bin/true, 1 core, 1 rank), plus the raw posix_spawn baseline that `drc bench tasks`
# measures in its own process. Repetitions are interleaved; the table shows medians.
#
#   bash bench/peers/compare_tasks.sh [N]        (default N=1000)
#
# Needs build/release/apps/drc/drc (`make build` from the repository root) and sets up
# bench/peers/.venv on first use (bench/peers/setup_peers.sh). Builds nothing itself.
# Environment:
#   REPS=3             repetitions of each run
#   RP_WORKDIR=/dev/shm  where RP's client and pilot sandboxes go (ours: /dev/shm by default)
#   RP_TIMEOUT=900     seconds before one RP run is ended
#   RESULTS=FILE       where the raw JSON lines go (default: a file under /tmp, printed)
# Each repetition runs, in this order:
#   ours      drc bench tasks --n N --json                  (run directory on /dev/shm)
#   ours_ext4 drc bench tasks --n N --json --workdir /tmp   (run directory on ext4)
#   rp        rp_tasks.py N --no-profile                    (throughput without RP's profiler)
#   rp_prof   rp_tasks.py N                                 (RADICAL_PROFILE=TRUE: the task
#             timestamps that time-to-first-task needs; profiling costs RP throughput)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/bench/peers"
N=${1:-1000}
REPS=${REPS:-3}
RP_WORKDIR=${RP_WORKDIR:-/dev/shm}
RP_TIMEOUT=${RP_TIMEOUT:-900}
RESULTS=${RESULTS:-$(mktemp /tmp/drc-peers-tasks-XXXXXX.jsonl)}
drc="$root/build/release/apps/drc/drc"

if [ ! -x "$drc" ]; then
  echo "compare_tasks: $drc is missing; run 'make build' in $root first" >&2
  exit 2
fi
bash "$here/setup_peers.sh"
py="$here/.venv/bin/python"
: >"$RESULTS"

# One run: label, then the command; its JSON line (tagged with the label) goes to $RESULTS.
run() {
  local label=$1 out rc=0
  shift
  out=$("$@" 2>"$RESULTS.stderr") || rc=$?
  local line
  line=$(printf '%s\n' "$out" | grep '^{' | tail -n 1 || true)
  if [ -z "$line" ]; then
    line="{\"error\": \"no JSON (exit $rc)\"}"
    echo "compare_tasks: $label failed (exit $rc); stderr:" >&2
    tail -n 20 "$RESULTS.stderr" >&2 || true
  fi
  printf '{"label": "%s", "rep": %d, "exit": %d, "result": %s}\n' "$label" "$rep" "$rc" "$line" \
    >>"$RESULTS"
  printf '  %-9s %s\n' "$label" "$line" >&2
}

echo "compare_tasks: N=$N, $REPS repetitions, $(nproc) cores; raw results in $RESULTS" >&2
for rep in $(seq 1 "$REPS"); do
  echo "repetition $rep/$REPS" >&2
  run ours timeout -k 10 600 "$drc" bench tasks --n "$N" --json
  run ours_ext4 timeout -k 10 600 "$drc" bench tasks --n "$N" --json --workdir /tmp
  run rp timeout -k 30 $((RP_TIMEOUT + 60)) "$py" "$here/rp_tasks.py" "$N" --no-profile \
    --workdir "$RP_WORKDIR" --timeout "$RP_TIMEOUT"
  run rp_prof timeout -k 30 $((RP_TIMEOUT + 60)) "$py" "$here/rp_tasks.py" "$N" \
    --workdir "$RP_WORKDIR" --timeout "$RP_TIMEOUT"
done
rm -f "$RESULTS.stderr"

"$py" - "$RESULTS" "$N" <<'EOF'
import json, statistics, sys

path, n = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(path):
    r = json.loads(line)
    runs.setdefault(r['label'], []).append(r['result'])

def med(label, key):
    vals = [r[key] for r in runs.get(label, []) if isinstance(r.get(key), (int, float))]
    return (statistics.median(vals), vals) if vals else (None, [])

def fmt(v, spec):
    return format(v, spec) if v is not None else 'n/a'

rows = [
    ('Deep RC, /dev/shm', 'ours'),
    ('Deep RC, ext4 /tmp', 'ours_ext4'),
    ('RADICAL-Pilot', 'rp'),
    ('RADICAL-Pilot, profiled', 'rp_prof'),
]
version = next((r.get('version') for r in runs.get('rp', []) + runs.get('rp_prof', [])
                if r.get('version')), '?')
print()
print('N = %d tasks of /bin/true, 1 core each; medians of %d repetitions; RP %s'
      % (n, max(len(v) for v in runs.values()), version))
print()
print('| system | tasks/s | seconds | time to first task (s) | done | setup (s) | runs (tasks/s) |')
print('|---|---:|---:|---:|---:|---:|---|')
for name, label in rows:
    rate, rates = med(label, 'tasks_per_s')
    secs, _ = med(label, 'seconds')
    ttft, _ = med(label, 'time_to_first_task_s')
    done, _ = med(label, 'done')
    setup, _ = med(label, 'session_setup_s')
    print('| %s | %s | %s | %s | %s | %s | %s |' % (
        name, fmt(rate, '.1f'), fmt(secs, '.3f'), fmt(ttft, '.4f'),
        fmt(done, '.0f'), fmt(setup, '.1f'), ', '.join('%.1f' % x for x in rates)))
raw, raws = med('ours', 'raw_spawn_per_s')
raw4, raws4 = med('ours_ext4', 'raw_spawn_per_s')
allraw = raws + raws4
rawm = statistics.median(allraw) if allraw else None
print('| raw posix_spawn (same process) | %s | | | | | %s |'
      % (fmt(rawm, '.1f'), ', '.join('%.1f' % x for x in allraw)))
print()
ours, _ = med('ours', 'tasks_per_s')
ours4, _ = med('ours_ext4', 'tasks_per_s')
rp, _ = med('rp', 'tasks_per_s')
rpp, _ = med('rp_prof', 'tasks_per_s')
frac, _ = med('ours', 'fraction_of_raw')
ttft_ours, _ = med('ours', 'time_to_first_task_s')
ttft_rp, _ = med('rp_prof', 'time_to_first_task_s')
rank_rp, _ = med('rp_prof', 'first_rank_start_s')
def ratio(a, b):
    return a / b if a is not None and b else None
print('ours / raw spawn (median of per-run fractions): %s' % fmt(frac, '.3f'))
print('ours / RP throughput: %sx (ext4 /tmp: %sx; vs profiled RP: %sx)'
      % (fmt(ratio(ours, rp), '.1f'), fmt(ratio(ours4, rp), '.1f'), fmt(ratio(ours, rpp), '.1f')))
print('RP / ours time-to-first-task: %sx (RP AGENT_EXECUTING %s s, RP first rank_start %s s, '
      'ours EXECUTING %s s)' % (fmt(ratio(ttft_rp, ttft_ours), '.0f'), fmt(ttft_rp, '.3f'),
                                 fmt(rank_rp, '.3f'), fmt(ttft_ours, '.4f')))
EOF
