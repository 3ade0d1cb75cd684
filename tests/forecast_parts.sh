#!/bin/sh
# drc forecast on a partitioned table: --data 'DIR/part-{rank}.csv' --ranks 2, each part holding
# whole series, or one file that the ranks split by series (--partition). Before any training step (--steps 0) its forecasts are one rank's on the whole
# table, so the metrics must agree; a trained run reports partitioned; a part beyond the ranks
# and a series in two parts are errors.
#   sh forecast_parts.sh DRC CARRIER_CSV WORKDIR
set -eu
drc=$1
csv=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
# Three series from the carrier's (columns y, ds, unique_id): A as is, B halved, C plus 10 000,
# each with a column x of its own (a different sawtooth per series, read by TFT below only).
# A and C go to part 0, B to part 1; all.csv holds the three.
awk -F, -v dir="$dir" 'NR == 1 { print "unique_id,ds,y,x" > dir "/all.csv"
                                 print "unique_id,ds,y,x" > dir "/part-0.csv"
                                 print "unique_id,ds,y,x" > dir "/part-1.csv"; next }
  { a = "A," $2 "," $1 "," NR % 5; b = "B," $2 "," $1 / 2 "," NR % 7
    c = "C," $2 "," $1 + 10000 "," NR % 3
    print a > dir "/all.csv"; print b > dir "/all.csv"; print c > dir "/all.csv"
    print a > dir "/part-0.csv"; print c > dir "/part-0.csv"; print b > dir "/part-1.csv" }' "$csv"
run() {
  data=$1
  shift
  "$drc" forecast --data "$data" --models MLP,NHITS --h 12 --input-size 12 --threads 1 --json "$@"
}
one=$(run "$dir/all.csv" --steps 0)
parts=$(run "$dir/part-{rank}.csv" --steps 0 --ranks 2)
trained=$(run "$dir/part-{rank}.csv" --steps 5 --ranks 2)
python3 - "$one" "$parts" "$trained" <<'PY'
import json, sys
one, parts, trained = ([json.loads(l) for l in a.splitlines()] for a in sys.argv[1:])
for o, p in zip(one, parts):
    assert p["partitioned"] and p["ranks"] == 2 and not o["partitioned"], (o, p)
    for key in ("mae", "rmse", "smape"):
        # One rank forecasts 3 series in a batch, two ranks 2 and 1: float32 rounding differs.
        if abs(o[key] - p[key]) > 1e-5 * abs(o[key]):
            sys.exit("%s %s: whole table %r, parts %r" % (o["model"], key, o[key], p[key]))
for t in trained:
    assert t["partitioned"] and t["steps"] == 5 and t["mae"] > 0, t
print("parts = whole table before training: MLP MAE %.2f, NHITS MAE %.2f; trained MAE %.2f, %.2f"
      % (parts[0]["mae"], parts[1]["mae"], trained[0]["mae"], trained[1]["mae"]))
PY
# Stopped after 3 steps and resumed to 5: the uninterrupted run's MAEs (each rank resumes from
# its own checkpoint). NHITS decays its learning rate every max_steps // 3 steps: 1 step at 3
# and at 5 steps, so the stopped run's schedule is the uninterrupted one's.
rm -rf "$dir/ckpt"
run "$dir/part-{rank}.csv" --steps 3 --ranks 2 --checkpoint-dir "$dir/ckpt" >/dev/null
ls "$dir/ckpt/MLP.ckpt" "$dir/ckpt/MLP.rank1.ckpt" >/dev/null
resumed=$(run "$dir/part-{rank}.csv" --steps 5 --ranks 2 --checkpoint-dir "$dir/ckpt" --resume)
python3 - "$trained" "$resumed" <<'PY'
import json, sys
trained, resumed = ([json.loads(l) for l in a.splitlines()] for a in sys.argv[1:])
for t, r in zip(trained, resumed):
    assert r["steps"] == 5 and r["mae"] == t["mae"], (t, r)
