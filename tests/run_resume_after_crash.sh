#!/bin/sh
# drc run --resume after a crash: one of the run's tasks kills drc with SIGKILL after three tasks
# ended DONE, and goes on running; the resumed run stops it, does not run the three DONE tasks
# again and finishes the other two.
# Usage: run_resume_after_crash.sh DRC DIR TASKS.yaml
set -eu
drc=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cp "$3" "$dir/tasks.yaml"
cd "$dir"
if "$drc" run tasks.yaml --workdir wd --quiet; then
  echo "the first run was not killed"
  exit 1
fi
test "$(wc -l < wd/first.count)" -eq 3
test ! -e wd/last.txt
touch allow
"$drc" run tasks.yaml --workdir wd --quiet --resume 2> resume.log
cat resume.log
grep -q "resuming wd: 3 of 5 tasks ended DONE" resume.log
grep -q "stopped 1 process(es) that the earlier run left running: crash (pid [0-9]*)" resume.log
test "$(wc -l < wd/first.count)" -eq 3  # not run again
test "$(cat wd/last.txt)" = last
"$drc" run tasks.yaml --workdir wd --quiet --resume 2>&1 | grep -q "nothing left to run"
echo "resumed without running a DONE task again"
