
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

CREATE FUNCTION @extschema@.similar_items(
	item_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL)
RETURNS TABLE (item_id bigint, similarity real, rank integer)
AS 'MODULE_PATHNAME', 'cnnrec_similar_items'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION @extschema@.similar_items(bigint, integer, text) IS
'the k items nearest to an item by cosine similarity of the learned item (output) vectors';

CREATE FUNCTION @extschema@.explain_recommendation(
	user_id bigint,
	item_id bigint,
	model text DEFAULT NULL)
RETURNS TABLE (recency integer, history_item bigint, event text, time_gap interval,
			   attention real, in_conv_window boolean, score real, rank integer)
AS 'MODULE_PATHNAME', 'cnnrec_explain_recommendation'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION @extschema@.explain_recommendation(bigint, bigint, text) IS
'the history interactions behind a recommendation, newest first, with attention weights and time gaps, and the item''s score and rank';

CREATE FUNCTION cnnrec.recommend_all(
	model text,
	k integer DEFAULT 10)
RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'cnnrec_recommend_all'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION cnnrec.recommend_all(text, integer) IS
'recommend(user, k) for every user of the model''s source, scored in blocks of users';
