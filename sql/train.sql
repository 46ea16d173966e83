-- CALL cnnrec.train(): end to end on generated data, versions and deploy,
-- cancel, drop_model, and every error with its message.
-- Progress NOTICEs carry timings, so they are hidden here (client_min_messages).
SET client_min_messages = warning;
CREATE TABLE public.train_events AS
	SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
CREATE INDEX ON public.train_events (user_id, ts);
SELECT cnnrec.create_model('t1', 'public.train_events', 'user_id', 'item_id', 'ts', 'event',
						   '{"d": 16, "epochs": 4, "eval_every": 1, "threads": 1, "batch": 256}') > 0 AS ok;

-- Train and wait: the procedure returns the job id.
CALL cnnrec.train('t1') \gset
SELECT :job_id = max(job_id) AS returned_job_id FROM cnnrec.jobs;
SELECT model, status, phase, epoch, epochs, loss > 0 AS has_loss, inst_per_sec > 0 AS has_speed,
	   started_at <= finished_at AS timed, error, version, cancel_requested,
	   metrics ? 'test' AS has_test_metrics, run_as
FROM cnnrec.jobs WHERE job_id = :job_id;
SELECT version, active, format_version, preset, n_users, n_items, n_events, n_chunks,
	   weights_bytes = (SELECT sum(octet_length(data)) FROM cnnrec.model_weights w
						WHERE w.model_id = v.model_id AND w.version = v.version) AS weights_complete,
	   n_params > 0 AS has_params, epochs, train_seconds > 0 AS timed, created_by,
	   (metrics->'test'->>'users')::int AS test_users,
	   (metrics->'test'->>'ndcg10')::float8 > (metrics->'popularity_test'->>'ndcg10')::float8
		   AS beats_popularity,
	   options->>'d' AS d, options->>'preset' AS preset_used, data_stats->>'event_types' AS event_types
FROM cnnrec.model_versions v;

-- A second version that the "deploy" option keeps inactive, then deploy it.
CALL cnnrec.train('t1', '{"epochs": 1, "deploy": "never"}') \gset
SELECT version, active FROM cnnrec.model_versions ORDER BY version;
SELECT cnnrec.deploy('t1', 2);
SELECT version, active, deployed_at IS NOT NULL AS deployed FROM cnnrec.model_versions ORDER BY version;
SELECT cnnrec.deploy('t1', 1);
SELECT version, active FROM cnnrec.model_versions ORDER BY version;
SELECT cnnrec.deploy('t1', 7);
SELECT cnnrec.deploy('nope', 1);
SELECT cnnrec.deploy(NULL, 1);
SELECT cnnrec.deploy('t1', NULL);
-- Train on all events: no held-out metrics; "always" deploys it.
CALL cnnrec.train('t1', '{"epochs": 1, "holdout": false, "deploy": "always"}') \gset
SELECT version, active, metrics ? 'test' AS has_test, (data_stats->>'evaluated_users')::int AS evaluated
FROM cnnrec.model_versions ORDER BY version;

-- Errors before a job is created.
CALL cnnrec.train('no_such_model');
CALL cnnrec.train(NULL);
CALL cnnrec.train('t1', NULL);
CALL cnnrec.train('t1', wait => NULL);
CALL cnnrec.train('t1', '{"epochs": 0}');
CALL cnnrec.train('t1', '{"optimizer": "sgd"}');
CALL cnnrec.train('t1', '{"cooc_weight": "sometimes"}');
CALL cnnrec.train('t1', '{"cooc_weight": 0.99}');
CALL cnnrec.train('t1', '{"cooc_weight": true}');
CALL cnnrec.train('t1', '{"cooc_k": 2.5}');
CALL cnnrec.train('t1', '{"cooc_window": 0}');
CALL cnnrec.train('t1', '{"cooc_decay": 1.5}');
BEGIN;
CALL cnnrec.train('t1');
ROLLBACK;

-- Errors raised by the worker come back with their SQLSTATE, detail and hint.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE public.empty_events (u int, i int, t timestamptz);
SELECT cnnrec.create_model('empty', 'public.empty_events', 'u', 'i', 't') > 0 AS ok;
CALL cnnrec.train('empty');
INSERT INTO public.empty_events VALUES (1, 1, '2024-01-01'), (1, 1, '2024-01-02'), (2, 1, '2024-01-03');
CALL cnnrec.train('empty');
-- Diverging training (a NaN injected by a testing option) stores nothing.
CALL cnnrec.train('t1', '{"epochs": 3, "poison_epoch": 2}');
SET cnnrec.max_train_memory = '1MB';
CALL cnnrec.train('t1');
RESET cnnrec.max_train_memory;
SELECT status, error, error_detail->>'sqlstate' AS sqlstate FROM cnnrec.jobs
WHERE status <> 'succeeded' ORDER BY job_id;
SELECT count(*) AS versions_after_failures FROM cnnrec.model_versions;

