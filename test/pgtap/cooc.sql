-- pgTAP: the co-occurrence mixture (src/nn/cooc.c) end to end.  Two versions
-- trained with the same seed have the same weights; one serves the plain
-- model (cooc_weight 0), the other the mixture with weight 0.4.  The test
-- recomputes the mixture in SQL from the first version's scores and
-- neighbour weights counted here from the training events, and compares it
-- with what recommend() serves from the second version.  It also checks
-- the stored weights, "auto" (the weight with the best validation NDCG@10
-- is kept, the grid is stored) and cooc_k 0.
--
-- No outer transaction (CALL cnnrec.train waits for a worker); objects are
-- named tap_cooc and dropped at the end.
SET client_min_messages = warning;
SELECT plan(17);

CREATE TABLE public.tap_cooc_events AS SELECT * FROM cnnrec.generate_events(200, 40, 25, 11);
CREATE INDEX ON public.tap_cooc_events (user_id, ts);

SELECT is((SELECT count(*) FROM (SELECT user_id, ts FROM public.tap_cooc_events
								  GROUP BY 1, 2 HAVING count(*) > 1) d), 0::bigint,
	'no two events of a user share a timestamp (the order below is the trainer''s)');

SELECT cmp_ok(cnnrec.create_model('tap_cooc', 'public.tap_cooc_events', 'user_id', 'item_id', 'ts',
	'event', '{"d": 16, "threads": 1, "epochs": 3, "lr": 0.01}'), '>', 0::bigint,
	'create_model defines tap_cooc');
CALL cnnrec.train('tap_cooc', '{"cooc_weight": 0}') \gset
CALL cnnrec.train('tap_cooc', '{"cooc_weight": 0.4, "deploy": "never"}') \gset
CALL cnnrec.train('tap_cooc', '{"deploy": "never"}') \gset
CALL cnnrec.train('tap_cooc', '{"cooc_k": 0, "deploy": "never"}') \gset

CREATE TEMP VIEW v AS
	SELECT mv.version, mv.metrics, mv.options, mv.weights_bytes
	FROM cnnrec.model_versions mv JOIN cnnrec.models m USING (model_id) WHERE m.name = 'tap_cooc';

SELECT is((SELECT array_agg((metrics->>'cooc_weight')::float8 ORDER BY version) FROM v
		   WHERE version IN (1, 2, 4)), '{0,0.4,0}'::float8[],
	'the stored weights are the given ones (0, 0.4; cooc_k 0 means 0)');
SELECT is((SELECT options->>'cooc_weight' FROM v WHERE version = 3), 'auto',
	'the tacaser default weight is auto');
SELECT is((SELECT count(*) FROM v, jsonb_object_keys(metrics->'cooc_valid_ndcg10') WHERE version = 3),
	9::bigint, 'auto tries 0 and eight weights on the validation split');
SELECT ok((SELECT (metrics->'cooc_valid_ndcg10'->>(metrics->>'cooc_weight'))::float8
		   = (SELECT max(value::float8) FROM jsonb_each_text(metrics->'cooc_valid_ndcg10'))
		   FROM v WHERE version = 3),
	'auto keeps the weight with the best validation NDCG@10');
SELECT ok((SELECT round((metrics->'valid'->>'ndcg10')::numeric, 6)
		   = round((metrics->'cooc_valid_ndcg10'->>(metrics->>'cooc_weight'))::numeric, 6)
		   FROM v WHERE version = 3),
	'the stored validation metrics are those of the chosen weight');
SELECT ok((SELECT weights_bytes FROM v WHERE version = 2) > (SELECT weights_bytes FROM v WHERE version = 1),
	'a version with a weight stores its neighbour table; one with weight 0 does not');
SELECT is((SELECT weights_bytes FROM v WHERE version = 4), (SELECT weights_bytes FROM v WHERE version = 1),
	'cooc_k 0 stores no table either');

