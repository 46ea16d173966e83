-- Serving: recommend(), recommend_for_items(), similar_items(),
-- explain_recommendation(), cnnrec.recommend_all(), and their errors.
SET client_min_messages = warning;
-- A log whose newest events are recent, so time buckets are meaningful.
CREATE TABLE public.serve_events AS
	SELECT * FROM cnnrec.generate_events(200, 40, 25, 11,
		start => date_trunc('day', now()) - interval '120 days');
CREATE INDEX ON public.serve_events (user_id, ts);

-- Errors before any model exists.
SELECT * FROM recommend(1, 10);
SELECT cnnrec.create_model('s1', 'public.serve_events', 'user_id', 'item_id', 'ts', 'event',
						   '{"d": 16, "epochs": 3, "threads": 1}') > 0 AS ok;
SELECT * FROM recommend(1, 10);
CALL cnnrec.train('s1') \gset

-- Shape of the results: k rows, ranks 1..k, scores not increasing.
SELECT count(*) AS n, min(rank) AS first, max(rank) AS last,
	   bool_and(score IS NOT NULL) AS scored
FROM recommend(1, 10);
SELECT bool_and(score >= next_score) AS ordered FROM (
	SELECT score, lead(score) OVER (ORDER BY rank) AS next_score FROM recommend(1, 20)) s
WHERE next_score IS NOT NULL;
-- Unqualified, with named arguments, the model named or implied.
SELECT count(*) FROM recommend(user_id => 2, k => 5, model => 's1');
-- exclude_seen: no item the user ever touched, whatever the window.
SELECT count(*) AS seen_recommended FROM recommend(3, 20) r
WHERE r.item_id IN (SELECT item_id FROM public.serve_events WHERE user_id = 3);
SELECT count(*) > 0 AS repeats_allowed FROM recommend(3, 40, exclude_seen => false) r
WHERE r.item_id IN (SELECT item_id FROM public.serve_events WHERE user_id = 3);
-- candidates: only those, unknown, NULL and duplicate ids ignored, still k rows when possible.
SELECT array_agg(item_id ORDER BY item_id) FROM recommend(4, 3, exclude_seen => false,
	candidates => ARRAY[1, 2, 2, NULL, 3, 999999]::bigint[]);
SELECT count(*) FROM recommend(4, 10, exclude_seen => false, candidates => ARRAY[1, 2]::bigint[]);
SELECT count(*) FROM recommend(4, 10, candidates => '{}'::bigint[]);
-- Ties and determinism: the same call twice gives the same rows.
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM recommend(5, 10)) =
	   (SELECT array_agg(item_id ORDER BY rank) FROM recommend(5, 10)) AS deterministic;

-- A new click changes the next call without retraining.
CREATE TEMP TABLE before AS SELECT * FROM recommend(6, 10, exclude_seen => false);
INSERT INTO public.serve_events
	SELECT 6, item_id, 'purchase', now() FROM before WHERE rank = 1;
SELECT (SELECT array_agg(score ORDER BY rank) FROM before) <>
	   (SELECT array_agg(score ORDER BY rank) FROM recommend(6, 10, exclude_seen => false)) AS changed;
SELECT count(*) AS bought_item_now_excluded FROM recommend(6, 10) r JOIN before b USING (item_id)
WHERE b.rank = 1;

-- Unknown user with history: the UNKNOWN row; no history at all: the global ranking.
INSERT INTO public.serve_events SELECT 100000, item_id, 'view', now() FROM public.serve_events
	WHERE user_id = 7 ORDER BY ts DESC LIMIT 5;
SELECT count(*) FROM recommend(100000, 10);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM recommend(424242, 10)) =
	   (SELECT array_agg(item_id ORDER BY rank) FROM recommend(434343, 10)) AS same_global_ranking;

-- Anonymous sessions.
SELECT count(*) FROM recommend_for_items(ARRAY[1, 2, 3]::bigint[], 5);
SELECT count(*) FROM recommend_for_items(ARRAY[1, 2, 3]::bigint[], 5,
	times => ARRAY[now() - interval '2 hours', now() - interval '1 hour', now()],
	events => ARRAY['view', 'cart', 'view']);
