#!/usr/bin/env bash
# test/bench/seq_agg.sh: cnnrec.sequence_agg vs array_agg(... ORDER BY ...).
#
# Builds the same per-user item arrays two ways over ~10 million generated
# events and prints the times (median of several runs), serial and with
# parallel workers, the ratios, and a checksum showing both give the same
# arrays.  A benchmark that prints figures, not a pass/fail test (it exits
# non-zero only on an error or when the checksums differ).
#
# Needs a running server with cnnrec installed in the current database, the
# connection in PGHOST/PGPORT/PGUSER (and PGDATABASE if not the default).
#
# Knobs (environment):
#   CNNREC_BENCH_USERS      users                        (default 100000)
#   CNNREC_BENCH_PER_USER   mean events per user         (default 100)
#   CNNREC_BENCH_ITEMS      items                        (default 50000)
#   CNNREC_BENCH_RUNS       timed runs per query, odd    (default 5)
#   CNNREC_BENCH_WORK_MEM   work_mem for the queries     (default: server's)
#   CNNREC_BENCH_KEEP=1     keep the table cnnrec_bench_seq_events afterwards
#
# The table is loaded in global time order (ORDER BY ts), as an append-only
# event log is.  JIT is switched off for the timed queries so that LLVM
# compile time does not blur the comparison; everything else is the
# server's configuration, printed at the top.
set -euo pipefail

USERS=${CNNREC_BENCH_USERS:-100000}
PER_USER=${CNNREC_BENCH_PER_USER:-100}
ITEMS=${CNNREC_BENCH_ITEMS:-50000}
RUNS=${CNNREC_BENCH_RUNS:-5}
WORK_MEM=${CNNREC_BENCH_WORK_MEM:-}
TABLE=cnnrec_bench_seq_events

PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)

sql() { "${PSQL[@]}" -c "$1"; }

settings() {
	local mode=$1
	echo "SET jit = off;"
	[ -n "$WORK_MEM" ] && echo "SET work_mem = '$WORK_MEM';"
	if [ "$mode" = serial ]; then
		echo "SET max_parallel_workers_per_gather = 0;"
	else
		echo "SET max_parallel_workers_per_gather = 2;"
	fi
}

# The two ways to build the per-user arrays; the outer query consumes them
# without shipping them to the client.
inner_seq="SELECT user_id, cnnrec.seq_items(cnnrec.sequence_agg(item_id, ts, event)) AS s FROM $TABLE GROUP BY user_id"
inner_arr="SELECT user_id, array_agg(item_id ORDER BY ts, item_id, event) AS s FROM $TABLE GROUP BY user_id"
timed() { echo "SELECT count(*), sum(cardinality(s)) FROM ($1) q"; }
checksum() { echo "SELECT md5(string_agg(user_id::text || ':' || s::text, ';' ORDER BY user_id)) FROM ($1) q"; }

# Run one query once; print "milliseconds result".
run_once() {
	local mode=$1 query=$2 out ms res
	out=$({ settings "$mode"; echo '\timing on'; echo "$query;"; } | "${PSQL[@]}")
	ms=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
	res=$(printf '%s\n' "$out" | grep -v '^Time:' | tail -n 1)
	echo "$ms $res"
}

