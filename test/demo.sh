#!/usr/bin/env bash
# test/demo.sh: cnnrec end to end on a throwaway cluster, printing what it does.
#
# Installs missing packages, builds and installs the extension, starts a
# throwaway PostgreSQL 15 cluster (stopped and removed on exit), creates the
# extension, generates a synthetic shop log, builds per-user sequences with
# cnnrec.sequence_agg and prints a short summary.
#
# Usage: test/demo.sh [n_users] [n_items] [events_per_user]

set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$CNNREC_ROOT"

N_USERS=${1:-2000}
N_ITEMS=${2:-500}
EVENTS_PER_USER=${3:-50}

# Run SQL quietly, failing on the first error.
sql() { psql -X -q -v ON_ERROR_STOP=1 -d demo "$@"; }

# Print a step heading.
step() { printf '\n\033[1m-- %s\033[0m\n' "$*"; }

cnnrec_deps
cnnrec_build
cluster_start
psql -X -q -d postgres -c 'CREATE DATABASE demo'

step "CREATE EXTENSION cnnrec (no shared_preload_libraries)"
sql -c 'CREATE EXTENSION cnnrec'
sql -c "SELECT extname, extversion FROM pg_extension WHERE extname = 'cnnrec'"

step "Generate a synthetic shop log: $N_USERS users, $N_ITEMS items, ~$EVENTS_PER_USER events per user"
sql <<SQL
\timing on
CREATE TABLE public.events AS
	SELECT * FROM cnnrec.generate_events($N_USERS, $N_ITEMS, $EVENTS_PER_USER, 42);
\timing off
CREATE INDEX ON public.events (user_id, ts);
ANALYZE public.events;
SQL
sql -c "SELECT event, count(*) AS events, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
		FROM public.events GROUP BY event ORDER BY events DESC"
sql -c "SELECT * FROM public.events WHERE user_id = 1 ORDER BY ts LIMIT 8"

step "Build one time-ordered sequence per user with cnnrec.sequence_agg"
sql <<'SQL'
\timing on
CREATE TABLE public.sequences AS
	SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq
	FROM public.events GROUP BY user_id;
\timing off
SQL
sql -c "SELECT count(*) AS users, min(cnnrec.seq_length(seq)) AS min_len,
		round(avg(cnnrec.seq_length(seq)), 1) AS avg_len, max(cnnrec.seq_length(seq)) AS max_len
		FROM public.sequences"
echo "User 1's three newest interactions (cnnrec.seq_last):"
sql -At -c "SELECT cnnrec.seq_last(seq, 3) FROM public.sequences WHERE user_id = 1"
echo "User 1's first Caser training windows (cnnrec.seq_windows, L = 5, T = 3):"
sql -c "SELECT w.input, w.target FROM public.sequences, cnnrec.seq_windows(seq, 5, 3) w
		WHERE user_id = 1 LIMIT 3"

step "Done"
echo "The cluster in $CLUSTER_DIR is stopped and removed now."