-- The source changed since create_model.
CREATE TABLE public.moving (u bigint, i bigint, t timestamptz, e text);
INSERT INTO public.moving SELECT user_id, item_id, ts, event FROM public.train_events;
SELECT cnnrec.create_model('moving', 'public.moving', 'u', 'i', 't', 'e') > 0 AS ok;
ALTER TABLE public.moving RENAME COLUMN i TO item;
CALL cnnrec.train('moving');
ALTER TABLE public.moving RENAME COLUMN item TO i;
ALTER TABLE public.moving ALTER COLUMN i TYPE text;
CALL cnnrec.train('moving');
DROP TABLE public.moving;
CALL cnnrec.train('moving');

-- A role without LOGIN trains as itself (the worker logs in as the session
-- user and switches role); a role without SELECT on the source cannot train.
CREATE ROLE cnnrec_nologin NOLOGIN;
CREATE ROLE cnnrec_other NOLOGIN;
GRANT SELECT ON public.train_events TO cnnrec_nologin;
SET ROLE cnnrec_nologin;
SELECT cnnrec.create_model('mine', 'public.train_events', 'user_id', 'item_id', 'ts', NULL,
						   '{"d": 8, "epochs": 1, "threads": 1}') > 0 AS ok;
CALL cnnrec.train('mine') \gset
SELECT m.name, v.version, v.active, v.created_by, j.run_as
FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) JOIN cnnrec.jobs j USING (job_id)
WHERE m.name = 'mine';
CALL cnnrec.train('t1');
SELECT cnnrec.deploy('t1', 1);
SELECT cnnrec.drop_model('t1');
RESET ROLE;
REVOKE SELECT ON public.train_events FROM cnnrec_nologin;
SET ROLE cnnrec_nologin;
CALL cnnrec.train('mine');
RESET ROLE;

-- Cancel: a running job stops between mini-batches and stores no version.
CREATE FUNCTION pg_temp.wait_job(id bigint, until text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text;
BEGIN
	FOR i IN 1..1200 LOOP
		SELECT status INTO st FROM cnnrec.jobs WHERE job_id = id;
		EXIT WHEN st = ANY (until);
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN st;
END $$;
CALL cnnrec.train('t1', '{"epochs": 500}', wait => false) \gset
SELECT pg_temp.wait_job(:job_id, '{running,succeeded,failed,cancelled}');
SELECT cnnrec.cancel(:job_id) AS cancelled;
SELECT pg_temp.wait_job(:job_id, '{succeeded,failed,cancelled}');
SELECT status, error_detail->>'sqlstate' AS sqlstate, finished_at IS NOT NULL AS finished
FROM cnnrec.jobs WHERE job_id = :job_id;
SELECT cnnrec.cancel(:job_id) AS cancelled_again;
SELECT cnnrec.cancel(-1);
SELECT cnnrec.cancel(NULL);
SELECT count(*) AS versions FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) WHERE m.name = 't1';

-- Item categories: with a category column (here a text label per item) and
-- the "category" option, category tables are trained and folded into the
-- item weights, so the stored version serves like any other; with the
-- option off, or without the column, no categories are read.
CREATE VIEW public.train_events_cat AS
	SELECT *, 'c' || (item_id % 7) AS category FROM public.train_events;
SELECT cnnrec.create_model('t_cat', 'public.train_events_cat', 'user_id', 'item_id', 'ts', 'event',
						   '{"d": 16, "epochs": 2, "threads": 1, "batch": 256, "category": "on"}',
						   'category') > 0 AS ok;
CALL cnnrec.train('t_cat') \gset
CALL cnnrec.train('t_cat', '{"category": "off", "deploy": "never"}') \gset
SELECT version, active, v.options->>'category' AS category,
	   (data_stats->>'item_categories')::int AS item_categories,
	   (metrics->'test'->>'ndcg10')::float8 > 0 AS has_test_metrics
FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
WHERE m.name = 't_cat' ORDER BY version;
SELECT count(*) AS recommended FROM recommend(1, 5, 't_cat');
SELECT cnnrec.drop_model('t_cat');
DROP VIEW public.train_events_cat;

-- drop_model removes the model with its versions, weights and jobs.
SELECT cnnrec.drop_model('t1');
SELECT count(*) FROM cnnrec.models WHERE name = 't1';
SELECT count(*) FROM cnnrec.jobs WHERE model = 't1';
SELECT cnnrec.drop_model('t1');

SELECT cnnrec.drop_model(name) FROM cnnrec.models ORDER BY name;
DROP TABLE public.train_events, public.empty_events;
DROP ROLE cnnrec_nologin;
DROP ROLE cnnrec_other;
