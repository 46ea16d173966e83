-- pgTAP: structure of the cnnrec catalog (schema, tables, columns, keys,
-- constraints, storage, pg_dump registration, privileges).
BEGIN;
SELECT plan(57);

SELECT has_schema('cnnrec');
SELECT tables_are('cnnrec', ARRAY['models', 'model_versions', 'model_weights', 'jobs']);
SELECT sequences_are('cnnrec', ARRAY['models_model_id_seq', 'jobs_job_id_seq']);

-- models
SELECT columns_are('cnnrec', 'models', ARRAY['model_id', 'name', 'owner', 'source',
	'user_column', 'item_column', 'time_column', 'event_column', 'category_column', 'options',
	'created_at']);
SELECT col_is_pk('cnnrec', 'models', 'model_id', 'models: model_id is the primary key');
SELECT col_is_unique('cnnrec', 'models', 'name', 'models: name is unique');
SELECT col_type_is('cnnrec', 'models', 'source', 'regclass', 'models.source is regclass');
SELECT col_type_is('cnnrec', 'models', 'owner', 'regrole', 'models.owner is regrole');
SELECT col_type_is('cnnrec', 'models', 'options', 'jsonb', 'models.options is jsonb');
SELECT col_not_null('cnnrec', 'models', 'time_column', 'models.time_column is required');
SELECT col_is_null('cnnrec', 'models', 'event_column', 'models.event_column is optional');
SELECT col_is_null('cnnrec', 'models', 'category_column', 'models.category_column is optional');
SELECT col_default_is('cnnrec', 'models', 'options', '{}'::jsonb::text, 'models.options defaults to {}');

-- model_versions
SELECT columns_are('cnnrec', 'model_versions', ARRAY['model_id', 'version', 'job_id', 'active',
	'format_version', 'preset', 'options', 'n_users', 'n_items', 'n_events', 'n_params',
	'weights_bytes', 'n_chunks', 'weights_crc32c', 'metrics', 'data_stats', 'epochs',
	'train_seconds', 'created_by', 'created_at', 'deployed_at']);
SELECT col_is_pk('cnnrec', 'model_versions', ARRAY['model_id', 'version'],
	'model_versions: (model_id, version) is the primary key');
SELECT fk_ok('cnnrec', 'model_versions', 'model_id', 'cnnrec', 'models', 'model_id');
SELECT fk_ok('cnnrec', 'model_versions', 'job_id', 'cnnrec', 'jobs', 'job_id');
SELECT col_type_is('cnnrec', 'model_versions', 'metrics', 'jsonb', 'model_versions.metrics is jsonb');
SELECT col_default_is('cnnrec', 'model_versions', 'active', 'false', 'versions are inactive by default');
SELECT has_index('cnnrec', 'model_versions', 'model_versions_active_idx', ARRAY['model_id'],
	'model_versions has the active-version index');
SELECT index_is_unique('cnnrec', 'model_versions', 'model_versions_active_idx',
	'at most one active version per model');
SELECT isnt((SELECT indpred FROM pg_index WHERE indexrelid = 'cnnrec.model_versions_active_idx'::regclass),
	NULL, 'the active-version index is partial');

-- model_weights
SELECT columns_are('cnnrec', 'model_weights', ARRAY['model_id', 'version', 'chunk', 'data']);
SELECT col_is_pk('cnnrec', 'model_weights', ARRAY['model_id', 'version', 'chunk'],
	'model_weights: (model_id, version, chunk) is the primary key');
SELECT fk_ok('cnnrec', 'model_weights', ARRAY['model_id', 'version'],
	'cnnrec', 'model_versions', ARRAY['model_id', 'version']);
SELECT col_type_is('cnnrec', 'model_weights', 'data', 'bytea', 'model_weights.data is bytea');
SELECT is((SELECT attstorage::text FROM pg_attribute
			WHERE attrelid = 'cnnrec.model_weights'::regclass AND attname = 'data'),
		  'e', 'weight chunks use STORAGE EXTERNAL');

-- jobs
SELECT columns_are('cnnrec', 'jobs', ARRAY['job_id', 'model_id', 'model', 'run_as', 'options',
	'status', 'phase', 'epoch', 'epochs', 'loss', 'metrics', 'inst_per_sec', 'eta', 'version',
	'pid', 'cancel_requested', 'submitted_at', 'started_at', 'updated_at', 'finished_at',
	'error', 'error_detail']);
SELECT col_is_pk('cnnrec', 'jobs', 'job_id', 'jobs: job_id is the primary key');
SELECT fk_ok('cnnrec', 'jobs', 'model_id', 'cnnrec', 'models', 'model_id');
SELECT col_type_is('cnnrec', 'jobs', 'eta', 'interval', 'jobs.eta is an interval');
SELECT col_default_is('cnnrec', 'jobs', 'status', 'queued'::text, 'jobs start queued');

-- Constraints reject bad rows.
SELECT throws_ok($$INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column)
				 VALUES ('', 'pg_class', 'a', 'b', 'c')$$, '23514', NULL, 'empty model name is rejected');
SELECT throws_ok($$INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column, options)
				 VALUES ('m', 'pg_class', 'a', 'b', 'c', '[1]')$$, '23514', NULL, 'non-object options are rejected');
SELECT throws_ok($$INSERT INTO cnnrec.jobs (model, status) VALUES ('m', 'exploded')$$,
				 '23514', NULL, 'unknown job status is rejected');
