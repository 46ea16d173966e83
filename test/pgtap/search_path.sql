-- pgTAP: a hostile search_path and hostile identifiers change nothing the
-- extension does.
--
-- An unprivileged role owns schema tap_sp_evil, which shadows everything the
-- extension's SQL could resolve through search_path: comparison, JSON and
-- arithmetic operators on the types the catalog uses, lower(), now(),
-- length(), domains named like the built-in types (text, int4, jsonb, ...),
-- tables named like the catalog tables and the source table (with other
-- data).  Every evil function raises an error naming the role it ran as, so
-- using any of them is a failure, never a silent change.  The hostile path
-- puts the evil schema even before pg_catalog:
--   tap_sp_evil, pg_catalog, public, cnnrec
-- It is set in the session for create_model, train (the waiting CALL),
-- recommend and the other serving functions, evaluate, deploy, cancel and
-- drop_model, and as the database default, which the training worker
-- connects with.  Training is deterministic with one thread, so a version
-- trained under the hostile path must have the same weights (CRC-32C) as
-- one trained under a clean path, and serve the same rows.
--
-- Hostile identifiers: the same events in a table whose schema, name and
-- columns contain quotes, spaces, semicolons, comment markers and upper
-- case train to the very same weights and serve the same rows, and a canary
-- table that an injected DROP would remove survives.
--
-- No outer transaction (training needs committed rows); objects are named
-- tap_sp_* and dropped at the end.
SET client_min_messages = warning;
SELECT plan(28);

CREATE TABLE public.tap_sp_events AS
	SELECT * FROM cnnrec.generate_events(150, 40, 15, 5) ORDER BY user_id, ts, item_id;
CREATE INDEX ON public.tap_sp_events (user_id, ts);
CREATE TABLE public.tap_sp_canary (x int);

