
-- ---------------------------------------------------------------------------
-- Offline evaluation of a stored version on its source (leave-last-out,
-- full ranking, pessimistic ties), next to the popularity baseline.
-- ---------------------------------------------------------------------------

CREATE FUNCTION cnnrec.evaluate(
	name text,
	version integer DEFAULT NULL,
	k integer DEFAULT 10,
	exclude_seen boolean DEFAULT NULL,
	sampled boolean DEFAULT false)
RETURNS TABLE (k integer, users bigint, hr double precision, ndcg double precision,
			   mrr double precision, pop_hr double precision, pop_ndcg double precision,
			   pop_mrr double precision, protocol text)
AS 'MODULE_PATHNAME', 'cnnrec_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION cnnrec.evaluate(text, integer, integer, boolean, boolean) IS
'HR@k, NDCG@k and MRR of a version (NULL: the active one) on each user''s last event, full ranking, with the popularity baseline; exclude_seen NULL: the model''s setting; sampled => true: the labelled sampled-100 variant';

CREATE FUNCTION cnnrec.evaluate_groups(
	name text,
	version integer DEFAULT NULL,
	k integer DEFAULT 10,
	exclude_seen boolean DEFAULT NULL,
	sampled boolean DEFAULT false)
RETURNS TABLE ("group" text, k integer, users bigint, hr double precision, ndcg double precision,
			   mrr double precision, pop_hr double precision, pop_ndcg double precision,
			   pop_mrr double precision, protocol text)
AS 'MODULE_PATHNAME', 'cnnrec_evaluate_groups'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 3;
COMMENT ON FUNCTION cnnrec.evaluate_groups(text, integer, integer, boolean, boolean) IS
'cnnrec.evaluate() for all test users and separately for targets new to the user and targets seen before';
