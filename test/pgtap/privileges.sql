-- pgTAP: who may define, train, deploy, drop, cancel and serve models.
--
-- Roles (NOLOGIN; the session switches with SET ROLE):
--   tap_pv_dba    owns the source table and grants SELECT on it
--   tap_pv_alice  may SELECT the source; defines model tap_pv_a
--   tap_pv_bob    no right on the source, no membership
--   tap_pv_team   group role; defines model tap_pv_t while it may SELECT the
--                 source, then loses that right
--   tap_pv_carol  member of team with SELECT of her own
--   tap_pv_dave   member of team without SELECT
-- What it proves: a role without SELECT on the source can neither define a
-- model on it nor train one, also a model owned by a role it belongs to (the
-- worker trains as the caller, so the caller's own rights decide); a role
-- cannot train, deploy, drop or cancel another role's models unless it has
-- the owner's privileges (membership); the routines' EXECUTE rights are the
-- ones the extension script grants, and a DBA's REVOKE takes effect.
-- Every refusal is checked by SQLSTATE and message, and leaves no job row.
--
-- No outer transaction (training needs committed rows); objects are named
-- tap_pv_* and dropped at the end.
SET client_min_messages = warning;
SELECT plan(37);

-- Run sql as role r; returns {sqlstate, message} of its error, or NULL.
-- The role is set for the statement only and reset before returning.
CREATE FUNCTION pg_temp.as_role(r text, sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	PERFORM set_config('role', r, true);
	EXECUTE sql;
	PERFORM set_config('role', 'none', true);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN ARRAY[st, msg];
END $$;

\ir wait_job.inc

CREATE ROLE tap_pv_dba NOLOGIN;
CREATE ROLE tap_pv_alice NOLOGIN;
CREATE ROLE tap_pv_bob NOLOGIN;
CREATE ROLE tap_pv_team NOLOGIN;
CREATE ROLE tap_pv_carol NOLOGIN IN ROLE tap_pv_team;
CREATE ROLE tap_pv_dave NOLOGIN IN ROLE tap_pv_team;
CREATE TABLE public.tap_pv_events AS SELECT * FROM cnnrec.generate_events(120, 30, 12, 9);
CREATE INDEX ON public.tap_pv_events (user_id, ts);
ALTER TABLE public.tap_pv_events OWNER TO tap_pv_dba;
SET ROLE tap_pv_dba;
GRANT SELECT ON public.tap_pv_events TO tap_pv_alice, tap_pv_team, tap_pv_carol;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- EXECUTE rights set by the extension script.
-- ---------------------------------------------------------------------------
SELECT function_privs_are('cnnrec', 'create_model',
	ARRAY['text', 'regclass', 'text', 'text', 'text', 'text', 'jsonb', 'text'], 'public', ARRAY['EXECUTE'],
	'PUBLIC may call create_model (the function checks the source rights)');
SELECT ok(has_function_privilege('public', 'cnnrec.train(text, jsonb, boolean, bigint)', 'EXECUTE')
	AND has_function_privilege('public', 'cnnrec.deploy(text, integer)', 'EXECUTE')
	AND has_function_privilege('public', 'cnnrec.drop_model(text)', 'EXECUTE')
	AND has_function_privilege('public', 'cnnrec.cancel(bigint)', 'EXECUTE'),
	'PUBLIC may call train, deploy, drop_model and cancel (they check the model rights)');
SELECT ok(has_function_privilege('public', 'recommend(bigint, integer, text, boolean, bigint[])', 'EXECUTE')
	AND has_function_privilege('public', 'cnnrec.evaluate(text, integer, integer, boolean, boolean)', 'EXECUTE'),
	'PUBLIC may call the serving and evaluation functions');
SELECT ok(NOT has_function_privilege('public', 'cnnrec.generate_events_support(internal)', 'EXECUTE'),
	'PUBLIC may not call the planner support function');
SELECT ok((SELECT count(*) > 0 FROM pg_catalog.pg_init_privs i JOIN pg_catalog.pg_proc p ON p.oid = i.objoid
		   WHERE i.classoid = 'pg_catalog.pg_proc'::regclass AND p.proname = 'create_model'),
	'the rights are recorded as the extension''s initial privileges (pg_init_privs)');

-- ---------------------------------------------------------------------------
-- Defining a model needs SELECT on the source.
-- ---------------------------------------------------------------------------
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT cnnrec.create_model('tap_pv_b', 'public.tap_pv_events',
	'user_id', 'item_id', 'ts', 'event')$$),
	ARRAY['42501', 'permission denied for column "user_id" of relation "tap_pv_events"'],
	'a role without SELECT on the source cannot define a model on it (42501)');
