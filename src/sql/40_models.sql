
-- ---------------------------------------------------------------------------
-- Model definitions
-- ---------------------------------------------------------------------------

CREATE FUNCTION cnnrec.create_model(
	name text,
	source pg_catalog.regclass,
	user_column text,
	item_column text,
	time_column text,
	event_column text DEFAULT NULL,
	options jsonb DEFAULT '{}',
	category_column text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cnnrec_create_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cnnrec.create_model(text, pg_catalog.regclass, text, text, text, text, jsonb, text) IS
'define a model on a source table (user, item, time, optional event and item-category columns) with default options; returns its id';

CREATE FUNCTION cnnrec.deploy(name text, version integer)
RETURNS void
AS 'MODULE_PATHNAME', 'cnnrec_deploy'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cnnrec.deploy(text, integer) IS
'make a trained version the active (served) one, atomically';

CREATE FUNCTION cnnrec.drop_model(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'cnnrec_drop_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cnnrec.drop_model(text) IS
'remove a model with its versions, weights and jobs';
