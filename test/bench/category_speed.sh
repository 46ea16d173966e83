#!/usr/bin/env bash
# test/bench/category_speed.sh: training speed with and without item-category
# tables on a large catalogue under sampled softmax (src/nn/category.c), with
# src/tools/cnnrec-train, outside PostgreSQL.  Prints instances/s per setting.
#
# The log is generated here (awk, deterministic): Taobao format
# (user,item,category,behavior,ts), 20,000 users x 15 events over 95,000
# items in 2,000 categories, each user drifting through neighbouring items.
# Run as test/bench/run.sh category_speed (the cluster it starts is unused),
# or directly after `make`.
#
# Knobs: CNNREC_BENCH_THREADS (default 2), CNNREC_BENCH_EPOCHS (default 1),
# CNNREC_BENCH_TRAIN (the cnnrec-train binary, e.g. an older build to compare).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TRAIN=${CNNREC_BENCH_TRAIN:-$ROOT/src/tools/cnnrec-train}
THREADS=${CNNREC_BENCH_THREADS:-2}
EPOCHS=${CNNREC_BENCH_EPOCHS:-1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -x "$TRAIN" ] || make -C "$ROOT" -s src/tools/cnnrec-train

awk '
# Park-Miller minimal standard generator (exact in double precision); 15 high bits
function step() { s = (s * 16807) % 2147483647; return int(s / 65536); }
function item() { return 1 + (step() * 32768 + step()) % n_items; }
BEGIN {
	s = 12345; n_items = 95000; n_cat = 2000;
	for (u = 1; u <= 20000; u++) {
		it = item();
		for (k = 0; k < 15; k++) {
			if (step() % 10 < 3) it = item();
			else { it += step() % 7 - 3; if (it < 1) it = 1; if (it > n_items) it = n_items; }
			b = step() % 6;
			beh = (b < 3) ? "pv" : (b == 3) ? "cart" : (b == 4) ? "fav" : "buy";
			printf "%d,%d,%d,%s,%d\n", u, it, 1 + (it * 7919) % (n_cat - 1), beh, 1511500000 + u * 7 + k * 600;
		}
	}
}' > "$WORK/log.csv"
echo "log: $(wc -l < "$WORK/log.csv") rows, $(cut -d, -f2 "$WORK/log.csv" | sort -u | wc -l) items, $(cut -d, -f3 "$WORK/log.csv" | sort -u | wc -l) categories"

for cat in off output on; do
	out=$("$TRAIN" --data "$WORK/log.csv" --format taobao --preset tacaser --category "$cat" \
		--exclude-seen off --kcore 0 --epochs "$EPOCHS" --patience 0 --threads "$THREADS" \
		--loss softmax_sampled --quiet | tail -n 1)
	ips=$(printf '%s\n' "$out" | sed -n 's/.*"inst_per_sec": \([0-9.]*\).*/\1/p')
	printf 'category %-7s %10.0f instances/s  (tacaser, sampled softmax, %s threads, %s epoch(s))\n' \
		"$cat" "$ips" "$THREADS" "$EPOCHS"
done
