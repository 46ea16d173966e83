
-- ---------------------------------------------------------------------------
-- Training: a background worker per job (cnnrec_train.so), progress in
-- cnnrec.jobs.
-- ---------------------------------------------------------------------------

CREATE PROCEDURE cnnrec.train(
	name text,
	options jsonb DEFAULT '{}',
	wait boolean DEFAULT true,
	INOUT job_id bigint DEFAULT NULL)
AS 'MODULE_PATHNAME', 'cnnrec_train'
LANGUAGE C;
COMMENT ON PROCEDURE cnnrec.train(text, jsonb, boolean, bigint) IS
'train a new version of a model in a background worker; with wait => true report progress per epoch and return when it ends';

CREATE FUNCTION cnnrec.cancel(job_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cnnrec_cancel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cnnrec.cancel(bigint) IS
'stop a queued or running training job; the active version stays as it was';
