#!/usr/bin/env bash
# test/fuzz/sqlsmith.sh: random SQL from sqlsmith, run by an unprivileged
# role against a database with cnnrec, a trained model and its source
# table; then check that no server process crashed.
#
# What it proves: no query an ordinary user can write with the extension's
# functions, types and operators in reach (and the rest of the catalog)
# takes the server down.  Errors are expected (sqlsmith writes nonsense);
# crashes are not.
#
# How: build and install (into CNNREC_PG_BINDIR's server when set), start a
# throwaway cluster (test/lib.sh), create database smith with cnnrec, a
# generated event log, a trained model and a second model owned by the
# unprivileged LOGIN role "smith" (which may SELECT the log), then run
# sqlsmith as smith for --max-queries queries (statement_timeout 2s for
# smith, so a huge generate_events() call cannot stall the run).  Checks
# at the end:
#   - pg_postmaster_start_time() is what it was before (no crash restart);
#   - the server log has no "terminated by signal", "was terminated by
#     exception", PANIC or "server process ... exited" line;
#   - the server still answers recommend().
# It prints sqlsmith's query count and error summary, and how often each
# cnnrec function was called (track_functions = all).
#
# sqlsmith never calls set-returning functions and draws each call from
# the ~3,000 routines of pg_proc, so on its own it almost never reaches
# recommend() and friends.  FOCUS=1 (the default) therefore also gives
# smith, in schema smith_focus placed before pg_catalog in its
# search_path:
#   - a view smith_focus.pg_proc that sqlsmith's unqualified catalog query
#     reads instead of pg_catalog.pg_proc: the routines of cnnrec plus the
#     non-SRF wrappers below (the catalog itself is untouched; generated
#     queries name routines schema-qualified);
#   - scalar wrappers of every serving SRF and of seq_windows and
#     generate_events, taking all their arguments, so sqlsmith fuzzes the
#     arguments (NULLs, huge k, odd arrays, unknown models);
#   - tables of sequences (every time and event kind) and views over
#     recommend(), similar_items() and seq_windows(), as FROM items, and
#     --exclude-catalog, so FROM items come from these, the event log and
#     cnnrec's catalog rather than from the ~130 system relations.
# A schema before pg_catalog in the caller's search_path is itself hostile
# input for the extension's own SQL, which must be schema-qualified.
# FOCUS=0 runs plain sqlsmith over the whole catalog.
#
# Usage: test/fuzz/sqlsmith.sh [max-queries] [seed]   (default 10000, 1)
#        SKIP_BUILD=1 to use what is installed.
# Needs: apt-get install sqlsmith
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$CNNREC_ROOT" || exit 2

MAX=${1:-10000}
SEED=${2:-1}
OUT=${SQLSMITH_OUT:-/tmp/cnnrec-sqlsmith}
mkdir -p "$OUT"

command -v sqlsmith >/dev/null || cnnrec_deps sqlsmith
[ -n "${SKIP_BUILD:-}" ] || cnnrec_build || exit 1
cluster_start -c track_functions=all -c log_min_messages=warning || exit 1

run() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

say "setting up database smith"
run -d postgres -c 'CREATE DATABASE smith' -c 'CREATE ROLE smith LOGIN' || exit 1
run -d smith <<'SQL' || exit 1
CREATE EXTENSION cnnrec;
CREATE TABLE public.events AS SELECT * FROM cnnrec.generate_events(200, 50, 20, 3);
CREATE INDEX ON public.events (user_id, ts);
SELECT cnnrec.create_model('shop', 'public.events', 'user_id', 'item_id', 'ts', 'event',
						   '{"d": 8, "threads": 1, "epochs": 2}');
CALL cnnrec.train('shop');
GRANT SELECT ON public.events TO smith;
ALTER ROLE smith SET statement_timeout = '2s';
SET ROLE smith;
SELECT cnnrec.create_model('mine', 'public.events', 'user_id', 'item_id', 'ts', NULL,
						   '{"preset": "caser", "d": 8, "threads": 1, "epochs": 1}');
RESET ROLE;
SQL
if [ "${FOCUS:-1}" = 1 ]; then
	say "focus: wrappers, views and a filtered pg_proc for smith"
	run -d smith <<'SQL' || exit 1
CREATE TABLE public.seqs AS
	SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS s_tz_text,
		   cnnrec.sequence_agg(item_id, ts::timestamp) AS s_ts,
		   cnnrec.sequence_agg(item_id, ts::date, length(event)) AS s_date_int,
		   cnnrec.sequence_agg(item_id, extract(epoch FROM ts)::bigint) AS s_int
	FROM public.events GROUP BY user_id;
GRANT SELECT ON public.seqs TO smith;
CREATE SCHEMA smith_focus;
GRANT USAGE ON SCHEMA smith_focus TO smith;
CREATE FUNCTION smith_focus.rec(user_id bigint, k int, model text, exclude_seen boolean, candidates bigint[])
	RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT pg_catalog.string_agg(r::text, ' ') FROM public.recommend($1, $2, $3, $4, $5) r $$;
