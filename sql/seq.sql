--
-- cnnrec.seq: text and binary I/O, seq_items / seq_length / seq_last /
-- seq_windows, and every kind of bad input.
--
SET TimeZone = 'UTC';
-- Output is ISO whatever DateStyle says; a non-ISO style proves it.
SET DateStyle = 'Postgres, DMY';

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

--
-- 1. Text round trips: every time kind x every event kind.
--
CREATE TEMP TABLE lit (id int, txt text);
INSERT INTO lit VALUES
 (1,  'timestamptz:[(10,"2024-01-01 10:00:00+00"),(11,"2024-01-01 10:00:00.5+00")]'),
 (2,  'timestamptz,integer:[(10,"2024-01-01 10:00:00+00",1),(11,"2024-01-02 00:00:00+00",NULL)]'),
 (3,  'timestamptz,text:[(10,"2024-01-01 10:00:00+00","view"),(11,"2024-01-01 10:00:00+00",NULL)]'),
 (4,  'timestamp:[(10,"2024-01-01 10:00:00"),(11,"2024-06-30 23:59:59.999999")]'),
 (5,  'timestamp,integer:[(10,"1999-12-31 23:59:59",-3),(10,"2000-01-01 00:00:00",2147483647)]'),
 (6,  'timestamp,text:[(10,"2024-01-01 10:00:00","cart"),(12,"2024-01-01 10:00:00","view")]'),
 (7,  'date:[(10,"2024-01-01"),(11,"2024-02-29")]'),
 (8,  'date,integer:[(10,"2024-01-01",5),(10,"2024-01-01",NULL)]'),
 (9,  'date,text:[(10,"0044-03-15 BC","ides"),(11,"2024-01-01","")]'),
 (10, 'integer:[(10,-5),(11,0),(12,1700000000)]'),
 (11, 'integer,integer:[(-9223372036854775808,1,-2147483647),(9223372036854775807,1,4)]'),
 (12, 'integer,text:[(1,1,"a \"quoted\" \\ label"),(2,2,"ünïcødé")]'),
 (13, 'timestamptz:[(1,"-infinity"),(2,"infinity")]'),
 (14, 'timestamp:[(1,"-infinity"),(2,"infinity")]'),
 (15, 'date:[(1,"-infinity"),(2,"infinity")]'),
 (16, 'timestamptz:[]'),
 (17, 'timestamp,integer:[]'),
 (18, 'date,text:[]');
-- Each literal is already canonical: it prints back unchanged, and the
-- printed form reads back to the same value.
SELECT id, txt::cnnrec.seq::text = txt AS canonical,
       txt::cnnrec.seq::text::cnnrec.seq::text = txt AS round_trip,
       cnnrec.seq_length(txt::cnnrec.seq) AS len
FROM lit ORDER BY id;
SELECT id, txt::cnnrec.seq AS seq FROM lit WHERE id IN (3, 5, 9, 12, 13) ORDER BY id;

-- Input is free-form and unsorted; output is sorted (time, item, event with
-- NULL last, labels compared bytewise) and canonical.
SELECT $$ INTEGER , TEXT : [ ( 3 , 5 , "b" ) , (1, 5, NULL),(1,5,"B"), (1,5,"a"),
   (2, 1, null) ]  $$::cnnrec.seq;
SELECT 'integer,integer:[(1,5,NULL),(1,5,7),(1,5,-7),(0,5,9)]'::cnnrec.seq;
-- Time zones: the offset in the input is honoured, output uses TimeZone.
SELECT 'timestamptz:[(1,"2024-01-01 10:00:00+02"),(2,"2024-07-01 12:00:00 America/New_York")]'::cnnrec.seq;
SET TimeZone = 'America/New_York';
SELECT 'timestamptz:[(1,"2024-01-01 10:00:00+00"),(2,"2024-07-01 10:00:00+00")]'::cnnrec.seq;
SELECT 'timestamp:[(1,"2024-01-01 10:00:00")]'::cnnrec.seq;  -- no zone: unchanged
RESET TimeZone;
SET TimeZone = 'UTC';
-- Stored in a table (TOAST-able, short headers) and read back.
CREATE TEMP TABLE stored (id int, s cnnrec.seq);
INSERT INTO stored SELECT id, txt::cnnrec.seq FROM lit;
INSERT INTO stored SELECT 100, ('integer,text:[' || string_agg(format('(%s,%s,"label %s")', i, i, i % 7), ',') || ']')::cnnrec.seq
FROM generate_series(1, 20000) i;
SELECT count(*) FILTER (WHERE s::text = txt) AS same_text, count(*) AS n
FROM stored JOIN lit USING (id);
SELECT cnnrec.seq_length(s), pg_column_size(s) < 20000 * 20 AS compressed,
       (cnnrec.seq_items(s))[19998:20000] AS tail, cnnrec.seq_last(s, 2) AS last2