print("resumed from each rank's checkpoint = uninterrupted")
PY
# --partition: 2 ranks split all.csv themselves. The three series have equal rows, so the id
# ranges come out as A and B on rank 0, C on rank 1: the run is the one on such parts.
head -1 "$dir/all.csv" | tee "$dir/ab-0.csv" >"$dir/ab-1.csv"
grep -E '^(A|B),' "$dir/all.csv" >>"$dir/ab-0.csv"
grep '^C,' "$dir/all.csv" >>"$dir/ab-1.csv"
split0=$(run "$dir/all.csv" --steps 0 --ranks 2 --partition)
split5=$(run "$dir/all.csv" --steps 5 --ranks 2 --partition)
ab5=$(run "$dir/ab-{rank}.csv" --steps 5 --ranks 2)
python3 - "$one" "$split0" "$split5" "$ab5" <<'PY'
import json, sys
one, split0, split5, ab5 = ([json.loads(l) for l in a.splitlines()] for a in sys.argv[1:])
for o, p in zip(one, split0):
    assert p["partitioned"] and abs(o["mae"] - p["mae"]) <= 1e-5 * o["mae"], (o, p)
for s, a in zip(split5, ab5):
    assert s["partitioned"] and s["mae"] == a["mae"] and s["final_loss"] == a["final_loss"], (s, a)
print("--partition = whole table before training, = parts A,B | C trained")
PY
# TFT's variable importances average the windows of every rank: before training, 2 ranks on
# parts write the whole table's (rank 0 alone holds A and C only, whose x differ from B's).
tft="--models TFT --h 12 --input-size 12 --threads 1 --steps 0 --hist-exog x
  --param TFT.hidden_size=8 --param TFT.n_head=2"
# shellcheck disable=SC2086
"$drc" forecast --data "$dir/all.csv" $tft --importances "$dir/imp-one.csv" >/dev/null
# shellcheck disable=SC2086
"$drc" forecast --data "$dir/part-{rank}.csv" $tft --ranks 2 --importances "$dir/imp-parts.csv" >/dev/null
python3 - "$dir/imp-one.csv" "$dir/imp-parts.csv" <<'PY'
import csv, sys
one, parts = ([r for r in csv.DictReader(open(p))] for p in sys.argv[1:])
assert len(one) == len(parts) == 12 * 3, (len(one), len(parts))  # x, repeated and observed y
for o, p in zip(one, parts):
    assert (o["model"], o["kind"], o["variable"], o["step"]) == \
        (p["model"], p["kind"], p["variable"], p["step"]), (o, p)
    if abs(float(o["importance"]) - float(p["importance"])) > 1e-5:
        sys.exit("importance %r on one rank, %r on parts" % (o, p))
print("TFT's importances on parts = whole table's")
PY
# One rank would leave part-1 out.
if out=$(run "$dir/part-{rank}.csv" --steps 1 2>&1); then
  echo "one rank on two parts succeeded: $out"
  exit 1
fi
echo "$out" | grep -q "part-1.csv exists, but 1 rank(s) read parts 0 to 0" || {
  echo "unexpected error: $out"
  exit 1
}
# Series A in both parts.
grep '^A,' "$dir/part-0.csv" >> "$dir/part-1.csv"
if out=$(run "$dir/part-{rank}.csv" --steps 1 --ranks 2 2>&1); then
  echo "a series in two parts succeeded: $out"
  exit 1
fi
echo "$out" | grep -q "series 'A' is on ranks 0 and 1" || {
  echo "unexpected error: $out"
  exit 1
}
# One series split over two ranks.
if out=$(run "$dir/ab-1.csv" --steps 1 --ranks 2 --partition 2>&1); then
  echo "one series over two ranks succeeded: $out"
  exit 1
fi
# Which rank is left without depends on where the file's bytes split (here rank 0).
echo "$out" | grep -qE "left rank [01] without a series \(fewer series than ranks\)" || {
  echo "unexpected error: $out"
  exit 1
}
echo "errors: a part beyond the ranks, a series in two parts, fewer series than ranks"
