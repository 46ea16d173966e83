
-- ---------------------------------------------------------------------------
-- Privileges: who may call what.
--
-- Catalog tables: PUBLIC may read cnnrec.models, model_versions and jobs,
-- never cnnrec.model_weights, and may write none of them (10_catalog.sql);
-- every write goes through the functions below, which check the caller and
-- then write with the extension owner's rights for that one statement.
--
-- Routines: EXECUTE is granted explicitly, so the rights are stated here
-- (and recorded in pg_init_privs) rather than left to the default.
--   * Sequences, synthetic data, serving and evaluation: PUBLIC.  They read
--     the source table with the caller's own privileges.
--   * Management: PUBLIC may call them; each checks the model-level right:
--       create_model  SELECT on the source columns; the caller owns the model
--       train         privileges of the model's owner (owner, or a member of
--                     the owner role) and SELECT on the source columns: the
--                     worker trains as the caller
--       deploy, drop_model  privileges of the model's owner
--       cancel        privileges of the role that started the job or of the
--                     model's owner
--     Superusers may do everything.  To limit who may define or train models
--     at all, REVOKE EXECUTE on cnnrec.create_model and cnnrec.train FROM
--     PUBLIC and GRANT it to a role; pg_dump keeps such changes.
--   * The planner support function is not callable by PUBLIC.
-- ---------------------------------------------------------------------------

REVOKE ALL ON FUNCTION cnnrec.generate_events_support(pg_catalog.internal) FROM PUBLIC;

-- A GRANT on a routine with the default ACL stores that ACL explicitly
-- (owner and PUBLIC), which CREATE EXTENSION records in pg_init_privs.
GRANT EXECUTE ON FUNCTION
	cnnrec.create_model(pg_catalog.text, pg_catalog.regclass, pg_catalog.text, pg_catalog.text,
						pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text),
	cnnrec.deploy(pg_catalog.text, pg_catalog.int4),
	cnnrec.drop_model(pg_catalog.text),
	cnnrec.cancel(pg_catalog.int8),
	cnnrec.generate_events(pg_catalog.int8, pg_catalog.int8, pg_catalog.int4, pg_catalog.int8,
						   pg_catalog.int4, pg_catalog.timestamptz, pg_catalog.int8),
	@extschema@.recommend(pg_catalog.int8, pg_catalog.int4, pg_catalog.text, pg_catalog.bool,
						  pg_catalog.int8[]),
	@extschema@.recommend_for_items(pg_catalog.int8[], pg_catalog.int4, pg_catalog.text,
									pg_catalog.timestamptz[], pg_catalog.text[], pg_catalog.bool),
	@extschema@.similar_items(pg_catalog.int8, pg_catalog.int4, pg_catalog.text),
	@extschema@.explain_recommendation(pg_catalog.int8, pg_catalog.int8, pg_catalog.text),
	cnnrec.recommend_all(pg_catalog.text, pg_catalog.int4),
	cnnrec.evaluate(pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.bool, pg_catalog.bool),
	cnnrec.evaluate_groups(pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.bool, pg_catalog.bool)
TO PUBLIC;
GRANT EXECUTE ON PROCEDURE cnnrec.train(pg_catalog.text, pg_catalog.jsonb, pg_catalog.bool, pg_catalog.int8)
TO PUBLIC;
