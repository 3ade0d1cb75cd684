#!/bin/sh
# A pipeline end to end (tests/data/pipeline_small.yaml): the prepare stage's table, two models
# forecast from it on the worker pool, the gather stage, and the report. The report's MAEs must
# be what `drc forecast` gives on the prepared table with the same settings; a resumed run has
# nothing left and rewrites the report; with seeds, the report gives each metric's median; a
# pipeline whose prepare stage fails reports why, and its later stages are canceled, not lost;
# forecast stages also forecast after the data's end with intervals (charted as bands), and
# cross-validate (charted a line per cutoff); a prepare stage on two ranks leaves out a series
# shorter than its min_length; a partitioned prepare stage writes a part per rank, and the
# forecast stage from it trains on the parts on as many ranks; a prepare stage's column feeds a
# forecast stage as an exogenous variable.
#   sh run_pipeline.sh DRC WORKDIR TESTDATA CSV
set -eu
drc=$1 work=$2 data=$3 csv=$4
rm -rf "$work" "$work-fails" "$work-seeds" "$work-future" "$work-short" "$work-parts" \
  "$work-exog"
"$drc" run "$data/pipeline_small.yaml" --workdir "$work" --quiet
report=$work/report/index.html
for want in '<h1>Pipeline us-carrier-small</h1>' 'Every task ended DONE' \
  '298 rows in, 274 out' 'Forecasts against the actual values' '<polyline'; do
  grep -q "$want" "$report" || { echo "report lacks: $want" >&2; exit 1; }
done
[ "$(wc -l <"$work/metrics.jsonl")" -eq 2 ] || { echo "expected 2 metric lines" >&2; exit 1; }
# The report's MAE column (two decimals) against drc forecast on the prepared table.
sed -n 's|^<tr[^>]*><td>\([A-Za-z]*\)</td><td>DONE</td><td>\([0-9][0-9.]*\)</td>.*|\1 \2|p' "$report" |
  sort >"$work/report-mae.txt"
"$drc" forecast --data "$work/prepare/series.parquet" --models MLP,NHITS --h 12 --input-size 24 \
  --steps 5 --freq ME --threads 1 --json |
  sed -n 's/.*"mae":\([0-9.e+-]*\).*"model":"\([A-Za-z]*\)".*/\2 \1/p' |
  awk '{ printf "%s %.2f\n", $1, $2 }' | sort >"$work/cli-mae.txt"
cat "$work/report-mae.txt"
diff "$work/cli-mae.txt" "$work/report-mae.txt"
[ "$(wc -l <"$work/report-mae.txt")" -eq 2 ] || { echo "expected 2 models" >&2; exit 1; }
echo "report = drc forecast"
"$drc" run "$data/pipeline_small.yaml" --workdir "$work" --resume 2>&1 | grep "nothing left to run"
[ -f "$report" ] || { echo "the resumed run wrote no report" >&2; exit 1; }
# Seeds: the report's MAE is the median of drc forecast's at the three seeds.
"$drc" run "$data/pipeline_seeds.yaml" --workdir "$work-seeds" --quiet
median=$(for seed in 1 2 3; do
  "$drc" forecast --data "$csv" --models MLP --steps 3 --freq ME --seed $seed --threads 1 --json
done | sed -n 's/.*"mae":\([0-9.e+-]*\).*/\1/p' | sort -g | sed -n 2p)
want=$(awk "BEGIN { printf \"%.2f\", $median }")
grep -q "<td>MLP</td><td>3/3 DONE</td><td>$want</td>" "$work-seeds/report/index.html" ||
  { echo "the seeds' report lacks MLP's median MAE $want" >&2; exit 1; }
echo "median of 3 seeds: $want"
# The failing pipeline: drc run exits 1, the report says why and lists the canceled stages.
if "$drc" run "$data/pipeline_fails.yaml" --workdir "$work-fails" --quiet; then
  echo "a failing pipeline exited 0" >&2
  exit 1
fi
grep -q "rename: no column 'Passengers'" "$work-fails/report/index.html" ||
  { echo "the report lacks the reason" >&2; exit 1; }
grep -q '<td>forecast.MLP</td><td class="bad">CANCELED</td>' "$work-fails/report/index.html" &&
  echo "failed pipeline reported"