SELECT is(pg_temp.as_role('tap_pv_alice', $$SELECT cnnrec.create_model('tap_pv_a', 'public.tap_pv_events',
	'user_id', 'item_id', 'ts', 'event', '{"d": 8, "epochs": 1, "threads": 1}')$$), NULL,
	'alice, who may SELECT the source, defines tap_pv_a');
SELECT is(pg_temp.as_role('tap_pv_team', $$SELECT cnnrec.create_model('tap_pv_t', 'public.tap_pv_events',
	'user_id', 'item_id', 'ts', 'event', '{"d": 8, "epochs": 1, "threads": 1}')$$), NULL,
	'the team role defines tap_pv_t');
SELECT is((SELECT array_agg((name, owner)::text ORDER BY name) FROM cnnrec.models WHERE name LIKE 'tap\_pv\_%'),
	ARRAY['(tap_pv_a,tap_pv_alice)', '(tap_pv_t,tap_pv_team)'], 'each model is owned by the role that defined it');

-- ---------------------------------------------------------------------------
-- Another role's model: train, deploy, drop, cancel refused without membership.
-- ---------------------------------------------------------------------------
SET ROLE tap_pv_alice;
CALL cnnrec.train('tap_pv_a') \gset a_
RESET ROLE;
SELECT is((SELECT (status, version, run_as)::text FROM cnnrec.jobs WHERE job_id = :a_job_id),
	'(succeeded,1,tap_pv_alice)', 'alice trains her model; the job ran as alice');
SELECT count(*) AS jobs_before FROM cnnrec.jobs \gset
SELECT is(pg_temp.as_role('tap_pv_bob', $$CALL cnnrec.train('tap_pv_a', wait => false)$$),
	ARRAY['42501', 'permission denied to train model "tap_pv_a"'],
	'bob cannot train alice''s model (42501)');
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT cnnrec.deploy('tap_pv_a', 1)$$),
	ARRAY['42501', 'permission denied to deploy model "tap_pv_a"'], 'bob cannot deploy it');
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT cnnrec.drop_model('tap_pv_a')$$),
	ARRAY['42501', 'permission denied to drop model "tap_pv_a"'], 'bob cannot drop it');
SELECT is(pg_temp.as_role('tap_pv_bob', format('SELECT cnnrec.cancel(%s)', :a_job_id)),
	ARRAY['42501', format('permission denied to cancel training job %s', :a_job_id)],
	'bob cannot cancel alice''s job');
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT * FROM public.recommend(1, 5, 'tap_pv_a')$$),
	ARRAY['42501', 'permission denied for table tap_pv_events'],
	'bob cannot be served from it either: serving reads the history with his rights');
SELECT min(item_id) AS pv_item FROM public.tap_pv_events \gset
SELECT is(pg_temp.as_role('tap_pv_bob', format('SELECT * FROM public.similar_items(%s, 5, %L)', :pv_item, 'tap_pv_a')),
	ARRAY['42501', 'permission denied for table tap_pv_events'],
	'nor get similar items, which were learned from the source');
SELECT is(pg_temp.as_role('tap_pv_bob',
		format('SELECT * FROM public.recommend_for_items(ARRAY[%s]::bigint[], 5, %L)', :pv_item, 'tap_pv_a')),
	ARRAY['42501', 'permission denied for table tap_pv_events'],
	'nor recommendations for an anonymous session');
GRANT SELECT (user_id, item_id, ts, event) ON public.tap_pv_events TO tap_pv_bob;
SELECT is(pg_temp.as_role('tap_pv_bob', format('SELECT * FROM public.similar_items(%s, 5, %L)', :pv_item, 'tap_pv_a')),
	NULL, 'SELECT on the model''s columns is enough');
REVOKE SELECT (user_id, item_id, ts, event) ON public.tap_pv_events FROM tap_pv_bob;
SELECT is(pg_temp.as_role('tap_pv_bob', $$INSERT INTO cnnrec.jobs (model) VALUES ('tap_pv_a')$$),
	ARRAY['42501', 'permission denied for table jobs'], 'bob cannot write the catalog directly');
SELECT is((SELECT count(*) FROM cnnrec.jobs), :jobs_before::bigint, 'the refusals created no job');
SELECT is((SELECT count(*) FROM cnnrec.models WHERE name = 'tap_pv_a'), 1::bigint, 'the model is still there');

-- Long job of alice's, to cancel.
SET ROLE tap_pv_alice;
CALL cnnrec.train('tap_pv_a', '{"epochs": 5000}', wait => false) \gset long_
RESET ROLE;
GRANT tap_pv_alice TO tap_pv_bob;
SELECT is(pg_temp.as_role('tap_pv_bob', format('SELECT cnnrec.cancel(%s)', :long_job_id)), NULL,
	'once a member of alice, bob may cancel her job');
