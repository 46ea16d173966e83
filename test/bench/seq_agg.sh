#!/usr/bin/env bash
# test/bench/seq_agg.sh: cnnrec.sequence_agg vs array_agg(... ORDER BY ...).
#
# Builds the same per-user item arrays over ~10 million generated events
# with sequence_agg (planned as the SequenceGroup node: cnnrec.so is loaded
# first, as session_preload_libraries would), with sequence_agg in
# PostgreSQL's hash aggregation (cnnrec.enable_sequence_grouping off), and
# with array_agg(... ORDER BY ...); prints the times (median of several
# runs), serial and with parallel workers, the ratios, and checksums showing
# all three give the same arrays.  A benchmark that prints figures, not a pass/fail test (it exits
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
	local mode=$1 name=${2:-}
	echo "SET jit = off;"
	# The SequenceGroup planner hook is in cnnrec.so: load it first, as
	# session_preload_libraries = 'cnnrec' does (README, Performance).
	echo "LOAD 'cnnrec';"
	if [ "$name" = sequence_agg_hash ]; then
		echo "SET cnnrec.enable_sequence_grouping = off;"
	fi
	if [ -n "$WORK_MEM" ]; then echo "SET work_mem = '$WORK_MEM';"; fi
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
# The executor's share: the same scan and hash grouping with the cheapest
# aggregate over the last column (so every column is read), count(ts).
inner_floor="SELECT user_id, count(ts) AS c FROM $TABLE GROUP BY user_id"
timed() { echo "SELECT count(*), sum(cardinality(s)) FROM ($1) q"; }
timed_floor() { echo "SELECT count(*), sum(c) FROM ($inner_floor) q"; }
checksum() { echo "SELECT md5(string_agg(user_id::text || ':' || s::text, ';' ORDER BY user_id)) FROM ($1) q"; }

# CPU time (user + system, clock ticks) of the backend itself, read from
# /proc/self/stat on the server; needs Linux and pg_read_file rights.
CPU_EXPR="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_catalog.pg_read_file('/proc/self/stat') AS s)"
have_cpu=0
if "${PSQL[@]}" -c "SELECT $CPU_EXPR" >/dev/null 2>&1; then
	have_cpu=1
	TICK_MS=$(echo "1000 / $(getconf CLK_TCK 2>/dev/null || echo 100)" | bc)
fi

# Run one query once; print "wall_ms backend_cpu_ms result".
run_once() {
	local mode=$1 query=$2 name=${3:-} out ms res cpu=n/a
	out=$({ settings "$mode" "$name"
		if [ "$have_cpu" = 1 ]; then echo "SELECT $CPU_EXPR AS cpu0 \\gset"; fi
		echo '\timing on'; echo "$query;"; echo '\timing off'
		if [ "$have_cpu" = 1 ]; then echo "SELECT $CPU_EXPR - :cpu0;"; fi
	} | "${PSQL[@]}")
	ms=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
	res=$(printf '%s\n' "$out" | grep -B 1 '^Time:' | head -n 1)
	if [ "$have_cpu" = 1 ]; then
		cpu=$(($(printf '%s\n' "$out" | tail -n 1) * TICK_MS))
	fi
	echo "$ms $cpu $res"
}