FROM stored WHERE id = 100;

--
-- 2. Binary I/O: COPY BINARY out and back in gives the same values.
--
CREATE TEMP TABLE copied (id int, s cnnrec.seq);
DO $$
DECLARE f text := '/tmp/cnnrec_regress_seq_' || pg_backend_pid() || '.bin';
BEGIN
    EXECUTE format('COPY stored TO PROGRAM %L (FORMAT binary)', 'cat > ' || f);
    EXECUTE format('COPY copied FROM PROGRAM %L (FORMAT binary)', 'cat ' || f || '; rm -f ' || f);
END $$;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.s::text = b.s::text) AS identical
FROM stored a JOIN copied b USING (id);
SELECT cnnrec.seq_send('date,text:[(7,"2000-01-02","a"),(8,"2000-01-03",NULL)]');
SELECT cnnrec.seq_send('integer,integer:[(7,-1,3)]');

-- Hand-made binary input: a COPY BINARY file with one field holding payload.
CREATE TEMP TABLE recv_target (s cnnrec.seq);
CREATE FUNCTION pg_temp.recv(payload bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    f text := '/tmp/cnnrec_regress_recv_' || pg_backend_pid() || '.bin';
    file bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                  || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea;
    result text;
BEGIN
    EXECUTE format('COPY (SELECT translate(encode(%L::bytea, ''base64''), E''\n'', '''')) TO PROGRAM %L',
                   file, 'base64 -d > ' || f);
    TRUNCATE recv_target;
    result := pg_temp.err(format('COPY recv_target FROM PROGRAM %L (FORMAT binary)',
                                 'cat ' || f || '; rm -f ' || f));
    IF result = 'no error' THEN
        SELECT s::text INTO result FROM recv_target;
    END IF;
    RETURN result;
END $$;
-- version, time kind, event kind, count, then per event item, time, event
SELECT pg_temp.recv('\x010402'::bytea || int4send(3)
       || int8send(5) || int8send(2) || int4send(4) || '\x76696577'::bytea
       || int8send(6) || int8send(1) || int4send(-1)
       || int8send(5) || int8send(2) || int4send(0)) AS unsorted_in_sorted_out;
SELECT pg_temp.recv('\x010301'::bytea || int4send(1) || int8send(5) || int8send(8766) || int4send(4) || int4send(9));
SELECT pg_temp.recv('\x020400'::bytea || int4send(0)) AS bad_version;
SELECT pg_temp.recv('\x010900'::bytea || int4send(0)) AS bad_time_kind;
SELECT pg_temp.recv('\x010407'::bytea || int4send(0)) AS bad_event_kind;
SELECT pg_temp.recv('\x010400'::bytea || int4send(-1)) AS negative_count;
SELECT pg_temp.recv('\x010400'::bytea || int4send(1000000)) AS count_beyond_data;
SELECT pg_temp.recv('\x010400'::bytea || int4send(2) || int8send(1) || int8send(1) || int8send(2)) AS truncated;
SELECT pg_temp.recv('\x010300'::bytea || int4send(1) || int8send(1) || int8send(2147483648)) AS date_out_of_range;
SELECT pg_temp.recv('\x010100'::bytea || int4send(1) || int8send(1) || int8send(9223372036854775806)) AS timestamp_out_of_range;
SELECT pg_temp.recv('\x010401'::bytea || int4send(1) || int8send(1) || int8send(1) || int4send(8) || int8send(1)) AS bad_event_length;
SELECT pg_temp.recv('\x010401'::bytea || int4send(1) || int8send(1) || int8send(1) || int4send(4) || int4send(-2147483648)) AS reserved_event;
SELECT pg_temp.recv('\x010402'::bytea || int4send(1) || int8send(1) || int8send(1) || int4send(-7)) AS negative_label_length;
SELECT pg_temp.recv('\x010402'::bytea || int4send(1) || int8send(1) || int8send(1) || int4send(50) || '\x6162'::bytea) AS label_beyond_data;
SELECT pg_temp.recv('\x010402'::bytea || int4send(1) || int8send(1) || int8send(1) || int4send(2) || '\x6100'::bytea)::varchar(6) AS nul_in_label;  -- message names the encoding

--
-- 3. Functions.
--
SELECT cnnrec.seq_items(s), cnnrec.seq_length(s)
FROM (VALUES ('integer,text:[(30,3,"c"),(10,1,"a"),(20,1,NULL),(20,1,"b")]'::cnnrec.seq)) v(s);
SELECT cnnrec.seq_items('integer:[]'), cnnrec.seq_length('integer:[]');
SELECT cnnrec.seq_items(NULL), cnnrec.seq_length(NULL);
-- seq_last keeps only the labels it still uses.
SELECT n, cnnrec.seq_last('integer,text:[(1,1,"x"),(2,2,"y"),(3,3,NULL),(4,4,"x")]', n)
FROM generate_series(0, 5) n;
SELECT cnnrec.seq_last(NULL, 3) IS NULL AS null_seq_gives_null;

-- seq_windows: the example of model-spec.md section 1.6, items 1..9, l=5,
-- t=3: [1 2 3 4 5] -> [6 7 8] and [2 3 4 5 6] -> [7 8 9].
SELECT * FROM cnnrec.seq_windows('integer:[(1,1),(2,2),(3,3),(4,4),(5,5),(6,6),(7,7),(8,8),(9,9)]', 5, 3);
-- n = W: one window; n < W: one window left-padded with 0 (targets may be
-- padding when n <= t); n = 0: no rows; l = t = 1: every pair.
SELECT * FROM cnnrec.seq_windows('integer:[(1,1),(2,2),(3,3),(4,4)]', 3, 1);
SELECT * FROM cnnrec.seq_windows('integer:[(7,1),(8,2),(9,3)]', 5, 3);
SELECT * FROM cnnrec.seq_windows('integer:[(9,1)]', 2, 2);
SELECT * FROM cnnrec.seq_windows('integer:[]', 2, 2);
SELECT * FROM cnnrec.seq_windows(NULL, 2, 2);
SELECT * FROM cnnrec.seq_windows('integer:[(1,1),(2,2),(3,3)]', 1, 1);
-- Against a plain-SQL statement of section 1.6 for n = 0..12, l = 1..4, t = 1..3.
WITH base AS (
    SELECT ('integer:[' || string_agg(format('(%s,%s)', 100 + i, i), ',') || ']')::cnnrec.seq AS s
    FROM generate_series(1, 12) i
), cases AS (
    SELECT n, l, t, cnnrec.seq_last(s, n) AS s FROM base, generate_series(0, 12) n,
           generate_series(1, 4) l, generate_series(1, 3) t
), padded AS (
    SELECT n, l, t, s, array_fill(0::bigint, ARRAY[greatest(l + t - n, 0)]) || cnnrec.seq_items(s) AS p
    FROM cases
), expected AS (
    SELECT n, l, t, p[r + 1 : r + l] AS input, p[r + l + 1 : r + l + t] AS target
    FROM padded, generate_series(0, cardinality(p) - l - t) r WHERE n > 0
), got AS (
    SELECT n, l, t, w.input, w.target FROM cases, cnnrec.seq_windows(s, l, t) w
)
SELECT (SELECT count(*) FROM got) AS windows,
       (SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM got) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM expected) x) AS extra;

--
-- 4. Bad input: malformed literals.
--
SELECT pg_temp.err($$SELECT ''::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'seconds:[]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,json:[]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,:[]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,1)'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,1)] x'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,1),]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,1'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,1,2)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,integer:[(1,1)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(x,1)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(ä,1)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(-,1)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(1,"1")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer:[(99999999999999999999,1)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'timestamptz:[(1,2024-01-01)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'timestamptz:[(1,"2024-01-01)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'timestamptz:[(1,"soon")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'timestamp:[(1,"2024-13-01 00:00")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'date:[(1,"2024-02-30")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'date:[(1,"5874898-01-01")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,integer:[(1,1,3000000000)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,integer:[(1,1,-2147483648)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,integer:[(1,1,"3")]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,integer:[(1,1,NULLX)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,text:[(1,1,view)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,text:[(1,1,"view)]'::cnnrec.seq$$);
SELECT pg_temp.err($$SELECT 'integer,text:[(1,1,"view\")]'::cnnrec.seq$$);

--
-- 5. Bad input: arguments.  Size arguments are checked before the sequence,
-- so a NULL or bad size is an error even with a NULL sequence.
--
SELECT pg_temp.err($$SELECT cnnrec.seq_last('integer:[(1,1)]', NULL)$$);
SELECT pg_temp.err($$SELECT cnnrec.seq_last(NULL, NULL)$$);
SELECT pg_temp.err($$SELECT cnnrec.seq_last('integer:[(1,1)]', -1)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', NULL, 1)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', 1, NULL)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows(NULL, 0, 1)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', 1, 0)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', -3, 1)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', 1001, 1)$$);
SELECT pg_temp.err($$SELECT * FROM cnnrec.seq_windows('integer:[(1,1)]', 1, 2147483647)$$);
-- wrong types: no such function
SELECT pg_temp.err($$SELECT cnnrec.seq_items(ARRAY[1, 2])$$);
SELECT pg_temp.err($$SELECT cnnrec.seq_last('integer:[(1,1)]', 1.5)$$);
SELECT pg_temp.err($$SELECT cnnrec.seq_length('integer:[(1,1)]'::text)$$);

--
-- 6. Corrupted values.  Raw bytes are passed off as a cnnrec.seq through an
-- identity function (PostgreSQL's internal varchar length coercion returns
-- its argument untouched when the typmod is -1).  The bytea's data is the
-- value without its 4-byte header: byte 0 version, 1 time kind, 2 event
-- kind, 3 flags, 4-7 event count, 8-11 label count, 12-15 label bytes,
-- 16-19 reserved, then the arrays.  Every function checks the value and
-- fails cleanly.  Only whole-byte edits are used, so the test does not
-- depend on byte order.
--
CREATE FUNCTION pg_temp.as_seq(bytea, int4 DEFAULT -1, bool DEFAULT false)
    RETURNS cnnrec.seq LANGUAGE internal IMMUTABLE STRICT AS 'varchar';
CREATE FUNCTION pg_temp.seq_bytes(cnnrec.seq, int4 DEFAULT -1, bool DEFAULT false)
    RETURNS bytea LANGUAGE internal IMMUTABLE STRICT AS 'varchar';
CREATE TEMP TABLE good (name text, b bytea);
INSERT INTO good VALUES
 ('int2',  pg_temp.seq_bytes('integer:[(1,5),(2,5)]')),
 ('text2', pg_temp.seq_bytes('integer,text:[(1,5,"a"),(2,6,"b")]')),
 ('date1', pg_temp.seq_bytes('date:[(1,"2024-01-01")]'));
SELECT name, length(b), pg_temp.as_seq(b) FROM good ORDER BY name;
CREATE TEMP TABLE bad (name text, b bytea);
INSERT INTO bad
SELECT 'short header', substr(b, 1, 10) FROM good WHERE name = 'int2' UNION ALL
SELECT 'version 2', set_byte(b, 0, 2) FROM good WHERE name = 'int2' UNION ALL
SELECT 'time kind 9', set_byte(b, 1, 9) FROM good WHERE name = 'int2' UNION ALL
SELECT 'event kind 7', set_byte(b, 2, 7) FROM good WHERE name = 'int2' UNION ALL
SELECT 'flags set', set_byte(b, 3, 1) FROM good WHERE name = 'int2' UNION ALL
SELECT 'negative count', overlay(b placing '\xffffffff' from 5) FROM good WHERE name = 'int2' UNION ALL
SELECT 'huge count', overlay(b placing '\x01010101' from 5) FROM good WHERE name = 'int2' UNION ALL
SELECT 'truncated', substr(b, 1, length(b) - 1) FROM good WHERE name = 'int2' UNION ALL
SELECT 'labels without text', overlay(b placing '\x01010101' from 9) FROM good WHERE name = 'int2' UNION ALL
SELECT 'reserved set', set_byte(b, 16, 1) FROM good WHERE name = 'int2' UNION ALL
SELECT 'out of order', overlay(b placing substr(b, 29, 8) || substr(b, 21, 8) from 21) FROM good WHERE name = 'int2' UNION ALL
SELECT 'label not terminated', set_byte(b, length(b) - 1, 120) FROM good WHERE name = 'text2' UNION ALL
SELECT 'labels unsorted', set_byte(b, length(b) - 4, 99) FROM good WHERE name = 'text2' UNION ALL
SELECT 'label code out of range', overlay(b placing '\x7f7f7f7f' from 53) FROM good WHERE name = 'text2' UNION ALL
SELECT 'label offset wrong', overlay(b placing '\x01010101' from 61) FROM good WHERE name = 'text2' UNION ALL
SELECT 'date out of range', overlay(b placing '\x7f7f7f7f7f7f7f7f' from 29) FROM good WHERE name = 'date1';
SELECT name, pg_temp.err(format('SELECT cnnrec.seq_items(pg_temp.as_seq(%L))', b)) FROM bad ORDER BY name;
-- The other entry points fail the same way (one case each).
SELECT pg_temp.err(format('SELECT pg_temp.as_seq(%L)::text', b)) FROM bad WHERE name = 'huge count';
SELECT pg_temp.err(format('SELECT cnnrec.seq_length(pg_temp.as_seq(%L))', b)) FROM bad WHERE name = 'huge count';
SELECT pg_temp.err(format('SELECT cnnrec.seq_last(pg_temp.as_seq(%L), 1)', b)) FROM bad WHERE name = 'label code out of range';
SELECT pg_temp.err(format('SELECT * FROM cnnrec.seq_windows(pg_temp.as_seq(%L), 1, 1)', b)) FROM bad WHERE name = 'out of order';
SELECT pg_temp.err(format('SELECT cnnrec.seq_send(pg_temp.as_seq(%L))', b)) FROM bad WHERE name = 'truncated';
-- seq_length reads only the header, so it accepts what only a full check finds.
SELECT cnnrec.seq_length(pg_temp.as_seq(b)) FROM bad WHERE name = 'out of order';
