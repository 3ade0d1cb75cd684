#!/usr/bin/env bash
# Runs the dead-peer program under mpirun -np 2 and passes only if the launcher aborts the job
# (non-zero exit) within the deadline instead of hanging.
#   dead_peer_test.sh SECONDS MPIEXEC PROGRAM [MPIRUN FLAGS...]
set -u
deadline=$1 mpiexec=$2 program=$3
shift 3
start=$(date +%s)
timeout --kill-after=5 "$deadline" "$mpiexec" -np 2 "$@" "$program"
rc=$?
elapsed=$(( $(date +%s) - start ))
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "FAIL: mpirun still running after ${deadline} s (rc $rc): the job hung" >&2
  exit 1
fi
if [ "$rc" -eq 0 ]; then
  echo "FAIL: mpirun exited 0 although rank 1 died" >&2
  exit 1
fi
echo "PASS: mpirun aborted the job with exit code $rc after ${elapsed} s"
