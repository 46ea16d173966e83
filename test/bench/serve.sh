#!/usr/bin/env bash
# test/bench/serve.sh: serving latency and throughput (prints figures).
#
# Run through the harness, which starts a throwaway cluster:
#     test/bench/run.sh serve [--quick]
# Needs ../shared/data/ml-100k/u.data.  Measures, with pgbench and prepared
# statements, SELECT * FROM recommend(:uid, 10) for random users:
#   (a) a caser-preset model trained on ml-100k;
#   (b) a model over a generated 1,000,000-item catalog (trained one epoch
#       on all events: only its size matters here);
# with 1, 2 and 4 clients: calls/s and latency p50 / p99 (from pgbench's
# per-transaction log); the first call in a new connection (model load);
# for (b) the ratio of recommend() to a plain C pass over the same weight
# bytes (the memory-bandwidth floor, test/bench/bandwidth.c); and
# cnnrec.recommend_all() against one recommend() call per user.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/test/lib.sh"
DATA=${CNNREC_BENCH_DATA:-$ROOT/../shared/data}
SECONDS_PER_RUN=${CNNREC_BENCH_SECONDS:-10}
QUICK=${1:-}
PGBENCH=$PG_BINDIR/pgbench
WORK=$(mktemp -d /tmp/cnnrec-bench-serve.XXXXXX)
chmod 777 "$WORK"
trap 'rm -rf "$WORK"' EXIT

sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# p50 and p99 (ms) of pgbench per-transaction logs (3rd column: microseconds).
percentiles() {
	cat "$WORK"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
		{ v[NR] = $1 }
		END { printf "%.3f %.3f", v[int(NR * 0.50) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }'
	rm -f "$WORK"/pgbench_log.*
}

# pgbench for a model: prints a table row per client count.
run_pgbench() {
	local model=$1 users=$2 clients
	cat > "$WORK/recommend.sql" <<EOF
\set uid random(1, $users)
SELECT * FROM recommend(:uid, 10, '$model');
EOF
	for clients in 1 2 4; do
		(cd "$WORK" && "$PGBENCH" -n -M prepared -f recommend.sql -c "$clients" -j "$clients" \
			-T "$SECONDS_PER_RUN" -l --log-prefix=pgbench_log "${PGDATABASE}" > pgbench.out 2>&1) ||
			{ cat "$WORK/pgbench.out"; exit 1; }
		local tps pct
		tps=$(grep -oE 'tps = [0-9.]+' "$WORK/pgbench.out" | head -1 | awk '{print $3}')
		pct=$(percentiles)
		printf '| %s | %d | %.0f | %s | %s |\n' "$model" "$clients" "$tps" ${pct}
	done
}

# Time (ms) of the first and second recommend() in one new connection.
first_call() {
	local model=$1
	psql -X -At <<EOF | grep -oE '[0-9.]+ ms' | awk '{print $1}' | tr '\n' ' '
\timing on
SELECT count(*) FROM recommend(1, 10, '$model');
SELECT count(*) FROM recommend(2, 10, '$model');
EOF
}

echo "== loading ml-100k and training the caser preset"
"$ROOT/test/load/udata.sh" "$DATA/ml-100k/u.data" public.ml100k >/dev/null
sql -c "SELECT cnnrec.create_model('ml', 'public.ml100k', 'user_id', 'item_id', 'ts', 'rating',
		'{\"preset\": \"caser\", \"epochs\": 3}')" >/dev/null
sql -c "SET client_min_messages = warning" -c "CALL cnnrec.train('ml')" >/dev/null

echo "== generating a 1,000,000-item catalog and training on it"
if [ "$QUICK" = "--quick" ]; then NBIG=100000; else NBIG=1000000; fi
BIG_USERS=4000
sql -c "CREATE TABLE public.big AS SELECT * FROM cnnrec.generate_events($BIG_USERS, $NBIG, 100, 5)"
# The generator's skewed popularity leaves most of a large catalog unseen; one
# older view of every item (spread over the users) makes the catalog complete.
sql -c "INSERT INTO public.big (user_id, item_id, event, ts)
		SELECT 1 + i % $BIG_USERS, i, 'view', (SELECT min(ts) FROM public.big) - i * interval '1 second'
		FROM generate_series(1, $NBIG) AS i"