CREATE FUNCTION smith_focus.rec_items(items bigint[], k int, model text, times timestamptz[], events text[], exclude_seen boolean)
	RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT pg_catalog.string_agg(r::text, ' ') FROM public.recommend_for_items($1, $2, $3, $4, $5, $6) r $$;
CREATE FUNCTION smith_focus.similar(item_id bigint, k int, model text)
	RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT pg_catalog.string_agg(r::text, ' ') FROM public.similar_items($1, $2, $3) r $$;
CREATE FUNCTION smith_focus.explain(user_id bigint, item_id bigint, model text)
	RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT pg_catalog.string_agg(r::text, ' ') FROM public.explain_recommendation($1, $2, $3) r $$;
CREATE FUNCTION smith_focus.rec_all(model text, k int)
	RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT pg_catalog.count(*) FROM cnnrec.recommend_all($1, $2) $$;
CREATE FUNCTION smith_focus.windows(seq cnnrec.seq, l int, t int)
	RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT pg_catalog.string_agg(w::text, ' ') FROM cnnrec.seq_windows($1, $2, $3) w $$;
CREATE FUNCTION smith_focus.gen(n_users bigint, n_items bigint, events_per_user int, seed bigint,
								n_categories int, start timestamptz, first_user bigint)
	RETURNS bigint LANGUAGE sql IMMUTABLE
	AS $$ SELECT pg_catalog.count(*) FROM cnnrec.generate_events($1, $2, $3, $4, $5, $6, $7) $$;
CREATE FUNCTION smith_focus.seq_text(t text)
	RETURNS cnnrec.seq LANGUAGE sql STABLE
	AS $$ SELECT $1::cnnrec.seq $$;
CREATE VIEW smith_focus.recs AS
	SELECT s.user_id, r.* FROM public.seqs s, LATERAL public.recommend(s.user_id, 3, 'shop') r;
CREATE VIEW smith_focus.similars AS
	SELECT i, r.* FROM pg_catalog.generate_series(0, 60) i, LATERAL public.similar_items(i, 3, 'shop') r;
CREATE VIEW smith_focus.windows_v AS
	SELECT s.user_id, w.* FROM public.seqs s, LATERAL cnnrec.seq_windows(s.s_tz_text, 3, 2) w;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA smith_focus TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA smith_focus TO smith;
CREATE VIEW smith_focus.pg_proc AS
	SELECT * FROM pg_catalog.pg_proc
	WHERE pronamespace IN ('cnnrec'::pg_catalog.regnamespace, 'smith_focus'::pg_catalog.regnamespace)
	   OR (pronamespace = 'public'::pg_catalog.regnamespace AND proname IN
		   ('recommend', 'recommend_for_items', 'similar_items', 'explain_recommendation'));
GRANT SELECT ON smith_focus.pg_proc TO smith;
ALTER ROLE smith SET search_path = smith_focus, pg_catalog, public;
ALTER ROLE smith SET cnnrec.default_model = 'shop';
SQL
fi
# smith trains its own model (training runs as the caller)
run -d smith -U smith -c "CALL cnnrec.train('mine')" || exit 1
run -d smith -U smith -c 'SELECT count(*) FROM recommend(1, 5, model => $$shop$$)' || exit 1
run -d smith -U smith -tA -c 'SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user' |
	grep -qx f || { say "smith is privileged"; exit 1; }

run -d smith -c "SELECT pg_stat_reset()" >/dev/null
START=$(run -d smith -tA -c 'SELECT pg_postmaster_start_time()')
say "sqlsmith: $MAX queries as smith (seed $SEED)"
t0=$(date +%s)
EXTRA=
[ "${FOCUS:-1}" = 1 ] && EXTRA=--exclude-catalog
sqlsmith --target="host=$PGHOST port=$PGPORT dbname=smith user=smith" $EXTRA \
	--max-queries="$MAX" --seed="$SEED" --verbose >"$OUT/sqlsmith.out" 2>"$OUT/sqlsmith.err"
src=$?
t1=$(date +%s)
cp "$CLUSTER_DIR/server.log" "$OUT/server.log"

fail=0
AFTER=$(run -d smith -tA -c 'SELECT pg_postmaster_start_time()') || fail=1
if [ "$START" != "$AFTER" ]; then
	say "FAIL: the postmaster restarted ($START -> $AFTER)"
	fail=1
fi
if grep -nE 'terminated by signal|terminated by exception|PANIC|server process .* exited with exit code' "$OUT/server.log"; then
	say "FAIL: a server process crashed (see $OUT/server.log)"
	fail=1
fi
run -d smith -U smith -tA -c 'SELECT count(*) FROM recommend(1, 5, model => $$shop$$)' >/dev/null || fail=1

say "sqlsmith exit status $src after $((t1 - t0)) s; last lines of its output:"
tail -25 "$OUT/sqlsmith.err" >&2
say "cnnrec functions called during the run (track_functions):"
run -d smith -c "SELECT funcname, calls FROM pg_stat_user_functions
	WHERE schemaname IN ('cnnrec', 'public', 'smith_focus') ORDER BY calls DESC, funcname"
if [ "$fail" = 0 ]; then
	echo "sqlsmith: $MAX queries, no server crash"
else
	echo "sqlsmith: FAILED"
fi
exit $fail
