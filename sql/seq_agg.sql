--
-- cnnrec.sequence_agg: every signature, tie-break order, NULL skipping,
-- window use, partial aggregation and a parallel plan with the same result.
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- The aggregate itself, in PostgreSQL's executor; cnnrec's own grouping
-- node (SequenceGroup) is tested against it in seq_group.sql.
SET cnnrec.enable_sequence_grouping = off;

-- Errors as one line: SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.err(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN state || ': ' || msg
        || coalesce(nullif(' DETAIL: ' || detail, ' DETAIL: '), '')
        || coalesce(nullif(' HINT: ' || hint, ' HINT: '), '');
END $$;

-- The twelve aggregates, all parallel safe with combine/serialize/deserialize.
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggcombinefn <> 0 AS combine,
       a.aggserialfn <> 0 AS serial, a.aggdeserialfn <> 0 AS deserial,
       p.proparallel, a.aggfinalmodify
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.proname = 'sequence_agg' ORDER BY 1::text;

-- One small log in every accepted type.  User 1 has ties on time (broken by
-- item) and on (time, item) (broken by event, NULL last); rows are inserted
-- out of order.  User 2 has rows with a NULL item or time (skipped).  User 3
-- has only skipped rows, so its sequence is NULL.
CREATE TEMP TABLE ev (
    user_id int, item bigint, item4 int, item2 smallint,
    tstz timestamptz, ts timestamp, d date, t8 bigint, t4 int,
    ev8 bigint, ev2 smallint, evt text);
INSERT INTO ev (user_id, item, tstz, ev8, evt) VALUES
 (1, 30, '2024-01-03 09:00+00', 1,    'view'),
 (1, 20, '2024-01-02 09:00+00', 3,    'purchase'),
 (1, 20, '2024-01-02 09:00+00', NULL, NULL),
 (1, 20, '2024-01-02 09:00+00', 2,    'cart'),
 (1, 10, '2024-01-02 09:00+00', 1,    'view'),
 (1, 40, '2024-01-01 09:00+00', 1,    'view'),
 (2, 50, '2024-01-05 12:00+00', 1,    'view'),
 (2, NULL, '2024-01-04 12:00+00', 1,  'view'),
 (2, 60, NULL,                  1,    'view'),
 (2, 70, '2024-01-06 12:00+00', NULL, NULL),
 (3, NULL, '2024-01-01 00:00+00', 1,  'view'),
 (3, 80, NULL,                  1,    'view');
UPDATE ev SET item4 = item, item2 = item, ts = tstz AT TIME ZONE 'UTC', d = (tstz AT TIME ZONE 'UTC')::date,
              t8 = extract(epoch FROM tstz)::bigint, t4 = extract(epoch FROM tstz)::int / 86400,
              ev2 = ev8;

-- timestamptz time
SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, tstz, ev8) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY 1 ORDER BY 1;
-- timestamp time
SELECT user_id, cnnrec.sequence_agg(item, ts) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, ts, ev8) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, ts, evt) FROM ev GROUP BY 1 ORDER BY 1;
-- date time (ties on the day)
SELECT user_id, cnnrec.sequence_agg(item, d) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, d, ev8) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, d, evt) FROM ev GROUP BY 1 ORDER BY 1;
-- integer time (epoch seconds, or a plain order: days here)
SELECT user_id, cnnrec.sequence_agg(item, t8) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, t8, ev8) FROM ev GROUP BY 1 ORDER BY 1;
SELECT user_id, cnnrec.sequence_agg(item, t4, evt) FROM ev GROUP BY 1 ORDER BY 1;
-- smallint and integer items, integer time, smallint events resolve to the
-- bigint signatures without ambiguity; an unknown literal or NULL event is text.
SELECT user_id, cnnrec.sequence_agg(item2, t4), cnnrec.sequence_agg(item4, t4, ev2)
FROM ev GROUP BY 1 ORDER BY 1;
SELECT cnnrec.sequence_agg(item4, t4, 'e') AS literal_event, cnnrec.sequence_agg(item4, t4, NULL) AS null_event
FROM ev WHERE user_id = 2;
SELECT cnnrec.sequence_agg(item2, (t4 - 19700)::int2, ev2::int2) FROM ev WHERE user_id = 1;
-- no rows at all: NULL
SELECT cnnrec.sequence_agg(item, tstz) IS NULL AS empty_is_null FROM ev WHERE false;
-- the same ordering as array_agg(... ORDER BY time, item, event NULLS LAST)
SELECT user_id,
       cnnrec.seq_items(cnnrec.sequence_agg(item, tstz, evt))
         = array_agg(item ORDER BY tstz, item, evt COLLATE "C") FILTER (WHERE item IS NOT NULL AND tstz IS NOT NULL) AS same
