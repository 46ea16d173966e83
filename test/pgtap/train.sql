-- pgTAP: CALL cnnrec.train() end to end on generated data, the stored
-- version and its weight blob, deploy, cancel, refused concurrent
-- submissions, a rolled-back submission, and drop_model.
--
-- No outer transaction: CALL cnnrec.train(wait => true) cannot run inside a
-- transaction block, and the worker only sees committed rows.  So this file
-- runs plain autocommit statements, creates and drops its own objects under
-- names starting with tap_train, and waits for jobs by polling.
SET client_min_messages = warning;
SELECT plan(59);

CREATE TABLE public.tap_train_events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
CREATE INDEX ON public.tap_train_events (user_id, ts);

\ir wait_job.inc

-- Poll until the job trains (phase 'training', a first epoch done).
CREATE FUNCTION pg_temp.wait_training(id bigint, timeout_s float8 DEFAULT 60)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	t_end timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	LOOP
		IF EXISTS (SELECT 1 FROM cnnrec.jobs WHERE job_id = id AND status = 'running'
				   AND phase = 'training' AND epoch >= 1) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() > t_end OR NOT EXISTS (SELECT 1 FROM cnnrec.jobs WHERE job_id = id
				AND status IN ('queued', 'running')) THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
END $$;

-- The error an SQL string raises: {sqlstate, message, hint}, or NULL.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	hint text;
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RETURN ARRAY[st, msg, NULLIF(hint, '')];
END $$;

-- The weight blob of a version: its chunks concatenated in order.
CREATE FUNCTION pg_temp.blob(model text, v integer) RETURNS bytea LANGUAGE sql AS $$
	SELECT string_agg(w.data, ''::bytea ORDER BY w.chunk)
	FROM cnnrec.model_weights w JOIN cnnrec.models m USING (model_id)
	WHERE m.name = model AND w.version = v
$$;

-- An unsigned little-endian integer of n bytes at offset off.
CREATE FUNCTION pg_temp.le(b bytea, off integer, n integer) RETURNS numeric LANGUAGE sql AS $$
	SELECT sum(get_byte(b, off + i)::numeric * 256::numeric ^ i) FROM generate_series(0, n - 1) i
$$;

