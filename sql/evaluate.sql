-- cnnrec.evaluate() and cnnrec.evaluate_groups(): leave-last-out, full
-- ranking, pessimistic ties, the popularity baseline on the same split.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

-- A tiny log whose popularity metrics are computed by hand.  Per user the
-- last event is the test target, the one before it validation, the rest train:
--   u1: 1 2 | 3 | 4     u2: 1 2 | 4 | 3     u3: 1 1 | 2 | 1
-- Train counts: item 1: 4, item 2: 2, items 3 and 4: 0.
-- History included (exclude_seen off), pessimistic ranks of the test targets:
--   u1: target 4 (0) ties with 3 and trails 1, 2 -> rank 4;  u2: target 3 -> rank 4;
--   u3: target 1 (4) -> rank 1.
-- k = 3: HR = NDCG = 1/3, MRR = (1/4 + 1/4 + 1)/3 = 0.5.
-- k = 10: HR = 1, NDCG = (2/log2(5) + 1)/3 = 0.620451, MRR = 0.5.
-- History excluded (except the target): every target is alone -> all metrics 1.
CREATE TABLE public.tiny (u int, i int, t int);
INSERT INTO public.tiny VALUES
	(1, 1, 1), (1, 2, 2), (1, 3, 3), (1, 4, 4),
	(2, 1, 1), (2, 2, 2), (2, 4, 3), (2, 3, 4),
	(3, 1, 1), (3, 1, 2), (3, 2, 3), (3, 1, 4);
SELECT cnnrec.create_model('tiny', 'public.tiny', 'u', 'i', 't', NULL,
						   '{"d": 4, "epochs": 1, "threads": 1, "l": 2, "exclude_seen": false}') > 0 AS ok;
CALL cnnrec.train('tiny') \gset
SELECT k, users, pop_hr, round(pop_ndcg::numeric, 6) AS pop_ndcg, pop_mrr, protocol
FROM cnnrec.evaluate('tiny', k => 3);
SELECT k, users, pop_hr, round(pop_ndcg::numeric, 6) AS pop_ndcg, pop_mrr
FROM cnnrec.evaluate('tiny', k => 10);
SELECT k, users, pop_hr, pop_ndcg, pop_mrr, protocol
FROM cnnrec.evaluate('tiny', k => 10, exclude_seen => true);
SELECT "group", users, pop_hr, round(pop_ndcg::numeric, 6) AS pop_ndcg, pop_mrr
FROM cnnrec.evaluate_groups('tiny', k => 3);
-- The model's metrics are proper averages of per-user values.
SELECT hr BETWEEN 0 AND 1 AS hr_ok, ndcg BETWEEN 0 AND hr AS ndcg_ok, mrr BETWEEN 0 AND 1 AS mrr_ok
FROM cnnrec.evaluate('tiny', k => 3);

-- On generated data: evaluate() reproduces the test metrics stored at training.
CREATE TABLE public.eval_events AS SELECT * FROM cnnrec.generate_events(250, 50, 25, 3);
SELECT cnnrec.create_model('gen', 'public.eval_events', 'user_id', 'item_id', 'ts', 'event',
						   '{"d": 16, "epochs": 6, "threads": 1}') > 0 AS ok;
CALL cnnrec.train('gen') \gset
SELECT e.users = (v.metrics->'test'->>'users')::int AS same_users,
	   round(e.hr::numeric, 6) = (v.metrics->'test'->>'hr10')::numeric AS same_hr,
	   round(e.ndcg::numeric, 6) = (v.metrics->'test'->>'ndcg10')::numeric AS same_ndcg,
	   round(e.mrr::numeric, 6) = (v.metrics->'test'->>'mrr')::numeric AS same_mrr,
	   round(e.pop_ndcg::numeric, 6) = (v.metrics->'popularity_test'->>'ndcg10')::numeric AS same_pop,
	   e.ndcg > e.pop_ndcg AS beats_popularity
FROM cnnrec.evaluate('gen') e, cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
WHERE m.name = 'gen' AND v.active;
-- The groups add up; the sampled variant is labelled.
SELECT sum(users) FILTER (WHERE "group" <> 'all') = max(users) FILTER (WHERE "group" = 'all') AS groups_add_up
FROM cnnrec.evaluate_groups('gen', exclude_seen => false);
SELECT protocol, hr BETWEEN 0 AND 1 AS hr_ok FROM cnnrec.evaluate('gen', sampled => true);
-- New data after training: unknown items rank last, new users use the UNKNOWN row.
INSERT INTO public.eval_events SELECT user_id + 1000, item_id + 1000, event, ts
FROM public.eval_events WHERE user_id <= 5;
SELECT users FROM cnnrec.evaluate('gen');

-- Errors.
SELECT * FROM cnnrec.evaluate(NULL);
SELECT * FROM cnnrec.evaluate('nope');
SELECT * FROM cnnrec.evaluate('gen', 99);
SELECT * FROM cnnrec.evaluate('gen', k => 0);
SELECT * FROM cnnrec.evaluate('gen', k => NULL);
SELECT cnnrec.create_model('untrained', 'public.eval_events', 'user_id', 'item_id', 'ts') > 0 AS ok;
SELECT * FROM cnnrec.evaluate('untrained');
CREATE ROLE cnnrec_eval_nobody;
SET ROLE cnnrec_eval_nobody;
SELECT * FROM cnnrec.evaluate('gen');
RESET ROLE;
DROP ROLE cnnrec_eval_nobody;

SELECT cnnrec.drop_model(name) FROM cnnrec.models;
DROP TABLE public.tiny, public.eval_events;