# One-line plan summary: top aggregate strategy, partial or not, workers.
plan_shape() {
	local mode=$1 query=$2 name=${3:-} plan
	plan=$({ settings "$mode" "$name"; echo "EXPLAIN (COSTS OFF) $query;"; } | "${PSQL[@]}")
	local agg workers
	agg=$(printf '%s\n' "$plan" | grep -oE '(Partial |Finalize )?(HashAggregate|GroupAggregate|SequenceGroup)' | sort -u | paste -sd, -)
	workers=$(printf '%s\n' "$plan" | sed -n 's/.*Workers Planned: \([0-9]*\).*/\1/p' | head -n 1)
	echo "${agg:-?}; workers ${workers:-0}"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minimum() { printf '%s\n' "$@" | sort -n | head -n 1; }

echo "== cnnrec sequence_agg benchmark"
echo "server: $(sql 'SHOW server_version')  cores: $(nproc)  work_mem: ${WORK_MEM:-$(sql 'SHOW work_mem')}  jit: off  max_parallel_workers: $(sql 'SHOW max_parallel_workers')"

have_gen=$(sql "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'cnnrec' AND p.proname = 'generate_events'")
"${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS $TABLE"
start=$(date +%s.%N)
if [ "$have_gen" != 0 ]; then
	source_desc="cnnrec.generate_events($USERS, $ITEMS, $PER_USER, 42)"
	sql "CREATE UNLOGGED TABLE $TABLE AS SELECT user_id, item_id, event, ts FROM cnnrec.generate_events($USERS, $ITEMS, $PER_USER, 42) ORDER BY ts, user_id"
else
	# Fallback while cnnrec.generate_events is not installed: hashed ids,
	# per-user times in increasing order, three event labels.
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
echo "data: $source_desc, loaded in $(printf '%.1f' "$load_s") s"
echo "      $(sql "SELECT format('%s events, %s users, %s items, table %s', count(*), count(DISTINCT user_id), count(DISTINCT item_id), pg_size_pretty(pg_table_size('$TABLE'))) FROM $TABLE")"

# Same arrays both ways?
checksum_of() { { settings serial "$1"; echo "$(checksum "$2");"; } | "${PSQL[@]}"; }
sum_seq=$(checksum_of sequence_agg "$inner_seq")
sum_hash=$(checksum_of sequence_agg_hash "$inner_seq")
sum_arr=$(checksum_of array_agg "$inner_arr")
echo "checksum md5 of all (user_id, items) pairs: sequence_agg $sum_seq (node off: $sum_hash), array_agg $sum_arr"
if [ "$sum_seq" != "$sum_arr" ] || [ "$sum_hash" != "$sum_arr" ]; then
	echo "MISMATCH: the two queries built different arrays" >&2
	exit 1
fi

declare -A med best cpu
result=
printf '\n%-9s %-20s %-48s %s\n' mode query "plan" "wall ms per run -> median (backend CPU ms median)"
for mode in serial parallel; do
	for name in sequence_agg sequence_agg_hash array_agg; do
		[ "$name" = array_agg ] && inner=$inner_arr || inner=$inner_seq
		shape=$(plan_shape "$mode" "$(timed "$inner")" "$name")
		times=()
		cpus=()
		for ((r = 1; r <= RUNS; r++)); do
			read -r ms c res < <(run_once "$mode" "$(timed "$inner")" "$name")
			times+=("$ms")
			cpus+=("$c")
			if [ -n "$result" ] && [ "$res" != "$result" ]; then
				echo "different results: $result vs $res" >&2
				exit 1
			fi
			result=$res
		done
		med[$mode,$name]=$(median "${times[@]}")
		best[$mode,$name]=$(minimum "${times[@]}")
		cpu[$mode,$name]=$(median "${cpus[@]}")
		label=$name
		[ "$name" = array_agg ] && label="array_agg ORDER BY"
		[ "$name" = sequence_agg_hash ] && label="sequence_agg, node off"
		printf '%-9s %-20s %-48s %s -> %.0f (%s)\n' "$mode" "$label" "$shape" \
			"$(printf '%.0f ' "${times[@]}")" "${med[$mode,$name]}" "${cpu[$mode,$name]}"
	done
done
echo "every run of every query returned (users, events) = ($result)"

# The floor: what any aggregate built in PostgreSQL's hash aggregation costs at least.
floor_times=()
for ((r = 1; r <= RUNS; r++)); do
	read -r ms c res < <(run_once serial "$(timed_floor)")
	floor_times+=("$ms")
done
floor=$(median "${floor_times[@]}")
printf '%-9s %-20s %-48s %s -> %.0f\n' serial "count(ts) floor" "$(plan_shape serial "$(timed_floor)")" \
	"$(printf '%.0f ' "${floor_times[@]}")" "$floor"

echo
printf '%-9s %14s %20s %9s   %s\n' mode "sequence_agg" "array_agg ORDER BY" "speed-up" "(wall medians; best-of-$RUNS in brackets)"
for mode in serial parallel; do
	printf '%-9s %11.0f ms %17.0f ms %8.2fx   [%.0f ms vs %.0f ms: %.2fx]\n' "$mode" \
		"${med[$mode,sequence_agg]}" "${med[$mode,array_agg]}" \
		"$(echo "${med[$mode,array_agg]} / ${med[$mode,sequence_agg]}" | bc -l)" \
		"${best[$mode,sequence_agg]}" "${best[$mode,array_agg]}" \
		"$(echo "${best[$mode,array_agg]} / ${best[$mode,sequence_agg]}" | bc -l)"
done
for mode in serial parallel; do
	printf '%-9s sequence_agg with the SequenceGroup node off (PostgreSQL aggregation): %.0f ms, %.2fx over array_agg\n' "$mode" \
		"${med[$mode,sequence_agg_hash]}" "$(echo "${med[$mode,array_agg]} / ${med[$mode,sequence_agg_hash]}" | bc -l)"
done
if [ "$have_cpu" = 1 ]; then
	printf 'serial backend CPU: sequence_agg %s ms, array_agg ORDER BY %s ms, speed-up %.2fx\n' \
		"${cpu[serial,sequence_agg]}" "${cpu[serial,array_agg]}" \
		"$(echo "${cpu[serial,array_agg]} / ${cpu[serial,sequence_agg]}" | bc -l)"
fi
printf 'serial hash-aggregation floor (scan + hash grouping + count(ts)): %.0f ms; above it: sequence_agg in hash aggregation %.0f ms, array_agg ORDER BY %.0f ms; sequence_agg in SequenceGroup: %.0f ms in all\n' \
	"$floor" "$(echo "${med[serial,sequence_agg_hash]} - $floor" | bc -l)" "$(echo "${med[serial,array_agg]} - $floor" | bc -l)" \
	"${med[serial,sequence_agg]}"
printf 'sequence_agg parallel vs serial: %.2fx (median)\n' \
	"$(echo "${med[serial,sequence_agg]} / ${med[parallel,sequence_agg]}" | bc -l)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

if [ "${CNNREC_BENCH_KEEP:-0}" != 1 ]; then
	sql "DROP TABLE $TABLE"
fi
