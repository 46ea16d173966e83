--
-- SequenceGroup: GROUP BY one integer key with sequence_agg as the only
-- aggregate runs in cnnrec's own grouping node (src/seq_group.c) once
-- cnnrec.so is loaded.  Every case below is run with the node and with
-- PostgreSQL's hash aggregation of the same aggregate, and must give the
-- same rows; other shapes must keep the standard plan.
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET max_parallel_workers_per_gather = 0;
LOAD 'cnnrec';

-- The top plan node with the node on, and whether the rows equal those of
-- hash aggregation (node off).
CREATE FUNCTION pg_temp.grouped_by(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    top text;
    with_node text;
    without text;
    digest text := 'SELECT md5(coalesce(string_agg(r::text, '';'' ORDER BY r::text), '''')) FROM (%s) r';
BEGIN
    PERFORM set_config('cnnrec.enable_sequence_grouping', 'on', true);
    EXECUTE 'EXPLAIN (COSTS OFF) ' || q INTO top;
    EXECUTE format(digest, q) INTO with_node;
    PERFORM set_config('cnnrec.enable_sequence_grouping', 'off', true);
    EXECUTE format(digest, q) INTO without;
    PERFORM set_config('cnnrec.enable_sequence_grouping', 'on', true);
    RETURN top || CASE WHEN with_node = without THEN ': same rows' ELSE ': DIFFERENT ROWS' END;
END $$;

-- The log of seq_agg.sql: ties, rows with a NULL item or time (user 2), a
-- user with only such rows (3, whose sequence is NULL), and a NULL user.
CREATE TEMP TABLE ev (
    user_id int, item bigint, tstz timestamptz, ts timestamp, d date, t8 bigint,
    ev8 bigint, evt text);
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
 (3, 80, NULL,                  1,    'view'),
 (NULL, 90, '2024-01-01 00:00+00', 1, 'cart'),
 (NULL, 91, '2024-01-01 00:00+00', 1, 'view');
UPDATE ev SET ts = tstz AT TIME ZONE 'UTC', d = (tstz AT TIME ZONE 'UTC')::date,
              t8 = extract(epoch FROM tstz)::bigint;
ANALYZE ev;

-- What the node returns, printed once.
SELECT user_id, cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY 1 ORDER BY 1;

-- Every time and event kind; int2, int4 and int8 keys; the NULL key group.
SELECT q, pg_temp.grouped_by(q) FROM (VALUES
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz, ev8) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, ts) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, ts, ev8) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, ts, evt) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, d) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, d, ev8) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, d, evt) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, t8) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, t8, ev8) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, t8, evt) FROM ev GROUP BY 1'),
 ('SELECT user_id::int2 AS u, cnnrec.sequence_agg(item::int2, t8::int4, ev8::int2) FROM ev GROUP BY 1'),
 ('SELECT user_id::int8 * 1000000000000 AS u, cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY 1'),
 ('SELECT cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY user_id'),
 ('SELECT user_id + 1, cnnrec.seq_items(cnnrec.sequence_agg(item, tstz)), cnnrec.seq_length(cnnrec.sequence_agg(item, tstz)) FROM ev GROUP BY user_id'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz, upper(evt)) FROM ev WHERE item > 15 GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz, evt) FROM ev WHERE false GROUP BY 1')
) AS c(q);

-- Shapes the node does not take: they keep hash aggregation.
SELECT q, pg_temp.grouped_by(q) FROM (VALUES
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz), count(*) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz), cnnrec.sequence_agg(item, ts) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz) FILTER (WHERE item > 15) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(DISTINCT item, tstz) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1 HAVING count(*) > 1'),
 ('SELECT evt, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1'),
 ('SELECT user_id, ev8, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1, 2'),
 ('SELECT user_id::numeric, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1'),
 ('SELECT (random() * 0)::int, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1'),
 ('SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY GROUPING SETS ((user_id), ())')
) AS c(q);

-- Switched off by the GUC and by enable_hashagg.
SET cnnrec.enable_sequence_grouping = off;
EXPLAIN (COSTS OFF) SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1;
RESET cnnrec.enable_sequence_grouping;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT user_id, cnnrec.sequence_agg(item, tstz) FROM ev GROUP BY 1;
RESET enable_hashagg;

-- EXPLAIN: the group key, the scan tuple in the output, and with ANALYZE
-- the number of groups (the memory line varies with the platform).
EXPLAIN (COSTS OFF, VERBOSE)
SELECT user_id + 1, cnnrec.seq_length(cnnrec.sequence_agg(item, tstz, evt)) FROM ev GROUP BY user_id;
CREATE FUNCTION pg_temp.explain_analyze(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
        RETURN NEXT regexp_replace(l, '(Memory Usage|Disk Usage|Spills|Batches): [0-9]+', '\1: N');
    END LOOP;
END $$;
SELECT pg_temp.explain_analyze('SELECT user_id, cnnrec.sequence_agg(item, tstz, evt) FROM ev GROUP BY user_id');

-- Many groups (the table grows from 1,024 slots three times), negative
-- keys, long groups in and out of order, long and compressed text labels.
CREATE TEMP TABLE big AS
SELECT (g * 7919) % 2003 - 1000 AS user_id, (abs(hashint4(g)) % 500)::bigint AS item,
       timestamptz '2024-01-01 00:00+00' + (CASE WHEN g % 3 = 0 THEN -g ELSE g END) * interval '1 second' AS ts,
       CASE WHEN g % 1000 = 0 THEN repeat('long label ', 300) || (g % 3000)
            WHEN g % 7 = 0 THEN NULL ELSE (ARRAY['view', 'cart', 'buy'])[g % 3 + 1] END AS event
FROM generate_series(1, 60000) g;
ANALYZE big;
SELECT pg_catalog.pg_column_compression(event) IS NOT NULL AS has_compressed_labels
FROM big WHERE event LIKE 'long%' LIMIT 1;
SELECT pg_temp.grouped_by('SELECT user_id, cnnrec.sequence_agg(item, ts, event) FROM big GROUP BY 1');
SELECT pg_temp.grouped_by('SELECT user_id % 3 AS u, cnnrec.sequence_agg(item, ts, event) FROM big GROUP BY 1');
-- Spilling: with a tiny work_mem the rows go to 32 partitions on disk, and
-- partitions again to 32 more, several levels deep (28 spills, 775 batches
-- for the first query); the groups come back the same.
SET work_mem = '64kB';
SELECT pg_temp.grouped_by('SELECT user_id, cnnrec.sequence_agg(item, ts, event) FROM big GROUP BY 1');
SELECT pg_temp.grouped_by('SELECT user_id::int2 AS u, cnnrec.sequence_agg(item, ts, length(event)) FROM big GROUP BY 1');
SELECT pg_temp.grouped_by('SELECT nullif(user_id % 50, 7) AS u, cnnrec.sequence_agg(item, ts::date, event) FROM big GROUP BY 1');
SELECT pg_temp.explain_analyze('SELECT user_id, cnnrec.sequence_agg(item, ts, event) FROM big GROUP BY 1');
RESET work_mem;

-- Rescans: the node under a nested loop, with a parameter from outside.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF)
SELECT k, s.u, cnnrec.seq_length(s.seq)
FROM generate_series(1, 3) k,
     LATERAL (SELECT user_id AS u, cnnrec.sequence_agg(item, tstz, evt) AS seq
              FROM ev WHERE user_id <= k GROUP BY user_id) s
ORDER BY 1, 2;
SELECT k, s.u, cnnrec.seq_length(s.seq)
FROM generate_series(1, 3) k,
     LATERAL (SELECT user_id AS u, cnnrec.sequence_agg(item, tstz, evt) AS seq
              FROM ev WHERE user_id <= k GROUP BY user_id) s
ORDER BY 1, 2;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- The node's errors are the aggregate's.
INSERT INTO ev (user_id, item, tstz, ev8) VALUES (9, 1, '2024-01-01', 3000000000);
SELECT user_id, cnnrec.sequence_agg(item, tstz, ev8) FROM ev GROUP BY 1;