FROM ev GROUP BY 1 ORDER BY 1;

-- Bad input: wrong types and out-of-range events.
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item::numeric, tstz) FROM ev$$);
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item, tstz::text) FROM ev$$);
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item, tstz, 1.5) FROM ev$$);
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item, tstz, evt, evt) FROM ev$$);
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item, tstz, ev8 * 10000000000) FROM ev$$);
SELECT pg_temp.err($$SELECT cnnrec.sequence_agg(item, tstz, -2147483648) FROM ev$$);

-- As a window aggregate: the final function runs after every row and the
-- state keeps growing (rows arrive in item order, so each finalization
-- sorts again).
SELECT item, cnnrec.sequence_agg(item, t8) OVER (ORDER BY item DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM ev WHERE user_id = 1 AND item <> 20;

-- A larger deterministic log: 300 users, ~60 events each, many time ties,
-- text events with a few labels; checked against array_agg and string_agg.
CREATE TABLE seq_agg_log AS
SELECT (abs(hashint4(i)) % 300) + 1 AS user_id,
       (abs(hashint4(i * 7)) % 50) + 1 AS item_id,
       (ARRAY['view', 'view', 'cart', 'purchase', 'Wishlist', NULL])[abs(hashint4(i * 13)) % 6 + 1] AS event,
       timestamptz '2024-01-01 00:00+00' + (abs(hashint4(i * 3)) % 4000) * interval '1 minute' AS ts
FROM generate_series(1, 18000) i;
INSERT INTO seq_agg_log VALUES (1, NULL, 'view', now()), (1, 5, 'view', NULL);
ANALYZE seq_agg_log;
-- Reference: the same text built by string_agg with ORDER BY.
CREATE TEMP VIEW reference AS
SELECT user_id, 'timestamptz,text:[' || string_agg(
           format('(%s,"%s",%s)', item_id, ts,
                  CASE WHEN event IS NULL THEN 'NULL' ELSE '"' || event || '"' END),
           ',' ORDER BY ts, item_id, event COLLATE "C" NULLS LAST) || ']' AS txt
FROM seq_agg_log WHERE item_id IS NOT NULL AND ts IS NOT NULL GROUP BY user_id;
SELECT count(*) AS users,
       count(*) FILTER (WHERE r.txt = s.seq::text) AS identical
FROM reference r
JOIN (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id) s
USING (user_id);

-- Serial result, to compare with the plans below.
SET max_parallel_workers_per_gather = 0;
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) AS serial_md5
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id) q \gset
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) = :'serial_md5' AS sort_grouping_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id) q;

SELECT md5(cnnrec.sequence_agg(item_id, ts, event)::text) AS serial_one_md5 FROM seq_agg_log \gset

-- Parallel plan: partial aggregates in the workers (serialize), finalized
-- in the leader (deserialize + combine).
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id;
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) = :'serial_md5' AS parallel_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id) q;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id;
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) = :'serial_md5' AS parallel_hash_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_log GROUP BY user_id) q;
RESET enable_sort;
-- One group over the whole table: every worker's state is combined.
EXPLAIN (COSTS OFF)
SELECT cnnrec.sequence_agg(item_id, ts, event) FROM seq_agg_log;
SELECT cnnrec.seq_length(s), md5(s::text) = :'serial_one_md5' AS parallel_one_same
FROM (SELECT cnnrec.sequence_agg(item_id, ts, event) AS s FROM seq_agg_log) q;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Partial aggregation without parallel workers (partitionwise): each
-- partition's states (labels first seen in a different order) are
-- serialized, then deserialized and combined by the finalize step.
CREATE TABLE seq_agg_part (user_id int, item_id int, event text, ts timestamptz) PARTITION BY RANGE (ts);
CREATE TABLE seq_agg_part_1 PARTITION OF seq_agg_part FOR VALUES FROM (MINVALUE) TO ('2024-01-02');
CREATE TABLE seq_agg_part_2 PARTITION OF seq_agg_part FOR VALUES FROM ('2024-01-02') TO (MAXVALUE);
INSERT INTO seq_agg_part SELECT user_id, item_id, event, ts FROM seq_agg_log WHERE ts IS NOT NULL;
-- labels first seen in a different order in each partition
INSERT INTO seq_agg_part VALUES (1, 1, 'zz-late', '2024-01-03'), (1, 1, 'aa-early', '2024-01-01');
ANALYZE seq_agg_part;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) FROM seq_agg_part GROUP BY user_id;
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) AS partitionwise_md5
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_part GROUP BY user_id) q \gset
RESET enable_partitionwise_aggregate;
SELECT md5(string_agg(user_id || ' ' || seq::text, ';' ORDER BY user_id)) = :'partitionwise_md5' AS partitionwise_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS seq FROM seq_agg_part GROUP BY user_id) q;
SELECT cnnrec.sequence_agg(item_id, ts, event) FILTER (WHERE event LIKE '%-%') FROM seq_agg_part WHERE user_id = 1;
RESET max_parallel_workers_per_gather;

