#!/usr/bin/env bash
# test/demo.sh: cnnrec end to end on a throwaway cluster, printing what it does.
#
# Installs missing packages, builds and installs the extension, starts a
# throwaway PostgreSQL 15 cluster (stopped and removed on exit), creates the
# extension, generates a synthetic shop log, builds per-user sequences with
# cnnrec.sequence_agg, trains a model in a background worker with progress
# per epoch, compares it with the popularity baseline, serves
# recommendations, explains one, and shows a new click changing the result.
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
	SELECT * FROM cnnrec.generate_events($N_USERS, $N_ITEMS, $EVENTS_PER_USER, 42,
		start => date_trunc('day', now()) - interval '90 days');
\timing off
CREATE INDEX ON public.events (user_id, ts);
ANALYZE public.events;
SQL
sql -c "SELECT event, count(*) AS events, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
		FROM public.events GROUP BY event ORDER BY events DESC"
sql -c "SELECT * FROM public.events WHERE user_id = 1 ORDER BY ts LIMIT 8"

step "Build one time-ordered sequence per user with cnnrec.sequence_agg (cnnrec's SequenceGroup node)"
sql <<'SQL'
-- the planner hook is in cnnrec.so; session_preload_libraries = 'cnnrec' loads it in every session
LOAD 'cnnrec';
EXPLAIN (COSTS OFF) SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) FROM public.events GROUP BY user_id;
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

step "Define a model and train it in a background worker (progress NOTICE per epoch)"
sql -c "SELECT cnnrec.create_model('shop', 'public.events', 'user_id', 'item_id', 'ts', 'event',
		'{\"epochs\": 8, \"eval_every\": 1, \"exclude_seen\": false}') AS model_id"
sql -c "CALL cnnrec.train('shop')"
sql -c "SELECT job_id, status, epoch, epochs, round(loss::numeric, 4) AS loss,
		round(inst_per_sec) AS inst_per_sec, finished_at - started_at AS took FROM cnnrec.jobs"
echo "Held-out test users (leave-last-out, full ranking over all items), model vs popularity:"
sql -c "SELECT version, n_users AS users, n_items AS items, n_events AS events,
		metrics->'test'->>'hr10' AS hr10, metrics->'test'->>'ndcg10' AS ndcg10,
		metrics->'popularity_test'->>'hr10' AS pop_hr10,
		metrics->'popularity_test'->>'ndcg10' AS pop_ndcg10,
		metrics->>'cooc_weight' AS mixture_weight,
		pg_size_pretty(weights_bytes) AS size FROM cnnrec.model_versions"
echo "(mixture_weight: the co-occurrence mixture's weight, chosen on the validation split)"

step "Serve: SELECT * FROM recommend(user_id, k)"
for u in 1 2 3; do
	echo "recommend($u, 5):"
	sql -c "SELECT * FROM recommend($u, 5)"
done
echo "Why item $(sql -At -c "SELECT item_id FROM recommend(1, 1)") for user 1 (explain_recommendation, newest first):"
sql -c "SELECT e.recency, e.history_item, e.event, date_trunc('second', e.time_gap) AS time_gap,
		round(e.attention::numeric, 3) AS attention, e.in_conv_window
		FROM recommend(1, 1) r, explain_recommendation(1, r.item_id) e LIMIT 6"

step "A new click changes the next call, without retraining"
ITEM=$(sql -At -c "SELECT item_id FROM similar_items((SELECT item_id FROM recommend(1, 1)), 1)")
echo "User 1 now views and carts item $ITEM:"
sql -c "INSERT INTO public.events VALUES (1, $ITEM, 'view', now() - interval '1 minute'),
		(1, $ITEM, 'cart', now())"
sql -c "SELECT * FROM recommend(1, 5)"

step "Done"
echo "The cluster in $CLUSTER_DIR is stopped and removed now."