-- The hostile path, and a runner that executes one statement under it and
-- returns 'ok' or the error message.  The runner's own code uses no operator
-- or type under the hostile path (the path would apply to it as well); an
-- error rolls the path back with the subtransaction.
CREATE FUNCTION pg_temp.hostile(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	old text := pg_catalog.current_setting('search_path');
BEGIN
	PERFORM pg_catalog.set_config('search_path', 'tap_sp_evil, pg_catalog, public, cnnrec', true);
	EXECUTE sql;
	PERFORM pg_catalog.set_config('search_path', old, true);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
	RETURN msg;
END $$;

\ir wait_job.inc

-- Top 10 of a few users as one comparable text (items and scores).
CREATE FUNCTION pg_temp.top(model text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(format('%s:%s:%s', u, r.item_id, r.score), ' ' ORDER BY u, r.rank)
	FROM generate_series(1, 150, 7) u, public.recommend(u, 10, model) r
$$;

-- ---------------------------------------------------------------------------
-- The evil schema, owned by an unprivileged role.
-- ---------------------------------------------------------------------------
CREATE ROLE tap_sp_evil NOLOGIN;
CREATE SCHEMA tap_sp_evil AUTHORIZATION tap_sp_evil;
GRANT USAGE ON SCHEMA tap_sp_evil TO PUBLIC;
SET ROLE tap_sp_evil;
CREATE FUNCTION tap_sp_evil.trap() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'evil object used (running as %)', current_user;
END $$;
DO $$
DECLARE
	pairs text[] := ARRAY['bigint,bigint', 'integer,integer', 'bigint,integer', 'integer,bigint',
		'smallint,smallint', 'text,text', 'name,name', 'name,text', 'text,name', 'oid,oid',
		'regclass,regclass', 'regrole,regrole', 'boolean,boolean', 'jsonb,jsonb',
		'timestamptz,timestamptz', 'double precision,double precision', 'numeric,numeric'];
	ops text[] := ARRAY['=', '<>', '<', '>', '<=', '>='];
	p text;
	o text;
	n int := 0;
BEGIN
	FOREACH p IN ARRAY pairs LOOP
		n := n + 1;
		EXECUTE format('CREATE FUNCTION tap_sp_evil.cmp%s(%s) RETURNS boolean LANGUAGE sql AS %L',
					   n, p, 'SELECT tap_sp_evil.trap()');
		FOREACH o IN ARRAY ops LOOP
			EXECUTE format('CREATE OPERATOR tap_sp_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = tap_sp_evil.cmp%s)',
						   o, split_part(p, ',', 1), split_part(p, ',', 2), n);
		END LOOP;
	END LOOP;
END $$;
CREATE FUNCTION tap_sp_evil.jget(jsonb, text) RETURNS text LANGUAGE sql AS 'SELECT NULL::text WHERE tap_sp_evil.trap()';
CREATE OPERATOR tap_sp_evil.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = tap_sp_evil.jget);
CREATE FUNCTION tap_sp_evil.jobj(jsonb, text) RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb WHERE tap_sp_evil.trap()';
CREATE OPERATOR tap_sp_evil.-> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = tap_sp_evil.jobj);
CREATE FUNCTION tap_sp_evil.jcat(jsonb, jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb WHERE tap_sp_evil.trap()';
CREATE OPERATOR tap_sp_evil.|| (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = tap_sp_evil.jcat);
CREATE FUNCTION tap_sp_evil.tsub(timestamptz, interval) RETURNS timestamptz LANGUAGE sql AS 'SELECT NULL::timestamptz WHERE tap_sp_evil.trap()';
CREATE OPERATOR tap_sp_evil.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = tap_sp_evil.tsub);
CREATE FUNCTION tap_sp_evil.iadd(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT NULL::bigint WHERE tap_sp_evil.trap()';
CREATE OPERATOR tap_sp_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap_sp_evil.iadd);
CREATE FUNCTION tap_sp_evil.lower(text) RETURNS text LANGUAGE sql AS 'SELECT NULL::text WHERE tap_sp_evil.trap()';
CREATE FUNCTION tap_sp_evil.length(text) RETURNS integer LANGUAGE sql AS 'SELECT NULL::integer WHERE tap_sp_evil.trap()';
CREATE FUNCTION tap_sp_evil.now() RETURNS timestamptz LANGUAGE sql AS 'SELECT NULL::timestamptz WHERE tap_sp_evil.trap()';
CREATE FUNCTION tap_sp_evil.sequence_agg_sfunc(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT NULL::bigint WHERE tap_sp_evil.trap()';
-- Domains named like built-in types: a cast through one of them fails.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['text', 'int4', 'int8', 'float8', 'numeric', 'jsonb', 'oid', 'bool',
							 'regclass', 'regrole', 'name', 'bytea', 'timestamptz'] LOOP
		EXECUTE format('CREATE DOMAIN tap_sp_evil.%I AS pg_catalog.%I CHECK (tap_sp_evil.trap())', t, t);
	END LOOP;
END $$;
-- Tables named like the catalog and the source, with rows of their own.
CREATE TABLE tap_sp_evil.models AS SELECT * FROM cnnrec.models WITH NO DATA;
CREATE TABLE tap_sp_evil.model_versions AS SELECT * FROM cnnrec.model_versions WITH NO DATA;
CREATE TABLE tap_sp_evil.jobs AS SELECT * FROM cnnrec.jobs WITH NO DATA;
CREATE TABLE tap_sp_evil.model_weights (model_id bigint, version int, chunk int, data bytea);
RESET ROLE;
CREATE TABLE tap_sp_evil.tap_sp_events AS
	SELECT user_id, 41 - item_id AS item_id, event, ts FROM public.tap_sp_events;
ALTER TABLE tap_sp_evil.tap_sp_events OWNER TO tap_sp_evil;

SELECT is(pg_temp.hostile('SELECT 1 = 1'), 'evil object used (running as postgres)',
	'the hostile path is in effect: an unqualified = reaches the evil schema');

-- ---------------------------------------------------------------------------
-- A reference model, defined and trained under a clean path.
-- ---------------------------------------------------------------------------
SELECT cnnrec.create_model('tap_sp_plain', 'public.tap_sp_events', 'user_id', 'item_id', 'ts', 'event',
	'{"d": 8, "epochs": 2, "threads": 1, "seed": 11}') > 0 AS created \gset
CALL cnnrec.train('tap_sp_plain') \gset plain_
SELECT weights_crc32c AS plain_crc FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
WHERE m.name = 'tap_sp_plain' AND v.version = 1 \gset
SELECT pg_temp.top('tap_sp_plain') AS plain_top \gset
SELECT row(e.*)::text AS plain_eval FROM cnnrec.evaluate('tap_sp_plain') e \gset

-- ---------------------------------------------------------------------------
-- Everything again under the hostile path.
-- ---------------------------------------------------------------------------
SELECT is(pg_temp.hostile($$SELECT cnnrec.create_model('tap_sp_hostile', 'public.tap_sp_events'::pg_catalog.regclass,
	'user_id', 'item_id', 'ts', 'event', '{"d": 8, "epochs": 2, "threads": 1, "seed": 11}')$$), 'ok',
	'create_model under the hostile path');
SELECT is((SELECT (source::text, user_column, item_column, time_column, event_column, owner::text)::text
		   FROM cnnrec.models WHERE name = 'tap_sp_hostile'),
	'(tap_sp_events,user_id,item_id,ts,event,postgres)',
	'it stored the same definition');

-- The training worker connects with the database's default path.
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET search_path = tap_sp_evil, pg_catalog, public, cnnrec;
SET search_path = tap_sp_evil, pg_catalog, public, cnnrec;
CALL cnnrec.train('tap_sp_hostile') \gset hostile_
RESET search_path;
SELECT is((SELECT status FROM cnnrec.jobs WHERE job_id = :hostile_job_id), 'succeeded',
	'CALL train (waiting) under the hostile path, worker included, succeeds');
SELECT is((SELECT weights_crc32c FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
		   WHERE m.name = 'tap_sp_hostile' AND v.version = 1), :plain_crc::bigint,
	'the hostile-path version has exactly the reference weights (same CRC-32C)');

-- A job submitted with wait => false from a function, then cancelled.
SELECT is(pg_temp.hostile($$CALL cnnrec.train('tap_sp_hostile', '{"epochs": 5000}', false)$$), 'ok',
	'CALL train(wait => false) under the hostile path');
SELECT max(job_id) AS long_job FROM cnnrec.jobs WHERE model = 'tap_sp_hostile' \gset
SELECT is(pg_temp.hostile(format('SELECT cnnrec.cancel(%s)', :long_job)), 'ok',
	'cancel under the hostile path');
SELECT is(pg_temp.wait_job(:long_job), 'cancelled', 'the job ends cancelled');
ALTER DATABASE :"db" RESET search_path;

-- Serving, evaluation and management under the hostile path.
SELECT is(pg_temp.hostile($$CREATE TEMP TABLE tap_sp_h_top AS SELECT pg_temp.top('tap_sp_hostile') AS t$$), 'ok',
	'recommend under the hostile path');
SELECT is((SELECT t FROM tap_sp_h_top), :'plain_top', 'it serves exactly the reference rows');
SELECT is(pg_temp.hostile($$CREATE TEMP TABLE tap_sp_h_eval AS SELECT row(e.*)::pg_catalog.text AS t
	FROM cnnrec.evaluate('tap_sp_hostile') e$$), 'ok', 'evaluate under the hostile path');
SELECT is((SELECT t FROM tap_sp_h_eval), :'plain_eval', 'it gives exactly the reference metrics');
SELECT is(pg_temp.hostile($$CREATE TEMP TABLE tap_sp_h_other AS
	SELECT (SELECT pg_catalog.count(*) FROM public.recommend_for_items(ARRAY[1, 2, 3]::pg_catalog.int8[], 5, 'tap_sp_hostile')) AS a,
		   (SELECT pg_catalog.count(*) FROM public.similar_items(3, 5, 'tap_sp_hostile')) AS b,
		   (SELECT pg_catalog.count(*) FROM public.explain_recommendation(1, 3, 'tap_sp_hostile')) AS c,
		   (SELECT pg_catalog.count(*) FROM cnnrec.recommend_all('tap_sp_hostile', 3)) AS d$$), 'ok',
	'recommend_for_items, similar_items, explain_recommendation and recommend_all under the hostile path');
SELECT is((SELECT (a, b, c > 0, d)::text FROM tap_sp_h_other), '(5,5,t,450)',
	'they return their rows');
SELECT is(pg_temp.hostile($$SELECT pg_catalog.count(*) FROM public.recommend(1)$$),
	'several cnnrec models exist and none was chosen',
	'recommend without a model looks the models up under the hostile path and errs as documented');
SELECT cnnrec.deploy('tap_sp_hostile', 1) \gset
CALL cnnrec.train('tap_sp_hostile', '{"seed": 12, "deploy": "never"}') \gset v2_
SELECT is(pg_temp.hostile($$SELECT cnnrec.deploy('tap_sp_hostile', 2)$$), 'ok', 'deploy under the hostile path');
SELECT is((SELECT array_agg(version) FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
		   WHERE m.name = 'tap_sp_hostile' AND active), ARRAY[2], 'version 2 is the active one');
SELECT is(pg_temp.hostile($$SELECT cnnrec.drop_model('tap_sp_hostile')$$), 'ok', 'drop_model under the hostile path');
SELECT is((SELECT count(*) FROM cnnrec.models WHERE name = 'tap_sp_hostile')
		  + (SELECT count(*) FROM cnnrec.jobs WHERE model = 'tap_sp_hostile'), 0::bigint,
	'the model and its jobs are gone');
SELECT is((SELECT count(*) FROM tap_sp_evil.models) + (SELECT count(*) FROM tap_sp_evil.jobs)
		  + (SELECT count(*) FROM tap_sp_evil.model_weights), 0::bigint,
	'the shadowing tables were never written');

-- ---------------------------------------------------------------------------
-- Hostile identifiers.
-- ---------------------------------------------------------------------------
CREATE SCHEMA "Tap; ""Schema"" --";
CREATE TABLE "Tap; ""Schema"" --"."Ev ""Log""; DROP TABLE public.tap_sp_canary; --" (
	"User Id" bigint, "it""em" bigint, "ts; --" timestamptz, "EVENT" text, "user_id" bigint);
INSERT INTO "Tap; ""Schema"" --"."Ev ""Log""; DROP TABLE public.tap_sp_canary; --"
	SELECT user_id, item_id, ts, event, -user_id FROM public.tap_sp_events ORDER BY user_id, ts, item_id;
CREATE INDEX ON "Tap; ""Schema"" --"."Ev ""Log""; DROP TABLE public.tap_sp_canary; --" ("User Id", "ts; --");
SELECT cmp_ok(cnnrec.create_model('tap_sp_quoted',
	'"Tap; ""Schema"" --"."Ev ""Log""; DROP TABLE public.tap_sp_canary; --"',
	'User Id', 'it"em', 'ts; --', 'EVENT', '{"d": 8, "epochs": 2, "threads": 1, "seed": 11}'), '>', 0::bigint,
	'create_model on a table and columns with quotes, spaces, semicolons and upper case');
CALL cnnrec.train('tap_sp_quoted') \gset quoted_
SELECT is((SELECT (status, version)::text FROM cnnrec.jobs WHERE job_id = :quoted_job_id), '(succeeded,1)',
	'training on it succeeds');
SELECT is((SELECT weights_crc32c FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
		   WHERE m.name = 'tap_sp_quoted' AND v.version = 1), :plain_crc::bigint,
	'it read the right columns: the same weights as the reference model');
SELECT is(pg_temp.top('tap_sp_quoted'), :'plain_top', 'recommend serves exactly the reference rows');
SELECT is((SELECT row(e.*)::text FROM cnnrec.evaluate('tap_sp_quoted') e), :'plain_eval',
	'evaluate gives exactly the reference metrics');
SELECT is((SELECT count(DISTINCT user_id)::int FROM cnnrec.recommend_all('tap_sp_quoted', 2)), 150,
	'recommend_all scores every user');
SELECT is((SELECT count(*) FROM public.explain_recommendation(1, 3, 'tap_sp_quoted')),
	(SELECT count(*) FROM public.explain_recommendation(1, 3, 'tap_sp_plain')),
	'explain_recommendation reads the same history');
SELECT has_table('public', 'tap_sp_canary', 'the canary table an injected DROP would remove still exists');

SELECT * FROM finish();

SELECT cnnrec.drop_model(name) FROM cnnrec.models WHERE name LIKE 'tap\_sp\_%';
DROP SCHEMA "Tap; ""Schema"" --" CASCADE;
DROP TABLE public.tap_sp_events, public.tap_sp_canary;
DROP SCHEMA tap_sp_evil CASCADE;
DROP ROLE tap_sp_evil;
