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
# smith trains its own model (training runs as the caller)
run -d smith -U smith -c "CALL cnnrec.train('mine')" || exit 1
run -d smith -U smith -c 'SELECT count(*) FROM recommend(1, 5, model => $$shop$$)' || exit 1
run -d smith -U smith -tA -c 'SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user' |
	grep -qx f || { say "smith is privileged"; exit 1; }

run -d smith -c "SELECT pg_stat_reset()" >/dev/null
START=$(run -d smith -tA -c 'SELECT pg_postmaster_start_time()')
say "sqlsmith: $MAX queries as smith (seed $SEED)"
t0=$(date +%s)
sqlsmith --target="host=$PGHOST port=$PGPORT dbname=smith user=smith" \
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
	WHERE schemaname IN ('cnnrec', 'public') ORDER BY calls DESC, funcname"
if [ "$fail" = 0 ]; then
	echo "sqlsmith: $MAX queries, no server crash"
else
	echo "sqlsmith: FAILED"
fi
exit $fail