SELECT throws_ok($$INSERT INTO cnnrec.jobs (model, status, finished_at) VALUES ('m', 'failed', now())$$,
				 '23514', NULL, 'a failed job needs an error');
SELECT throws_ok($$INSERT INTO cnnrec.jobs (model, status) VALUES ('m', 'succeeded')$$,
				 '23514', NULL, 'a finished job needs finished_at');
SELECT throws_ok($$INSERT INTO cnnrec.jobs (model, phase) VALUES ('m', 'dreaming')$$,
				 '23514', NULL, 'unknown phase is rejected');

-- One model with two versions: only one may be active; cascades work.
INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column)
	VALUES ('tap_model', 'pg_class', 'relowner', 'oid', 'relpages');
SELECT lives_ok($$INSERT INTO cnnrec.model_versions (model_id, version, active, format_version, preset,
	options, n_users, n_items, n_events, n_params, weights_bytes, n_chunks, weights_crc32c)
	SELECT model_id, v, v = 1, 1, 'tacaser', '{}', 1, 1, 1, 1, 1, 1, 0
	FROM cnnrec.models, generate_series(1, 2) v WHERE name = 'tap_model'$$, 'two versions insert');
SELECT throws_ok($$UPDATE cnnrec.model_versions SET active = true
				 WHERE model_id = (SELECT model_id FROM cnnrec.models WHERE name = 'tap_model')$$,
				 '23505', NULL, 'two active versions of one model are rejected');
SELECT throws_ok($$INSERT INTO cnnrec.model_versions (model_id, version, format_version, preset,
	options, n_users, n_items, n_events, n_params, weights_bytes, n_chunks, weights_crc32c)
	SELECT model_id, 0, 1, 'tacaser', '{}', 1, 1, 1, 1, 1, 1, 0 FROM cnnrec.models WHERE name = 'tap_model'$$,
	'23514', NULL, 'version numbers start at 1');
SELECT lives_ok($$INSERT INTO cnnrec.model_weights
	SELECT model_id, 1, c, '\x0102'::bytea FROM cnnrec.models, generate_series(0, 2) c
	WHERE name = 'tap_model'$$, 'weight chunks insert');
SELECT throws_ok($$INSERT INTO cnnrec.model_weights
	SELECT model_id, 3, 0, '\x01'::bytea FROM cnnrec.models WHERE name = 'tap_model'$$,
	'23503', NULL, 'weight chunks need their version');
SELECT throws_ok($$INSERT INTO cnnrec.model_weights
	SELECT model_id, 1, 9, ''::bytea FROM cnnrec.models WHERE name = 'tap_model'$$,
	'23514', NULL, 'empty weight chunks are rejected');
SELECT throws_ok($$INSERT INTO cnnrec.model_weights
	SELECT model_id, 1, 9, pg_catalog.decode(repeat('00', 67108865), 'hex')
	FROM cnnrec.models WHERE name = 'tap_model'$$,
	'23514', NULL, 'weight chunks above 64 MB are rejected');
DELETE FROM cnnrec.models WHERE name = 'tap_model';
SELECT is((SELECT count(*) FROM cnnrec.model_versions), 0::bigint, 'dropping a model drops its versions');
SELECT is((SELECT count(*) FROM cnnrec.model_weights), 0::bigint, 'dropping a model drops its weights');

-- Every table and sequence with user data is dumped by pg_dump.
SELECT set_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'cnnrec'$$,
	ARRAY['cnnrec.models', 'cnnrec.models_model_id_seq', 'cnnrec.model_versions',
		  'cnnrec.model_weights', 'cnnrec.jobs', 'cnnrec.jobs_job_id_seq'],
	'all catalog tables and sequences are registered with pg_extension_config_dump');

-- Every catalog object belongs to the extension.
SELECT is((SELECT count(*) FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
		   WHERE e.extname = 'cnnrec' AND d.deptype = 'e' AND d.classid = 'pg_class'::regclass
			 AND d.objid IN ('cnnrec.models'::regclass, 'cnnrec.model_versions'::regclass,
							 'cnnrec.model_weights'::regclass, 'cnnrec.jobs'::regclass)),
		  4::bigint, 'catalog tables are extension members');

-- Privileges: catalog readable by everyone, weights and writes are not.
SELECT table_privs_are('cnnrec', 'models', 'public', ARRAY['SELECT'], 'PUBLIC may only read models');
SELECT table_privs_are('cnnrec', 'model_versions', 'public', ARRAY['SELECT'], 'PUBLIC may only read versions');
SELECT table_privs_are('cnnrec', 'jobs', 'public', ARRAY['SELECT'], 'PUBLIC may only read jobs');
SELECT table_privs_are('cnnrec', 'model_weights', 'public', ARRAY[]::text[], 'PUBLIC may not read raw weights');
SELECT schema_privs_are('cnnrec', 'public', ARRAY['USAGE'], 'PUBLIC has USAGE on schema cnnrec');

-- The extension itself.
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'cnnrec'), false,
	'the extension is not relocatable');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'), '',
	'no shared_preload_libraries needed');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
		   JOIN pg_extension e ON d.refobjid = e.oid
		   WHERE e.extname = 'cnnrec' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
			 AND p.probin <> '$libdir/cnnrec'), 0::bigint,
	'every C function uses the unversioned library path');

SELECT * FROM finish();
ROLLBACK;