sql -c "CREATE INDEX ON public.big (user_id, ts)" -c "ANALYZE public.big"
sql -c "SELECT cnnrec.create_model('big', 'public.big', 'user_id', 'item_id', 'ts', 'event',
		'{\"epochs\": 1, \"holdout\": false, \"loss\": \"softmax_sampled\", \"d\": 50}')" >/dev/null
sql -c "SET client_min_messages = warning" -c "SET cnnrec.max_train_memory = '16GB'" -c "CALL cnnrec.train('big')" >/dev/null
sql -c "SELECT m.name, v.n_items, pg_size_pretty(v.weights_bytes) AS weights FROM cnnrec.model_versions v
		JOIN cnnrec.models m USING (model_id) ORDER BY 1"

echo
echo "| model | clients | calls/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
run_pgbench ml 943
run_pgbench big "$BIG_USERS"

echo
echo "First call in a new connection (model load) and the second call, ms:"
echo "  ml:  $(first_call ml)"
echo "  big: $(first_call big)"

echo
echo "Memory-bandwidth floor for big (one pass over W2 and b2 in plain C):"
gcc -O3 -march=native -ffast-math -o "$WORK/bandwidth" "$ROOT/test/bench/bandwidth.c"
NITEMS=$(sql -At -c "SELECT v.n_items FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) WHERE m.name = 'big' AND v.active")
FLOOR=$("$WORK/bandwidth" "$NITEMS" 100)
P50=$(sql -At -c "SELECT 1" >/dev/null; cat > "$WORK/one.sql" <<EOF
\set uid random(1, $BIG_USERS)
SELECT * FROM recommend(:uid, 10, 'big');
EOF
(cd "$WORK" && "$PGBENCH" -n -M prepared -f one.sql -c 1 -j 1 -T "$SECONDS_PER_RUN" -l --log-prefix=pgbench_log "$PGDATABASE" >/dev/null 2>&1); percentiles | awk '{print $1}')
echo "  floor ${FLOOR} ms per pass; recommend() p50 ${P50} ms; ratio $(awk -v a="$P50" -v b="$FLOOR" 'BEGIN { printf "%.2f", a / b }')"

# recommend_all against one recommend() per user, both after a warm-up call
# (model loaded), each the best of three; per-user calls for the first
# SAMPLE users, scaled to all.
ratio_all() {
	local model=$1 users=$2 sample=$3 t_all t_loop per_all per_call
	t_all=$(sql -At <<EOF | grep -oE '[0-9.]+ ms' | awk '{print $1}' | sort -n | head -1
SELECT count(*) FROM recommend(1, 10, '$model');
\timing on
SELECT count(*) FROM cnnrec.recommend_all('$model', 10);
SELECT count(*) FROM cnnrec.recommend_all('$model', 10);
SELECT count(*) FROM cnnrec.recommend_all('$model', 10);
EOF
)
	t_loop=$(sql -At <<EOF | grep -oE '[0-9.]+ ms' | awk '{print $1}' | sort -n | head -1
SELECT count(*) FROM recommend(1, 10, '$model');
\timing on
SELECT count(*) FROM generate_series(1, $sample) u, recommend(u, 10, '$model');
SELECT count(*) FROM generate_series(1, $sample) u, recommend(u, 10, '$model');
SELECT count(*) FROM generate_series(1, $sample) u, recommend(u, 10, '$model');
EOF
)
	per_all=$(awk -v t="$t_all" -v n="$users" 'BEGIN { printf "%.3f", t / n }')
	per_call=$(awk -v t="$t_loop" -v n="$sample" 'BEGIN { printf "%.3f", t / n }')
	echo "  $model: recommend_all ${t_all} ms for $users users (${per_all} ms/user); recommend() ${t_loop} ms for $sample users (${per_call} ms/user); ratio $(awk -v a="$per_call" -v b="$per_all" 'BEGIN { printf "%.1f", a / b }')x"
}

echo
echo "recommend_all vs one recommend() per user (k = 10, exclude_seen):"
ratio_all ml 943 943
if [ "$QUICK" != "--quick" ]; then ratio_all big "$BIG_USERS" 200; fi
