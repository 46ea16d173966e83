
-- ---------------------------------------------------------------------------
-- Catalog: model definitions, trained versions, weight chunks, training jobs.
--
-- models          one row per named model: the source table and columns it
--                 learns from and its default options (hyperparameters).
-- model_versions  one row per trained version: metrics, sizes, hyperparameters
--                 actually used, and whether it is the active (served) one.
--                 At most one active version per model (partial unique index).
-- model_weights   the serialized model (cnnrec blob format) of each version,
--                 cut into bytea chunks of at most 64 MB, stored uncompressed
--                 out of line (floats do not compress; EXTERNAL lets readers
--                 fetch slices).  A version and its chunks are written in one
--                 transaction, so a crash leaves all of them or none.
-- jobs            one row per training job, updated by the worker in short
--                 transactions: status, phase, progress, metrics, error.
--
-- All four hold user data and are registered with pg_extension_config_dump,
-- so pg_dump carries models, versions, weights and job history.
-- ---------------------------------------------------------------------------

CREATE SEQUENCE cnnrec.models_model_id_seq;
CREATE SEQUENCE cnnrec.jobs_job_id_seq;

CREATE TABLE cnnrec.models (
	model_id		bigint NOT NULL DEFAULT pg_catalog.nextval('cnnrec.models_model_id_seq'::pg_catalog.regclass),
	name			text NOT NULL,
	owner			regrole NOT NULL DEFAULT (pg_catalog.current_user())::pg_catalog.regrole,
	source			regclass NOT NULL,
	user_column		name NOT NULL,
	item_column		name NOT NULL,
	time_column		name NOT NULL,
	event_column	name,
	category_column	name,
	options			jsonb NOT NULL DEFAULT '{}'::jsonb,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT models_pkey PRIMARY KEY (model_id),
	CONSTRAINT models_name_key UNIQUE (name),
	CONSTRAINT models_name_check CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.>) 0
										AND pg_catalog.length(name) OPERATOR(pg_catalog.<=) 63),
	CONSTRAINT models_options_check CHECK (pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.=) 'object')
);
ALTER SEQUENCE cnnrec.models_model_id_seq OWNED BY cnnrec.models.model_id;
COMMENT ON TABLE cnnrec.models IS 'cnnrec model definitions: source table, columns and default options';

CREATE TABLE cnnrec.jobs (
	job_id			bigint NOT NULL DEFAULT pg_catalog.nextval('cnnrec.jobs_job_id_seq'::pg_catalog.regclass),
	model_id		bigint,
	model			text NOT NULL,
	run_as			regrole NOT NULL DEFAULT (pg_catalog.current_user())::pg_catalog.regrole,
	options			jsonb NOT NULL DEFAULT '{}'::jsonb,
	status			text NOT NULL DEFAULT 'queued',
	phase			text,
	epoch			integer,
	epochs			integer,
	loss			double precision,
	metrics			jsonb,
	inst_per_sec	double precision,
	eta				interval,
	version			integer,
	pid				integer,
	cancel_requested boolean NOT NULL DEFAULT false,
	submitted_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at		timestamptz,
	updated_at		timestamptz,
	finished_at		timestamptz,
	error			text,
	error_detail	jsonb,
	CONSTRAINT jobs_pkey PRIMARY KEY (job_id),
	CONSTRAINT jobs_model_id_fkey FOREIGN KEY (model_id)
		REFERENCES cnnrec.models (model_id) ON DELETE SET NULL,
	CONSTRAINT jobs_status_check CHECK (status OPERATOR(pg_catalog.=) ANY
		(ARRAY['queued', 'running', 'succeeded', 'failed', 'cancelled']::text[])),
	CONSTRAINT jobs_phase_check CHECK (phase IS NULL OR phase OPERATOR(pg_catalog.=) ANY
		(ARRAY['loading', 'training', 'evaluating', 'saving']::text[])),
	CONSTRAINT jobs_epoch_check CHECK (epoch IS NULL OR epoch OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT jobs_error_check CHECK (status OPERATOR(pg_catalog.<>) 'failed' OR error IS NOT NULL),
	CONSTRAINT jobs_finished_check CHECK ((finished_at IS NULL) OPERATOR(pg_catalog.=)
		(status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::text[])))
);
ALTER SEQUENCE cnnrec.jobs_job_id_seq OWNED BY cnnrec.jobs.job_id;
CREATE INDEX jobs_model_id_idx ON cnnrec.jobs (model_id, job_id);
CREATE INDEX jobs_running_idx ON cnnrec.jobs (status)
	WHERE status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::text[]);