-- Neighbour weights from the training events (all but each user's last two):
-- adjacent pairs of different items, counted for both, divided by the row's total.
CREATE TEMP TABLE nbr AS
WITH seq AS (
	SELECT user_id, item_id, row_number() OVER (PARTITION BY user_id ORDER BY ts) AS pos,
		   count(*) OVER (PARTITION BY user_id) AS n
	FROM public.tap_cooc_events),
train AS (SELECT * FROM seq WHERE pos <= n - 2),
pairs AS (
	SELECT a.item_id AS i, b.item_id AS j FROM train a JOIN train b
		ON b.user_id = a.user_id AND b.pos = a.pos + 1 WHERE a.item_id <> b.item_id
	UNION ALL
	SELECT b.item_id, a.item_id FROM train a JOIN train b
		ON b.user_id = a.user_id AND b.pos = a.pos + 1 WHERE a.item_id <> b.item_id),
cnt AS (SELECT i, j, count(*)::float8 AS c FROM pairs GROUP BY i, j)
SELECT i, j, c / sum(c) OVER (PARTITION BY i) AS w FROM cnt;

-- q per (user, item) for users 1-8: the newest item weighs 1, the one before 0.5, ...
CREATE TEMP TABLE q AS
WITH hist AS (
	SELECT user_id, item_id, row_number() OVER (PARTITION BY user_id ORDER BY ts DESC) - 1 AS age
	FROM public.tap_cooc_events WHERE user_id BETWEEN 1 AND 8),
raw AS (
	SELECT h.user_id, n.j AS item_id, sum(0.5 ^ h.age * n.w) AS q
	FROM hist h JOIN nbr n ON n.i = h.item_id WHERE h.age < 50 GROUP BY 1, 2)
SELECT user_id, item_id, q / sum(q) OVER (PARTITION BY user_id) AS q FROM raw;

-- Served scores of every item for users 1-8 from version 1 (plain) and 2 (mixture).
CREATE TEMP TABLE s1 AS
	SELECT u AS user_id, r.item_id, r.score::float8 AS s
	FROM generate_series(1, 8) u, recommend(u, 1000, 'tap_cooc', exclude_seen => false) r;
SELECT lives_ok(format('SELECT cnnrec.deploy(%L, 2)', 'tap_cooc'), 'deploy the mixture version');
CREATE TEMP TABLE s2 AS
	SELECT u AS user_id, r.item_id, r.score::float8 AS s, r.rank
	FROM generate_series(1, 8) u, recommend(u, 1000, 'tap_cooc', exclude_seen => false) r;

-- The mixture in SQL: log(exp(s) + lambda / (1 - lambda) q sum(exp(s))).
CREATE TEMP TABLE want AS
WITH lse AS (
	SELECT user_id, max(s) + ln(sum(exp(s - m))) AS lse
	FROM (SELECT user_id, s, max(s) OVER (PARTITION BY user_id) AS m FROM s1) t GROUP BY user_id)
SELECT s1.user_id, s1.item_id, s1.s AS plain,
	   CASE WHEN q.q IS NULL THEN s1.s
			ELSE ln(exp(s1.s - lse.lse) + 0.4 / 0.6 * q.q) + lse.lse END AS mixed
FROM s1 JOIN lse USING (user_id) LEFT JOIN q USING (user_id, item_id);

SELECT is((SELECT count(*) FROM s2), (SELECT count(*) FROM s1),
	'both versions score every item for users 1-8');
SELECT is((SELECT count(*) FROM s1), (SELECT count(*) FROM want),
	'every served item has a computed mixture');
SELECT cmp_ok((SELECT max(abs(s2.s - want.mixed)) FROM s2 JOIN want USING (user_id, item_id)), '<', 1e-3::float8,
	'served scores = the mixture computed in SQL from the plain scores and the training pairs');
SELECT ok((SELECT count(*) FROM s2 JOIN want USING (user_id, item_id) WHERE abs(want.mixed - want.plain) > 0.01) > 0,
	'the mixture moves items (the test can fail)');
SELECT is((SELECT count(*) FROM s2 a JOIN s2 b USING (user_id)
		   WHERE a.rank < b.rank AND a.s < b.s), 0::bigint,
	'ranks follow the mixed scores');
SELECT ok((SELECT bool_and(e.users > 0 AND
						   round(e.ndcg::numeric, 6) = round((v.metrics->'test'->>'ndcg10')::numeric, 6))
		   FROM cnnrec.evaluate('tap_cooc', 2) e, v WHERE v.version = 2),
	'cnnrec.evaluate() of the mixture version reproduces its stored test NDCG@10');

SELECT lives_ok(format('SELECT cnnrec.drop_model(%L)', 'tap_cooc'), 'drop the model');
DROP TABLE public.tap_cooc_events;
SELECT * FROM finish();
