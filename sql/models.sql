-- cnnrec.create_model(): validation of the source, columns, types,
-- privileges and options, and the stored definition.
SET client_min_messages = notice;
CREATE TABLE public.shop_events (
	user_id bigint, item_id integer, ts timestamptz, kind text,
	rating smallint, day date, seqno bigint, price numeric, label varchar(10));
INSERT INTO public.shop_events VALUES (1, 10, '2024-01-01 10:00+00', 'view', 4, '2024-01-01', 1, 9.5, 'a');
CREATE VIEW public.shop_view AS SELECT * FROM public.shop_events;
CREATE SEQUENCE public.not_a_table;

-- A definition without a serving index gets a notice with a hint.
SELECT cnnrec.create_model('shop', 'public.shop_events', 'user_id', 'item_id', 'ts', 'kind',
						   '{"preset": "tacaser", "d": 32, "epochs": 5}') > 0 AS ok;
CREATE INDEX ON public.shop_events (user_id, ts);
-- Every accepted column type works; the notice names the index to create.
SELECT cnnrec.create_model('by_rating', 'public.shop_events', 'user_id', 'item_id', 'day', 'rating') > 0 AS ok;
SELECT cnnrec.create_model('by_order', 'shop_events', user_column => 'user_id', item_column => 'item_id',
						   time_column => 'seqno', event_column => 'label') > 0 AS ok;
SELECT cnnrec.create_model('on_view', 'public.shop_view', 'user_id', 'item_id', 'ts') > 0 AS ok;
-- An item-category column (integer or text), by name.
SELECT cnnrec.create_model('by_rating_cat', 'public.shop_events', 'user_id', 'item_id', 'ts',
						   category_column => 'rating') > 0 AS ok;
SELECT cnnrec.create_model('by_label_cat', 'public.shop_events', 'user_id', 'item_id', 'ts', 'kind',
						   '{"category": "output"}', 'label') > 0 AS ok;
SELECT name, owner, source, user_column, item_column, time_column, event_column, category_column, options
FROM cnnrec.models ORDER BY model_id;

-- Names.
SELECT cnnrec.create_model('shop', 'public.shop_events', 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model('', 'public.shop_events', 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model(repeat('x', 64), 'public.shop_events', 'user_id', 'item_id', 'ts');

-- NULL required arguments.
SELECT cnnrec.create_model(NULL, 'public.shop_events', 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model('m', NULL, 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', NULL, 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', NULL, 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', NULL);
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, NULL);

-- Missing or wrong relations and columns.
SELECT cnnrec.create_model('m', 'public.no_such_table', 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.not_a_table', 'user_id', 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'customer', 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ctid');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', 'nope');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', category_column => 'nope');

-- Wrong column types.
SELECT cnnrec.create_model('m', 'public.shop_events', 'kind', 'item_id', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'price', 'ts');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'kind');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', 'price');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', category_column => 'day');

-- Options: unknown keys, wrong types, out-of-range values, bad combinations.
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"dimension": 8}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '[1, 2]');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '"d"');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"d": "big"}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"d": 2.5}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"d": 0}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"d": 100000}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"lr": -1}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"dropout": 1}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"l": 17}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"preset": "sasrec"}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"category": true}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"category": "both"}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"loss": "mse"}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"exclude_seen": "yes"}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"l": 8, "m": 4}');
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL, '{"epochs": null}');
-- The caser preset's history window follows l unless m is given.
SELECT cnnrec.create_model('caser8', 'public.shop_events', 'user_id', 'item_id', 'ts', NULL,
						   '{"preset": "caser", "l": 8, "loss": "bce_per_target", "exclude_seen": false}') > 0 AS ok;
-- Nothing was stored by the failing calls.
SELECT count(*) FROM cnnrec.models;

-- Privileges: a role without SELECT on the source cannot define a model on it,
-- and may not write the catalog directly.
CREATE ROLE cnnrec_reader;
CREATE ROLE cnnrec_colreader;
GRANT SELECT (user_id, item_id, ts) ON public.shop_events TO cnnrec_colreader;
SET ROLE cnnrec_reader;
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts');
INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column)
	VALUES ('sneaky', 'public.shop_events', 'user_id', 'item_id', 'ts');
SELECT count(*) > 0 AS can_read_catalog FROM cnnrec.models;
SELECT count(*) FROM cnnrec.model_weights;
RESET ROLE;
SET ROLE cnnrec_colreader;
SELECT cnnrec.create_model('colmodel', 'public.shop_events', 'user_id', 'item_id', 'ts') > 0 AS ok;
SELECT cnnrec.create_model('m', 'public.shop_events', 'user_id', 'item_id', 'ts', 'kind');
RESET ROLE;
SELECT name, owner FROM cnnrec.models WHERE name = 'colmodel';

DELETE FROM cnnrec.models;
DROP VIEW public.shop_view;
DROP TABLE public.shop_events;
DROP SEQUENCE public.not_a_table;
DROP ROLE cnnrec_reader;
DROP ROLE cnnrec_colreader;