COMMENT ON TABLE cnnrec.jobs IS 'cnnrec training jobs: status, phase, per-epoch progress, metrics and errors';

CREATE TABLE cnnrec.model_versions (
	model_id		bigint NOT NULL,
	version			integer NOT NULL,
	job_id			bigint,
	active			boolean NOT NULL DEFAULT false,
	format_version	integer NOT NULL,
	preset			text NOT NULL,
	options			jsonb NOT NULL,
	n_users			bigint NOT NULL,
	n_items			bigint NOT NULL,
	n_events		bigint NOT NULL,
	n_params		bigint NOT NULL,
	weights_bytes	bigint NOT NULL,
	n_chunks		integer NOT NULL,
	weights_crc32c	bigint NOT NULL,
	metrics			jsonb NOT NULL DEFAULT '{}'::jsonb,
	data_stats		jsonb NOT NULL DEFAULT '{}'::jsonb,
	epochs			integer,
	train_seconds	double precision,
	created_by		regrole NOT NULL DEFAULT (pg_catalog.current_user())::pg_catalog.regrole,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	deployed_at		timestamptz,
	CONSTRAINT model_versions_pkey PRIMARY KEY (model_id, version),
	CONSTRAINT model_versions_model_id_fkey FOREIGN KEY (model_id)
		REFERENCES cnnrec.models (model_id) ON DELETE CASCADE,
	CONSTRAINT model_versions_job_id_fkey FOREIGN KEY (job_id)
		REFERENCES cnnrec.jobs (job_id) ON DELETE SET NULL,
	CONSTRAINT model_versions_version_check CHECK (version OPERATOR(pg_catalog.>) 0),
	CONSTRAINT model_versions_sizes_check CHECK (n_users OPERATOR(pg_catalog.>=) 0
		AND n_items OPERATOR(pg_catalog.>=) 0 AND n_events OPERATOR(pg_catalog.>=) 0
		AND n_params OPERATOR(pg_catalog.>) 0 AND weights_bytes OPERATOR(pg_catalog.>) 0
		AND n_chunks OPERATOR(pg_catalog.>) 0),
	CONSTRAINT model_versions_metrics_check CHECK (pg_catalog.jsonb_typeof(metrics) OPERATOR(pg_catalog.=) 'object')
);
CREATE UNIQUE INDEX model_versions_active_idx ON cnnrec.model_versions (model_id) WHERE active;
CREATE INDEX model_versions_job_id_idx ON cnnrec.model_versions (job_id);
COMMENT ON TABLE cnnrec.model_versions IS 'cnnrec trained model versions: metrics, sizes, options used, active flag';
COMMENT ON INDEX cnnrec.model_versions_active_idx IS 'at most one active (served) version per model';

CREATE TABLE cnnrec.model_weights (
	model_id		bigint NOT NULL,
	version			integer NOT NULL,
	chunk			integer NOT NULL,
	data			bytea NOT NULL,
	CONSTRAINT model_weights_pkey PRIMARY KEY (model_id, version, chunk),
	CONSTRAINT model_weights_version_fkey FOREIGN KEY (model_id, version)
		REFERENCES cnnrec.model_versions (model_id, version) ON DELETE CASCADE,
	CONSTRAINT model_weights_chunk_check CHECK (chunk OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT model_weights_size_check CHECK (pg_catalog.octet_length(data) OPERATOR(pg_catalog.>) 0
		AND pg_catalog.octet_length(data) OPERATOR(pg_catalog.<=) 67108864)
);
ALTER TABLE cnnrec.model_weights ALTER COLUMN data SET STORAGE EXTERNAL;
COMMENT ON TABLE cnnrec.model_weights IS 'cnnrec serialized weights of each version, in chunks of at most 64 MB';

-- pg_dump carries the contents of every table and sequence holding user data.
SELECT pg_catalog.pg_extension_config_dump('cnnrec.models', '');
SELECT pg_catalog.pg_extension_config_dump('cnnrec.models_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cnnrec.model_versions', '');
SELECT pg_catalog.pg_extension_config_dump('cnnrec.model_weights', '');
SELECT pg_catalog.pg_extension_config_dump('cnnrec.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('cnnrec.jobs_job_id_seq', '');

-- Everybody may read definitions, versions and job progress; writes go
-- through the management functions.  Raw weights are not public.
REVOKE ALL ON cnnrec.models, cnnrec.model_versions, cnnrec.model_weights, cnnrec.jobs FROM PUBLIC;
GRANT SELECT ON cnnrec.models, cnnrec.model_versions, cnnrec.jobs TO PUBLIC;