# Future forecasts with intervals, and cross-validation, from forecast stages.
"$drc" run "$data/pipeline_future.yaml" --workdir "$work-future" --quiet
for want in 'forecast the h stamps after its end' '<th>80 % interval width</th>' \
  "Forecasts after the series' end" 'then again up to each later cutoff (each going on from the weights of the fit before), and scored on its forecasts from 3 cross-validation cutoffs' \
  '<td>MLP</td><td>DONE</td><td>[0-9]' 'Shaded around each model.s line: its 80 % prediction' \
  "a point model's intervals are conformal (conformal_distribution): a copy of the model trained without each series' last h + 1 · 1 points forecast from 2 cutoffs 1 apart, and its errors there set the intervals' width; the model's fit went on from that copy's weights" \
  'Cross-validation forecasts against the actual values' 'A line per model and cutoff'; do
  grep -q "$want" "$work-future/report/index.html" || { echo "report lacks: $want" >&2; exit 1; }
done
# The future chart: a band per model (MLP, DeepAR); the cross-validation chart: MLP's line
# broken into one piece per cutoff (3).
bands=$(sed -n "/Forecasts after the series/,/<h2>Stage cv/p" "$work-future/report/index.html" |
  grep -c '<polygon')
pieces=$(sed -n '/Cross-validation forecasts against/,$p' "$work-future/report/index.html" |
  grep -c '<polyline fill="none" stroke="#1f77b4"')
[ "$bands" -eq 2 ] && [ "$pieces" -eq 3 ] ||
  { echo "expected 2 interval bands and 3 cross-validation pieces, got $bands and $pieces" >&2; exit 1; }
head -1 "$work-future/future.MLP/forecast.csv" | grep -q '"MLP-lo-80"' &&
  head -1 "$work-future/cv.MLP/forecast.csv" | grep -q '"cutoff"' &&
  echo "future and cross-validation stages reported"
# min_length on two ranks: "short" (5 months) is left out, "long" (30) kept whole.
"$drc" run "$data/pipeline_short_series.yaml" --workdir "$work-short" --quiet
grep -q '35 rows in, 30 out (1 series shorter than min_length left out)' \
  "$work-short/report/index.html" && echo "short series left out" ||
  { echo "the short-series report lacks the dropped series" >&2; exit 1; }
# Partitioned: two parts, the forecast on two ranks, the report charting from the parts.
"$drc" run "$data/pipeline_parts.yaml" --workdir "$work-parts" --quiet
for part in 0 1; do
  [ -f "$work-parts/prepare/series/part-$part.parquet" ] || { echo "no part $part" >&2; exit 1; }
done
grep -q '"partitioned":true,"ranks":2' "$work-parts/forecast.MLP/forecast.MLP.out" ||
  { echo "the forecast did not run on the parts" >&2; exit 1; }
for want in '144 rows in, 144 out: .*/part-{rank}.parquet (a part per rank)' '<polyline'; do
  grep -q "$want" "$work-parts/report/index.html" ||
    { echo "the partitioned report lacks: $want" >&2; exit 1; }
done
# The stage that splits the raw table itself trains on the same series per rank.
mae() { sed -n 's/.*"mae":\([0-9.e+-]*\).*/\1/p' "$1"; }
[ "$(mae "$work-parts/split.MLP/split.MLP.out")" = "$(mae "$work-parts/forecast.MLP/forecast.MLP.out")" ] ||
  { echo "partition: true gave another MAE than the partitioned prepare" >&2; exit 1; }
echo "partitioned prepare and forecast"
# A prepare stage's calendar column as a future categorical variable of a forecast stage trained
# with HuberLoss(0.5): the stage's MAE is drc forecast's with --futr-exog --cat-exog and that
# loss on the prepared table, and not the one without the variable.
"$drc" run "$data/pipeline_exog.yaml" --workdir "$work-exog" --quiet
grep -q 'loss HuberLoss(0.5), seed 1, exogenous variables: future month (categorical: month);' \
  "$work-exog/report/index.html" &&
  grep -q '"cat_exog":\["month"\].*"futr_exog":\["month"\]' "$work-exog/forecast.MLP/forecast.MLP.out" ||
  { echo "the exogenous stage's report or line does not name its variables" >&2; exit 1; }
exog_mae() {
  "$drc" forecast --data "$work-exog/prepare/series.parquet" --models MLP --h 12 --input-size 24 \
    --steps 5 --freq ME --scaler standard --loss 'HuberLoss(0.5)' --threads 1 --json "$@" \
    >"$work-exog/cli.out"
  mae "$work-exog/cli.out"
}
stage=$(mae "$work-exog/forecast.MLP/forecast.MLP.out")
[ "$stage" = "$(exog_mae --futr-exog month --cat-exog month)" ] && [ "$stage" != "$(exog_mae)" ] ||
  { echo "the exogenous stage's MAE $stage is not drc forecast --futr-exog month --cat-exog month's" >&2; exit 1; }
echo "exogenous stage = drc forecast --futr-exog"
