#!/bin/sh
# Data-parallel hydrology: `drc hydro --ranks R` (under mpirun) shards the basins. Basin b goes to
# rank b mod R, which alone reads its files; each batch's samples go to the ranks holding their
# basins, and the gradients are summed. So without dropout the per-basin NSE and KGE, the final
# loss and every prediction equal the one-rank run's up to the order of floating-point sums: on 2
# ranks, on 3 (one of which holds no basin), on 2 from one table (read whole, each rank keeping
# its basins) and on 2 from a table of a part per rank (each rank reading only its part). A basin
# that cannot be read, or a bad part, stops every rank, the one that reads it naming it; a basin
# in two parts is refused.
#   sh hydro_ranks.sh DRC
set -eu
drc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
basins=01022500,01547700
run() {
  name=$1
  shift
  "$drc" hydro --epochs 2 --seq-length 30 --hidden 16 --dropout 0 --threads 1 \
    --out "$tmp/$name.csv" --json "$@" >"$tmp/$name.jsonl"
}
run one --basins "$basins" --ranks 1
run two --basins "$basins" --ranks 2
run three --basins "$basins" --ranks 3
"$drc" hydro --basins "$basins" --write-table "$tmp/series.parquet" \
  --write-attributes "$tmp/attributes.parquet" >/dev/null
run table --ranks 2 --table "$tmp/series.parquet" --attributes "$tmp/attributes.parquet"
"$drc" hydro --basins 01022500 --write-table "$tmp/part-0.csv" >/dev/null
"$drc" hydro --basins 01547700 --write-table "$tmp/part-1.csv" >/dev/null
run parts --ranks 2 --table "$tmp/part-{rank}.csv" --attributes "$tmp/attributes.parquet"
python3 - "$tmp" <<'PY'
import csv, json, sys
tmp = sys.argv[1]
def close(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(a))
def lines(name):
    return [json.loads(line) for line in open("%s/%s.jsonl" % (tmp, name))]
def rows(name):
    return list(csv.reader(open("%s/%s.csv" % (tmp, name))))
one, one_rows = lines("one"), rows("one")
assert len(one) == 3 and len(one_rows) > 300, (one, len(one_rows))
for name, ranks in (("two", 2), ("three", 3), ("table", 2), ("parts", 2)):
    other, other_rows = lines(name), rows(name)
    assert other[-1]["ranks"] == ranks, other[-1]
    assert len(other) == len(one), other
    for a, b in zip(one, other):
        assert a.get("basin") == b.get("basin"), (a, b)
        for key in ("nse", "kge", "median_nse", "final_loss", "train_samples"):
            if key in a and not close(a[key], b[key], 1e-6):
                sys.exit("%s, %s: 1 rank %r, %s %r" % (a.get("basin", "summary"), key, a[key], name, b[key]))
    assert other_rows[0] == one_rows[0] and len(other_rows) == len(one_rows), (name, other_rows[0])
    for x, y in zip(one_rows[1:], other_rows[1:]):
        assert x[:3] == y[:3], (name, x, y)  # basin, day, observed
        assert (x[3] == "") == (y[3] == ""), (name, x, y)
        assert x[3] == "" or close(float(x[3]), float(y[3]), 1e-5), (name, x, y)
s = one[-1]
print("2 ranks, 3 ranks, 2 ranks from a table and from its parts = 1 rank: median NSE %.6f, "
      "final loss %.6f, %d predictions" % (s["median_nse"], s["final_loss"], len(one_rows) - 1))
PY
# fails NAME ARGS...: drc hydro must fail; its stderr is in $tmp/NAME.err.
fails() {
  name=$1
  shift
  if "$drc" hydro --epochs 1 --seq-length 30 --hidden 16 --threads 1 --ranks 2 --json "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    echo "drc hydro $* succeeded" >&2
    exit 1
  fi
}
expect() {
  grep -q "$2" "$tmp/$1.err" || { cat "$tmp/$1.err" >&2; exit 1; }
}
fails missing --basins 01022500,00000000
expect missing "(rank 1).*00000000"
expect missing "(rank 0).*other rank"
sed '3s/,[0-9.-]*,/,wet,/' "$tmp/part-1.csv" >"$tmp/bad-1.csv"
cp "$tmp/part-0.csv" "$tmp/bad-0.csv"
fails bad --table "$tmp/bad-{rank}.csv" --static none
expect bad "(rank 1).*bad-1.csv:3"
expect bad "(rank 0).*other rank"
cp "$tmp/part-0.csv" "$tmp/twice-0.csv"
cp "$tmp/part-0.csv" "$tmp/twice-1.csv"
fails twice --table "$tmp/twice-{rank}.csv" --static none
expect twice "(rank 0).*basin 01022500 is in parts 0 and 1"
expect twice "(rank 1).*basin 01022500 is in parts 0 and 1"
echo "refused on both ranks: a basin without files and a bad part (named by the rank that reads" \
  "it), a basin in two parts"