SELECT is(pg_temp.wait_job(:long_job_id), 'cancelled', 'and it ends cancelled');
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT cnnrec.deploy('tap_pv_a', 1)$$), NULL,
	'and deploy her model');
REVOKE tap_pv_alice FROM tap_pv_bob;
SELECT is(pg_temp.as_role('tap_pv_bob', $$SELECT cnnrec.deploy('tap_pv_a', 1)$$),
	ARRAY['42501', 'permission denied to deploy model "tap_pv_a"'], 'the right goes with the membership');

-- ---------------------------------------------------------------------------
-- Training through a model owned by a group role: the caller's own SELECT
-- right decides, not the owner's.
-- ---------------------------------------------------------------------------
SET ROLE tap_pv_dba;
REVOKE SELECT ON public.tap_pv_events FROM tap_pv_team;
RESET ROLE;
SELECT count(*) AS jobs_before FROM cnnrec.jobs \gset
SELECT is(pg_temp.as_role('tap_pv_dave', $$CALL cnnrec.train('tap_pv_t', wait => false)$$),
	ARRAY['42501', 'permission denied for column "user_id" of relation "tap_pv_events"'],
	'dave (member of the owner, no SELECT) cannot train the team''s model');
SELECT is(pg_temp.as_role('tap_pv_team', $$CALL cnnrec.train('tap_pv_t', wait => false)$$),
	ARRAY['42501', 'permission denied for column "user_id" of relation "tap_pv_events"'],
	'nor can the owner once it lost SELECT');
SELECT is((SELECT count(*) FROM cnnrec.jobs), :jobs_before::bigint, 'the refusals created no job');
SET ROLE tap_pv_carol;
CALL cnnrec.train('tap_pv_t') \gset c_
RESET ROLE;
SELECT is((SELECT (j.status, j.run_as, v.created_by)::text FROM cnnrec.jobs j
		   JOIN cnnrec.model_versions v ON v.job_id = j.job_id WHERE j.job_id = :c_job_id),
	'(succeeded,tap_pv_carol,tap_pv_carol)',
	'carol (member of the owner, with SELECT of her own) trains it; the worker ran as carol');
SELECT is(pg_temp.as_role('tap_pv_dave', $$SELECT * FROM public.recommend(1, 5, 'tap_pv_t')$$),
	ARRAY['42501', 'permission denied for table tap_pv_events'], 'dave cannot be served from it');
SELECT is(pg_temp.as_role('tap_pv_carol', $$SELECT * FROM public.recommend(1, 5, 'tap_pv_t')$$), NULL,
	'carol can');
SELECT is(pg_temp.as_role('tap_pv_dave', $$SELECT cnnrec.deploy('tap_pv_t', 1)$$), NULL,
	'dave may still deploy the team''s model (management needs no source right)');

-- ---------------------------------------------------------------------------
-- A DBA narrows who may define models with REVOKE/GRANT.
-- ---------------------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION cnnrec.create_model(text, regclass, text, text, text, text, jsonb, text) FROM PUBLIC;
SELECT is(pg_temp.as_role('tap_pv_alice', $$SELECT cnnrec.create_model('tap_pv_a2', 'public.tap_pv_events',
	'user_id', 'item_id', 'ts')$$),
	ARRAY['42501', 'permission denied for function create_model'],
	'after REVOKE EXECUTE FROM PUBLIC, alice cannot define models');
GRANT EXECUTE ON FUNCTION cnnrec.create_model(text, regclass, text, text, text, text, jsonb, text) TO tap_pv_alice;
SELECT is(pg_temp.as_role('tap_pv_alice', $$SELECT cnnrec.create_model('tap_pv_a2', 'public.tap_pv_events',
	'user_id', 'item_id', 'ts')$$), NULL, 'a GRANT to alice lets her again');
REVOKE EXECUTE ON FUNCTION cnnrec.create_model(text, regclass, text, text, text, text, jsonb, text) FROM tap_pv_alice;
GRANT EXECUTE ON FUNCTION cnnrec.create_model(text, regclass, text, text, text, text, jsonb, text) TO PUBLIC;

-- Superusers may manage every model.
SELECT lives_ok($$SELECT cnnrec.drop_model('tap_pv_a2')$$, 'a superuser drops alice''s model');
SELECT is(pg_temp.as_role('tap_pv_team', $$SELECT cnnrec.drop_model('tap_pv_t')$$), NULL,
	'the owner drops its own model');
SELECT is(pg_temp.as_role('tap_pv_alice', $$SELECT cnnrec.drop_model('tap_pv_a')$$), NULL,
	'alice drops hers');

SELECT * FROM finish();

DROP TABLE public.tap_pv_events;
DROP ROLE tap_pv_alice, tap_pv_bob, tap_pv_carol, tap_pv_dave, tap_pv_team, tap_pv_dba;