# One-line plan summary: top aggregate strategy, partial or not, workers.
plan_shape() {
	local mode=$1 query=$2 plan
	plan=$({ settings "$mode"; echo "EXPLAIN (COSTS OFF) $query;"; } | "${PSQL[@]}")
	local agg workers
	agg=$(printf '%s\n' "$plan" | grep -oE '(Partial |Finalize )?(HashAggregate|GroupAggregate)' | sort -u | paste -sd, -)
	workers=$(printf '%s\n' "$plan" | sed -n 's/.*Workers Planned: \([0-9]*\).*/\1/p' | head -n 1)
	echo "${agg:-?}; workers ${workers:-0}"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minimum() { printf '%s\n' "$@" | sort -n | head -n 1; }

echo "== cnnrec sequence_agg benchmark"
echo "server: $(sql 'SHOW server_version')  cores: $(nproc)  work_mem: ${WORK_MEM:-$(sql 'SHOW work_mem')}  jit: off  max_parallel_workers: $(sql 'SHOW max_parallel_workers')"

have_gen=$(sql "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'cnnrec' AND p.proname = 'generate_events'")
sql "DROP TABLE IF EXISTS $TABLE"
start=$(date +%s.%N)
if [ "$have_gen" != 0 ]; then
	source_desc="cnnrec.generate_events($USERS, $ITEMS, $PER_USER, 42)"
	sql "CREATE UNLOGGED TABLE $TABLE AS SELECT user_id, item_id, event, ts FROM cnnrec.generate_events($USERS, $ITEMS, $PER_USER, 42) ORDER BY ts, user_id"
else
	# Fallback while cnnrec.generate_events is not installed: hashed ids,
	# per-user times in order with occasional ties, three event labels.
	source_desc="generate_series fallback (cnnrec.generate_events not found)"
	sql "CREATE UNLOGGED TABLE $TABLE AS
	     SELECT u AS user_id,
	            1 + abs(hashint8(u * 1000003 + k)) % $ITEMS AS item_id,
	            (ARRAY['view', 'view', 'view', 'cart', 'purchase'])[1 + abs(hashint8(k * 7 + u)) % 5] AS event,
	            timestamptz '2024-01-01 00:00:00+00' + ((k * 3600 + abs(hashint8(u)) % 3600) / 2) * interval '2 seconds' AS ts
	     FROM generate_series(1, $USERS) AS u, generate_series(1, $PER_USER) AS k
	     ORDER BY ts, user_id"
fi
sql "VACUUM ANALYZE $TABLE"
load_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "data: $source_desc, loaded in ${load_s%.*} s"
echo "      $(sql "SELECT format('%s events, %s users, %s items, table %s', count(*), count(DISTINCT user_id), count(DISTINCT item_id), pg_size_pretty(pg_table_size('$TABLE'))) FROM $TABLE")"

# Same arrays both ways?
sum_seq=$("${PSQL[@]}" -c "SET jit = off" -c "$(checksum "$inner_seq")")
sum_arr=$("${PSQL[@]}" -c "SET jit = off" -c "$(checksum "$inner_arr")")
echo "checksum md5 of all (user_id, items) pairs: sequence_agg $sum_seq, array_agg $sum_arr"
if [ "$sum_seq" != "$sum_arr" ]; then
	echo "MISMATCH: the two queries built different arrays" >&2
	exit 1
fi

declare -A med best
printf '\n%-9s %-28s %-40s %s\n' mode query "plan" "runs (ms) -> median"
for mode in serial parallel; do
	for name in sequence_agg array_agg; do
		[ "$name" = sequence_agg ] && inner=$inner_seq || inner=$inner_arr
		shape=$(plan_shape "$mode" "$(timed "$inner")")
		times=()
		result=
		for ((r = 1; r <= RUNS; r++)); do
			read -r ms res < <(run_once "$mode" "$(timed "$inner")")
			times+=("$ms")
			if [ -n "$result" ] && [ "$res" != "$result" ]; then
				echo "result changed between runs: $result vs $res" >&2
				exit 1
			fi
			result=$res
		done
		m=$(median "${times[@]}")
		med[$mode,$name]=$m
		best[$mode,$name]=$(minimum "${times[@]}")
		label=$name
		[ "$name" = array_agg ] && label="array_agg ORDER BY"
		printf '%-9s %-28s %-40s %s -> %s   [%s]\n' "$mode" "$label" "$shape" "${times[*]}" "$m" "$result"
	done
done

echo
printf '%-9s %14s %20s %9s   %s\n' mode "sequence_agg" "array_agg ORDER BY" "speed-up" "(medians; best-of-$RUNS in brackets)"
for mode in serial parallel; do
	printf '%-9s %11.0f ms %17.0f ms %8.2fx   [%.0f ms vs %.0f ms: %.2fx]\n' "$mode" \
		"${med[$mode,sequence_agg]}" "${med[$mode,array_agg]}" \
		"$(echo "${med[$mode,array_agg]} / ${med[$mode,sequence_agg]}" | bc -l)" \
		"${best[$mode,sequence_agg]}" "${best[$mode,array_agg]}" \
		"$(echo "${best[$mode,array_agg]} / ${best[$mode,sequence_agg]}" | bc -l)"
done
printf 'sequence_agg parallel vs serial: %.2fx (median)\n' \
	"$(echo "${med[serial,sequence_agg]} / ${med[parallel,sequence_agg]}" | bc -l)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

if [ "${CNNREC_BENCH_KEEP:-0}" != 1 ]; then
	sql "DROP TABLE $TABLE"
fi
