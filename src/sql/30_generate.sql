
-- Synthetic data: cnnrec.generate_events (src/generate.c documents the
-- generating process).
--
-- Volatility: IMMUTABLE PARALLEL SAFE.  The rows are a pure function of the
-- arguments: integer arithmetic only, a fixed time origin (the start
-- argument, never now()), no table access and no dependence on any setting
-- (ts is an absolute instant; TimeZone changes only how it is displayed).
-- PostgreSQL never constant-folds a set-returning function, so IMMUTABLE
-- only states the truth; PARALLEL SAFE because nothing is shared.
--
-- Rows: the support function estimates n_users * events_per_user when both
-- are constants; ROWS is the fallback for other calls.

CREATE FUNCTION cnnrec.generate_events_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'generate_events_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cnnrec.generate_events(
	n_users bigint,
	n_items bigint,
	events_per_user integer,
	seed bigint DEFAULT 0,
	n_categories integer DEFAULT 0,
	start timestamptz DEFAULT '2024-01-01 00:00:00+00',
	first_user bigint DEFAULT 1)
RETURNS TABLE (user_id bigint, item_id bigint, event text, ts timestamptz)
AS 'MODULE_PATHNAME', 'generate_events'
LANGUAGE C IMMUTABLE PARALLEL SAFE
ROWS 100000
SUPPORT cnnrec.generate_events_support;

COMMENT ON FUNCTION cnnrec.generate_events(bigint, bigint, integer, bigint, integer, timestamptz, bigint) IS
'Deterministic synthetic e-commerce log (user_id, item_id, event view/cart/purchase, ts), ordered by user then time, '
'with categories, skewed popularity, per-user taste, sessions, fixed next-item successors, view-cart-purchase funnels '
'and repurchases of consumables. n_users: users first_user .. first_user + n_users - 1; '
'n_items: item ids 1 .. n_items (10 .. 1e9); events_per_user: mean events per user (1 .. 100000, each user gets '
'ceil(E/2) .. floor(3E/2), n_users * E at most 1e10); seed: the same seed gives the same rows on every machine; '
'n_categories: 0 for floor(sqrt(n_items)), at most n_items / 2; start: time origin of the log; '
'first_user: first user id, to generate a large log in batches (a user''s rows do not depend on n_users).';