-- Long groups of every length up to 400 (several chunks each), arriving
-- interleaved, in and out of order: hash aggregation (also spilling to
-- disk in many batches), sorted grouping, a running and a moving window
-- (the aggregate restarted for each row) and grouping sets all agree with
-- array_agg.
CREATE TABLE seq_agg_long AS
SELECT g AS user_id, (abs(hashint4(g * 1000 + k)) % 97) AS item_id,
       timestamptz '2024-01-01 00:00+00' + (CASE WHEN g % 3 = 0 THEN -k ELSE k END) * interval '1 minute' AS ts,
       (ARRAY['view', 'cart'])[k % 2 + 1] AS event
FROM generate_series(1, 400) g, generate_series(1, g) k
ORDER BY k, g;
ANALYZE seq_agg_long;
CREATE TEMP VIEW long_reference AS
SELECT user_id, array_agg(item_id::bigint ORDER BY ts, item_id, event) AS items FROM seq_agg_long GROUP BY user_id;
SET max_parallel_workers_per_gather = 0;
SET enable_sort = off;
SELECT count(*) AS groups, count(*) FILTER (WHERE cnnrec.seq_items(s) = r.items) AS hash_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS s FROM seq_agg_long GROUP BY user_id) q
JOIN long_reference r USING (user_id);
SET work_mem = '64kB';
SELECT count(*) AS groups, count(*) FILTER (WHERE cnnrec.seq_items(s) = r.items) AS spilled_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS s FROM seq_agg_long GROUP BY user_id) q
JOIN long_reference r USING (user_id);
RESET work_mem;
RESET enable_sort;
SET enable_hashagg = off;
SELECT count(*) AS groups, count(*) FILTER (WHERE cnnrec.seq_items(s) = r.items) AS sorted_same
FROM (SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) AS s FROM seq_agg_long GROUP BY user_id) q
JOIN long_reference r USING (user_id);
RESET enable_hashagg;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE cnnrec.seq_items(running) = running_ref) AS running_same,
       count(*) FILTER (WHERE cnnrec.seq_items(moving) = moving_ref) AS moving_same
FROM (SELECT cnnrec.sequence_agg(item_id, ts, event) OVER w AS running,
             array_agg(item_id::bigint) OVER w AS running_ref,
             cnnrec.sequence_agg(item_id, ts, event) OVER m AS moving,
             array_agg(item_id::bigint) OVER m AS moving_ref
      FROM seq_agg_long WHERE user_id > 350
      WINDOW w AS (PARTITION BY user_id ORDER BY ts, item_id, event ROWS UNBOUNDED PRECEDING),
             m AS (PARTITION BY user_id ORDER BY ts, item_id, event ROWS BETWEEN 60 PRECEDING AND CURRENT ROW)) q;
SELECT count(*) AS sets, count(*) FILTER (WHERE cnnrec.seq_length(s) = n) AS lengths_same
FROM (SELECT cnnrec.sequence_agg(item_id, ts) AS s, count(*) AS n
      FROM seq_agg_long GROUP BY GROUPING SETS ((user_id), (item_id), ())) q;
RESET max_parallel_workers_per_gather;
DROP VIEW long_reference;
DROP TABLE seq_agg_long;

DROP TABLE seq_agg_part;
DROP VIEW reference;
DROP TABLE seq_agg_log;
