
-- ---------------------------------------------------------------------------
-- Serving: in the extension's schema (public by default), so that
-- SELECT * FROM recommend(42, 10) works unqualified.  STABLE: they read
-- tables and use the transaction's start time; PARALLEL RESTRICTED: each
-- parallel worker would load its own copy of the model.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.recommend(
	user_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	exclude_seen boolean DEFAULT true,
	candidates bigint[] DEFAULT NULL)
RETURNS TABLE (item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'cnnrec_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend(bigint, integer, text, boolean, bigint[]) IS
'top-k items for a user from their newest interactions (model: argument, cnnrec.default_model, or the only model; exclude_seen NULL: the model''s setting)';

CREATE FUNCTION @extschema@.recommend_for_items(
	items bigint[],
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	times timestamptz[] DEFAULT NULL,
	events text[] DEFAULT NULL,
	exclude_seen boolean DEFAULT true)
RETURNS TABLE (item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'cnnrec_recommend_for_items'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend_for_items(bigint[], integer, text, timestamptz[], text[], boolean) IS
'top-k items for an anonymous session given as items (oldest first), with optional times and events';