SELECT count(*) AS input_items_returned FROM recommend_for_items(ARRAY[1, 2, 3]::bigint[], 10) r
WHERE r.item_id IN (1, 2, 3);
SELECT count(*) FROM recommend_for_items('{}'::bigint[], 5);
SELECT * FROM recommend_for_items(ARRAY[1, 2]::bigint[], 5, times => ARRAY[now()]);

-- Similar items: not the item itself, similarities in [-1, 1].
SELECT count(*), bool_and(item_id <> 1) AS not_itself,
	   bool_and(similarity BETWEEN -1.0001 AND 1.0001) AS cosine
FROM similar_items(1, 10);
SELECT * FROM similar_items(999999, 10);

-- Explanations: the history used, newest first, attention sums to 1.
SELECT count(*) <= 50 AS within_window, round(sum(attention)::numeric, 3) AS attention_sum,
	   bool_and(time_gap >= interval '0') AS gaps, min(recency) AS newest,
	   count(*) FILTER (WHERE in_conv_window) AS conv_rows
FROM explain_recommendation(8, 1);
SELECT (SELECT rank FROM explain_recommendation(8, r.item_id) LIMIT 1) = r.rank AS same_rank
FROM recommend(8, 3) r ORDER BY r.rank;
SELECT * FROM explain_recommendation(8, 999999);

-- Batch: the same rows as recommend() per user.
SELECT count(DISTINCT user_id) AS users FROM cnnrec.recommend_all('s1', 5);
SELECT count(*) AS mismatches FROM (
	SELECT user_id, item_id, rank FROM cnnrec.recommend_all('s1', 5) WHERE user_id BETWEEN 10 AND 20
	EXCEPT
	SELECT u, r.item_id, r.rank FROM generate_series(10, 20) u, recommend(u, 5) r) d;

-- Bad input.
SELECT * FROM recommend(NULL, 10);
SELECT * FROM recommend(1, NULL);
SELECT * FROM recommend(1, 0);
SELECT * FROM recommend(1, -5);
SELECT * FROM recommend(1, 10001);
SELECT * FROM recommend(1, 10, model => 'nope');
SELECT * FROM recommend(1, 10, candidates => ARRAY[[1, 2], [3, 4]]::bigint[]);
SELECT * FROM recommend_for_items(NULL, 10);
SELECT * FROM similar_items(NULL, 10);
SELECT * FROM explain_recommendation(1, NULL);
SELECT * FROM cnnrec.recommend_all(NULL);
SELECT cnnrec.create_model('s2', 'public.serve_events', 'user_id', 'item_id', 'ts') > 0 AS ok;
SELECT * FROM recommend(1, 10);
SELECT * FROM recommend(1, 10, model => 's2');
SET cnnrec.default_model = 's1';
SELECT count(*) FROM recommend(1, 10);
SET cnnrec.default_model = 's2';
SELECT count(*) FROM recommend(1, 10);
RESET cnnrec.default_model;

-- A corrupted weights row is a clear error, not a crash (a new session loads it).
UPDATE cnnrec.model_weights SET data = overlay(data placing '\xdeadbeef'::bytea from 200)
WHERE model_id = (SELECT model_id FROM cnnrec.models WHERE name = 's1');
\c
SET client_min_messages = warning;
SELECT * FROM recommend(1, 10, model => 's1');
-- ... and when the recorded size does not match the chunks.
UPDATE cnnrec.model_versions SET weights_bytes = weights_bytes - 10
WHERE model_id = (SELECT model_id FROM cnnrec.models WHERE name = 's1');
SELECT * FROM recommend(1, 10, model => 's1');

-- The source altered or dropped after training.
CALL cnnrec.train('s1', '{"deploy": "always"}') \gset
SELECT count(*) FROM recommend(1, 10, model => 's1');
ALTER TABLE public.serve_events RENAME COLUMN event TO kind;
SELECT * FROM recommend(1, 10, model => 's1');
ALTER TABLE public.serve_events RENAME COLUMN kind TO event;
DROP TABLE public.serve_events;
SELECT * FROM recommend(1, 10, model => 's1');

SELECT cnnrec.drop_model(name) FROM cnnrec.models;
SELECT * FROM recommend(1, 10, model => 's1');