-- CRC-32C (reflected polynomial 0x82F63B78), as src/nn/crc32c.c computes it.
CREATE FUNCTION pg_temp.crc32c(b bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	tab bigint[];
	c bigint;
	crc bigint := 4294967295;
	buf bytea := b || '\x'::bytea;		-- detoast once, not per get_byte
BEGIN
	FOR i IN 0..255 LOOP
		c := i;
		FOR k IN 1..8 LOOP
			c := CASE WHEN c & 1 = 1 THEN (c >> 1) # 2197175160 ELSE c >> 1 END;
		END LOOP;
		tab[i] := c;
	END LOOP;
	FOR i IN 0..length(buf) - 1 LOOP
		crc := tab[(crc # get_byte(buf, i)) & 255] # (crc >> 8);
	END LOOP;
	RETURN crc # 4294967295;
END $$;

SELECT is(pg_temp.crc32c('123456789'::bytea), 3808858755,
	'the test CRC-32C gives the standard check value e3069283');

-- ---------------------------------------------------------------------------
-- Train end to end and wait.
-- ---------------------------------------------------------------------------
SELECT cmp_ok(cnnrec.create_model('tap_train', 'public.tap_train_events', 'user_id', 'item_id', 'ts',
	'event', '{"d": 16, "threads": 1, "epochs": 3, "lr": 0.01}'), '>', 0::bigint,
	'create_model defines tap_train');
SELECT model_id AS model_id FROM cnnrec.models WHERE name = 'tap_train' \gset

CALL cnnrec.train('tap_train') \gset
SELECT is(:job_id::bigint, (SELECT max(job_id) FROM cnnrec.jobs WHERE model_id = :model_id),
	'CALL cnnrec.train returns the id of its job');
SELECT is((SELECT status FROM cnnrec.jobs WHERE job_id = :job_id), 'succeeded', 'the job succeeded');
SELECT is((SELECT error FROM cnnrec.jobs WHERE job_id = :job_id), NULL, 'the job has no error');
SELECT is((SELECT (epoch, epochs)::text FROM cnnrec.jobs WHERE job_id = :job_id), '(3,3)',
	'the job reports every epoch: epoch = epochs = 3');
SELECT ok((SELECT loss > 0 AND loss < 100 AND inst_per_sec > 0 AND started_at <= finished_at
		   AND submitted_at <= started_at FROM cnnrec.jobs WHERE job_id = :job_id),
	'the job recorded a finite loss, a speed and its times');
SELECT ok((SELECT metrics ? 'valid' AND metrics ? 'test' AND metrics ? 'popularity_test'
		   FROM cnnrec.jobs WHERE job_id = :job_id),
	'the job row carries validation, test and popularity metrics');
SELECT is((SELECT array_agg((version, active, job_id = :job_id)::text ORDER BY version)
		   FROM cnnrec.model_versions WHERE model_id = :model_id),
	ARRAY['(1,t,t)'], 'one version, 1, active, made by the job');
SELECT is((SELECT version FROM cnnrec.jobs WHERE job_id = :job_id), 1, 'the job names its version');
SELECT ok((SELECT n_users = 300 AND n_items = 60 AND n_events > 0 AND n_params > 0
			   AND epochs = 3 AND train_seconds > 0 AND options->>'d' = '16'
		   FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'the version records its data sizes, parameters, epochs and the options used');

-- The weights: chunks, sizes, and the blob's own framing and checksums.
SELECT is((SELECT array_agg(chunk ORDER BY chunk) FROM cnnrec.model_weights
		   WHERE model_id = :model_id AND version = 1),
	(SELECT array_agg(c) FROM cnnrec.model_versions, generate_series(0, n_chunks - 1) c
	 WHERE model_id = :model_id AND version = 1),
	'weight chunks are numbered 0 .. n_chunks - 1');
SELECT is((SELECT sum(octet_length(data))::bigint FROM cnnrec.model_weights
		   WHERE model_id = :model_id AND version = 1),
	(SELECT weights_bytes FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'the chunks add up to weights_bytes');
SELECT is(octet_length(pg_temp.blob('tap_train', 1))::bigint,
	(SELECT weights_bytes FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'the concatenated chunks are weights_bytes long');
SELECT is((SELECT substring(data FROM 1 FOR 8) FROM cnnrec.model_weights
		   WHERE model_id = :model_id AND version = 1 AND chunk = 0),
	'TACASER1'::bytea, 'chunk 0 starts with the blob magic TACASER1');
SELECT is(pg_temp.le(pg_temp.blob('tap_train', 1), 8, 4),
	(SELECT format_version::numeric FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'the blob format version matches format_version');
SELECT is(pg_temp.le(pg_temp.blob('tap_train', 1), 16, 8),
	(SELECT weights_bytes::numeric FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'the blob header states its own total length');
SELECT is(pg_temp.le(pg_temp.blob('tap_train', 1), octet_length(pg_temp.blob('tap_train', 1)) - 4, 4),
	pg_temp.crc32c(substring(pg_temp.blob('tap_train', 1) FROM 1
		FOR octet_length(pg_temp.blob('tap_train', 1)) - 4))::numeric,
	'the blob trailer is the CRC-32C of the bytes before it (what the validating reader checks)');
SELECT ok((SELECT weights_crc32c <> 0 FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	'weights_crc32c is set');
SELECT is((SELECT weights_crc32c FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1),
	pg_temp.crc32c(pg_temp.blob('tap_train', 1)), 'weights_crc32c is the CRC-32C of the whole blob');

-- Quality: the model beats the popularity baseline on the same test split.
SELECT is((SELECT (metrics->'test'->>'users')::int FROM cnnrec.model_versions
		   WHERE model_id = :model_id AND version = 1),
	(SELECT (metrics->'popularity_test'->>'users')::int FROM cnnrec.model_versions
	 WHERE model_id = :model_id AND version = 1),
	'model and popularity baseline are evaluated on the same test users');
SELECT cmp_ok((SELECT (metrics->'test'->>'ndcg10')::float8 FROM cnnrec.model_versions
			   WHERE model_id = :model_id AND version = 1), '>',
	(SELECT 1.3 * (metrics->'popularity_test'->>'ndcg10')::float8 FROM cnnrec.model_versions
	 WHERE model_id = :model_id AND version = 1),
	'test NDCG@10 is more than 1.3 times the popularity baseline''s');
SELECT cmp_ok((SELECT (metrics->'test'->>'ndcg10')::float8 - (metrics->'popularity_test'->>'ndcg10')::float8
			   FROM cnnrec.model_versions WHERE model_id = :model_id AND version = 1), '>', 0.15::float8,
	'test NDCG@10 is at least 0.15 above the popularity baseline''s');

-- ---------------------------------------------------------------------------
-- Deploy: exactly one active version after every step.
-- ---------------------------------------------------------------------------
CALL cnnrec.train('tap_train', '{"epochs": 1, "deploy": "never"}') \gset
SELECT is((SELECT array_agg((version, active)::text ORDER BY version) FROM cnnrec.model_versions
		   WHERE model_id = :model_id), ARRAY['(1,t)', '(2,f)'],
	'a version trained with deploy "never" is stored inactive; version 1 stays active');
SELECT md5(pg_temp.blob('tap_train', 1)) AS v1_md5, md5(pg_temp.blob('tap_train', 2)) AS v2_md5 \gset

SELECT lives_ok(format('SELECT cnnrec.deploy(%L, 2)', 'tap_train'), 'deploy version 2');
SELECT is((SELECT array_agg((version, active, deployed_at IS NOT NULL)::text ORDER BY version)
		   FROM cnnrec.model_versions WHERE model_id = :model_id), ARRAY['(1,f,t)', '(2,t,t)'],
	'after deploy 2: only version 2 is active, with a deployed_at');
SELECT lives_ok(format('SELECT cnnrec.deploy(%L, 2)', 'tap_train'), 'deploying the active version again');
SELECT is((SELECT array_agg(version) FROM cnnrec.model_versions WHERE model_id = :model_id AND active),
	ARRAY[2], 'redeploying is idempotent: version 2 alone is active');
SELECT is(pg_temp.error_of(format('SELECT cnnrec.deploy(%L, 99)', 'tap_train'))::text,
	ARRAY['42704', 'version 99 of model "tap_train" does not exist',
		  'List the versions with: SELECT version, active, metrics FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) WHERE m.name = ''tap_train'';']::text,
	'deploying a missing version fails with 42704');
SELECT is((SELECT array_agg(version) FROM cnnrec.model_versions WHERE model_id = :model_id AND active),
	ARRAY[2], 'a failed deploy leaves version 2 active');
SELECT lives_ok(format('SELECT cnnrec.deploy(%L, 1)', 'tap_train'), 'deploy back to version 1');
SELECT is((SELECT array_agg(version) FROM cnnrec.model_versions WHERE model_id = :model_id AND active),
	ARRAY[1], 'rolled back: version 1 alone is active');
SELECT lives_ok(format('SELECT cnnrec.deploy(%L, 2)', 'tap_train'), 'deploy version 2 again');
SELECT ok((SELECT md5(pg_temp.blob('tap_train', 1)) = :'v1_md5' AND md5(pg_temp.blob('tap_train', 2)) = :'v2_md5'),
	'deploying never touches the weights');

-- ---------------------------------------------------------------------------
-- A second submission while a job runs is refused; cancel stops the job.
-- ---------------------------------------------------------------------------
CALL cnnrec.train('tap_train', '{"epochs": 5000}', wait => false) \gset long_
SELECT ok(pg_temp.wait_training(:long_job_id), 'a long job starts training');
SELECT count(*) AS jobs_before FROM cnnrec.jobs WHERE model_id = :model_id \gset
SELECT is(pg_temp.error_of(format('CALL cnnrec.train(%L, %L, false)', 'tap_train', '{"epochs": 1}'))::text,
	ARRAY['55006', format('model "tap_train" is already being trained by job %s', :long_job_id),
		  format('Wait for that job to end, or stop it with cnnrec.cancel(%s).', :long_job_id)]::text,
	'a second train() of the model is refused with 55006, naming the running job');
SELECT is((SELECT count(*) FROM cnnrec.jobs WHERE model_id = :model_id), :jobs_before::bigint,
	'the refused submission created no job');

SELECT clock_timestamp() AS cancel_at \gset
SELECT ok(cnnrec.cancel(:long_job_id), 'cancel() of a running job returns true');
SELECT is(pg_temp.wait_job(:long_job_id, '{succeeded,failed,cancelled}', 30), 'cancelled',
	'the cancelled job ends with status cancelled');
SELECT cmp_ok((SELECT finished_at FROM cnnrec.jobs WHERE job_id = :long_job_id) - :'cancel_at'::timestamptz,
	'<', interval '3 seconds', 'the job stopped within 3 seconds of cancel()');
SELECT is((SELECT (error_detail->>'sqlstate', cancel_requested, epoch < 5000)::text
		   FROM cnnrec.jobs WHERE job_id = :long_job_id), '(57014,t,t)',
	'the cancelled job records SQLSTATE 57014 and stopped early');
SELECT is((SELECT array_agg((version, active)::text ORDER BY version) FROM cnnrec.model_versions
		   WHERE model_id = :model_id), ARRAY['(1,f)', '(2,t)'],
	'the cancelled job wrote no version; version 2 is still the active one');
SELECT is((SELECT count(*) FROM cnnrec.model_weights WHERE model_id = :model_id AND version > 2), 0::bigint,
	'the cancelled job left no weight chunks');
SELECT is(md5(pg_temp.blob('tap_train', 2)), :'v2_md5', 'the active version''s weights are unchanged');
SELECT ok(NOT cnnrec.cancel(:long_job_id), 'cancel() of an ended job returns false');
SELECT is(pg_temp.error_of('SELECT cnnrec.cancel(-1)')::text,
	ARRAY['42704', 'training job -1 does not exist', NULL]::text, 'cancel() of an unknown job fails with 42704');

-- After the cancel, the model can be trained again.
CALL cnnrec.train('tap_train', '{"epochs": 1, "deploy": "never"}') \gset again_
SELECT is((SELECT (status, version)::text FROM cnnrec.jobs WHERE job_id = :again_job_id), '(succeeded,3)',
	'a new training after the cancel succeeds and stores version 3');
SELECT is((SELECT count(*) FROM cnnrec.model_versions WHERE model_id = :model_id AND active), 1::bigint,
	'still exactly one active version');

-- ---------------------------------------------------------------------------
-- A submission inside a transaction block that rolls back leaves nothing.
-- ---------------------------------------------------------------------------
BEGIN;
CALL cnnrec.train('tap_train', '{"epochs": 1}', wait => false) \gset tx_
SELECT pg_temp.error_of(format('CALL cnnrec.train(%L, %L, false)', 'tap_train', '{}'))::text AS tx_second \gset
ROLLBACK;
SELECT is(:'tx_second',
	ARRAY['55006', format('model "tap_train" is already being trained by job %s', :tx_job_id),
		  format('Wait for that job to end, or stop it with cnnrec.cancel(%s).', :tx_job_id)]::text,
	'a job queued by the open transaction already blocks a second submission');
SELECT is((SELECT count(*) FROM cnnrec.jobs WHERE job_id = :tx_job_id), 0::bigint,
	'the rolled-back submission left no job row');
CREATE FUNCTION pg_temp.workers_gone(timeout_s float8) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	t_end timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'
				  AND datname = current_database()) LOOP
		IF clock_timestamp() > t_end THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
	RETURN true;
END $$;
SELECT ok(pg_temp.workers_gone(10), 'its worker exits without training');
SELECT is((SELECT count(*) FROM cnnrec.model_versions WHERE model_id = :model_id), 3::bigint,
	'and stored no version');

-- ---------------------------------------------------------------------------
-- drop_model removes the model, its versions, weights and jobs.
-- ---------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM cnnrec.jobs WHERE model_id = :model_id) >= 4
	AND (SELECT count(*) FROM cnnrec.model_weights WHERE model_id = :model_id) >= 3,
	'before drop_model the model has jobs and weights');
SELECT lives_ok(format('SELECT cnnrec.drop_model(%L)', 'tap_train'), 'drop_model(tap_train)');
SELECT is((SELECT count(*) FROM cnnrec.models WHERE model_id = :model_id OR name = 'tap_train'), 0::bigint,
	'the model row is gone');
SELECT is((SELECT count(*) FROM cnnrec.model_versions WHERE model_id = :model_id), 0::bigint,
	'its versions are gone');
SELECT is((SELECT count(*) FROM cnnrec.model_weights WHERE model_id = :model_id), 0::bigint,
	'its weight chunks are gone');
SELECT is((SELECT count(*) FROM cnnrec.jobs WHERE model_id = :model_id OR model = 'tap_train'), 0::bigint,
	'its jobs are gone');
SELECT is(pg_temp.error_of(format('SELECT cnnrec.drop_model(%L)', 'tap_train'))::text,
	ARRAY['42704', 'model "tap_train" does not exist', 'List the models with: SELECT name FROM cnnrec.models;']::text,
	'dropping it again fails with 42704');

SELECT * FROM finish();
DROP TABLE public.tap_train_events;
-- Leave no worker behind even when an assertion above failed.
DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE backend_type = 'cnnrec training' AND datname = current_database(); END $$;
