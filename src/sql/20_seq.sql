-- cnnrec.seq and cnnrec.sequence_agg: one user's time-ordered interaction
-- sequence (src/seq.h, src/seq.c, src/seq_agg.c).
--
-- Text form (src/seq.c): 'timestamptz,text:[(42,"2024-01-01 10:00:00+00","view")]',
-- 'integer:[(42,1700000000)]': time kind, optional event kind, then
-- (item, time[, event]) entries.
--
-- NULL rules: a NULL sequence gives NULL (seq_windows: no rows); a NULL size
-- argument (n, l, t) is an error, so those functions are not STRICT.  The
-- aggregate skips rows whose item or time is NULL and keeps NULL events.
--
-- Volatility: the I/O functions are STABLE (timestamptz text depends on
-- TimeZone, binary labels on client_encoding); everything else depends only
-- on its arguments and is IMMUTABLE.

CREATE TYPE cnnrec.seq;

CREATE FUNCTION cnnrec.seq_in(pg_catalog.cstring) RETURNS cnnrec.seq
    AS 'MODULE_PATHNAME', 'seq_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cnnrec.seq_out(cnnrec.seq) RETURNS pg_catalog.cstring
    AS 'MODULE_PATHNAME', 'seq_out' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cnnrec.seq_recv(pg_catalog.internal) RETURNS cnnrec.seq
    AS 'MODULE_PATHNAME', 'seq_recv' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cnnrec.seq_send(cnnrec.seq) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'seq_send' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE TYPE cnnrec.seq (
    INPUT = cnnrec.seq_in,
    OUTPUT = cnnrec.seq_out,
    RECEIVE = cnnrec.seq_recv,
    SEND = cnnrec.seq_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);

COMMENT ON TYPE cnnrec.seq IS 'one user''s interaction sequence (item, time, optional event), ordered by time, then item, then event';
COMMENT ON FUNCTION cnnrec.seq_in(pg_catalog.cstring) IS 'text input of cnnrec.seq, e.g. ''integer,text:[(42,1,"view")]''; entries are sorted';
COMMENT ON FUNCTION cnnrec.seq_out(cnnrec.seq) IS 'text output of cnnrec.seq (times in ISO style)';
COMMENT ON FUNCTION cnnrec.seq_recv(pg_catalog.internal) IS 'binary input of cnnrec.seq';
COMMENT ON FUNCTION cnnrec.seq_send(cnnrec.seq) IS 'binary output of cnnrec.seq';

CREATE FUNCTION cnnrec.seq_items(seq cnnrec.seq) RETURNS pg_catalog.int8[]
    AS 'MODULE_PATHNAME', 'seq_items' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.seq_items(cnnrec.seq) IS 'the items of a sequence, in sequence order';

CREATE FUNCTION cnnrec.seq_length(seq cnnrec.seq) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'seq_length' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.seq_length(cnnrec.seq) IS 'number of events in a sequence';

CREATE FUNCTION cnnrec.seq_last(seq cnnrec.seq, n pg_catalog.int4) RETURNS cnnrec.seq
    AS 'MODULE_PATHNAME', 'seq_last' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.seq_last(cnnrec.seq, pg_catalog.int4) IS 'the last n events of a sequence (all if fewer); NULL sequence gives NULL, NULL or negative n is an error';

CREATE FUNCTION cnnrec.seq_windows(seq cnnrec.seq, l pg_catalog.int4, t pg_catalog.int4,
                                   OUT input pg_catalog.int8[], OUT target pg_catalog.int8[])
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'seq_windows' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION cnnrec.seq_windows(cnnrec.seq, pg_catalog.int4, pg_catalog.int4) IS 'training windows (model-spec 1.6): previous l items -> next t items, step 1; one 0-padded row if shorter than l + t; no rows if empty; l and t in 1..1000';

-- Aggregate support.  One transition function per (time, event) signature;
-- item is bigint (smallint and integer items cast implicitly).

CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_tstz' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz) IS 'sequence_agg transition: timestamptz time, no event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_tstz_int' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8) IS 'sequence_agg transition: timestamptz time, integer event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.text) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_tstz_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.text) IS 'sequence_agg transition: timestamptz time, text event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_ts' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp) IS 'sequence_agg transition: timestamp time, no event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp, pg_catalog.int8) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_ts_int' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp, pg_catalog.int8) IS 'sequence_agg transition: timestamp time, integer event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp, pg_catalog.text) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_ts_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamp, pg_catalog.text) IS 'sequence_agg transition: timestamp time, text event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_date' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date) IS 'sequence_agg transition: date time, no event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date, pg_catalog.int8) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_date_int' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date, pg_catalog.int8) IS 'sequence_agg transition: date time, integer event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date, pg_catalog.text) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_date_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.date, pg_catalog.text) IS 'sequence_agg transition: date time, text event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_int' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8) IS 'sequence_agg transition: integer time, no event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_int_int' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS 'sequence_agg transition: integer time, integer event';
CREATE FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8, pg_catalog.text) RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_trans_int_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.int8, pg_catalog.text) IS 'sequence_agg transition: integer time, text event';

CREATE FUNCTION cnnrec.sequence_agg_combinefn(pg_catalog.internal, pg_catalog.internal)
    RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_combinefn(pg_catalog.internal, pg_catalog.internal) IS 'sequence_agg combine: merges two partial states';

CREATE FUNCTION cnnrec.sequence_agg_serialfn(pg_catalog.internal) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'seq_agg_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_serialfn(pg_catalog.internal) IS 'sequence_agg serialize: partial state to bytea for parallel aggregation';

CREATE FUNCTION cnnrec.sequence_agg_deserialfn(pg_catalog.bytea, pg_catalog.internal)
    RETURNS pg_catalog.internal
    AS 'MODULE_PATHNAME', 'seq_agg_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_deserialfn(pg_catalog.bytea, pg_catalog.internal) IS 'sequence_agg deserialize: bytea back to a partial state';

CREATE FUNCTION cnnrec.sequence_agg_finalfn(pg_catalog.internal) RETURNS cnnrec.seq
    AS 'MODULE_PATHNAME', 'seq_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cnnrec.sequence_agg_finalfn(pg_catalog.internal) IS 'sequence_agg final: sorts by (time, item, event) and builds the cnnrec.seq';

-- sequence_agg(item, ts [, event]): time timestamptz, timestamp, date or
-- bigint; event none, bigint or text.  SSPACE is the planner's per-group
-- memory estimate: about 100 events at 20 bytes (the default for internal
-- states, 8 kB, would overstate it).  The final function only reorders the
-- state, so FINALFUNC_MODIFY is READ_ONLY.

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamptz) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamptz) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamptz time, no event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamptz, event pg_catalog.int8) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamptz time, integer event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamptz, event pg_catalog.text) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.text) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamptz time, text event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamp) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamp) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamp time, no event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamp, event pg_catalog.int8) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamp, pg_catalog.int8) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamp time, integer event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.timestamp, event pg_catalog.text) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.timestamp, pg_catalog.text) IS 'builds a cnnrec.seq ordered by (time, item, event), timestamp time, text event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.date) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.date) IS 'builds a cnnrec.seq ordered by (time, item, event), date time, no event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.date, event pg_catalog.int8) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.date, pg_catalog.int8) IS 'builds a cnnrec.seq ordered by (time, item, event), date time, integer event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.date, event pg_catalog.text) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.date, pg_catalog.text) IS 'builds a cnnrec.seq ordered by (time, item, event), date time, text event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.int8) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.int8) IS 'builds a cnnrec.seq ordered by (time, item, event), integer (epoch seconds or a plain order) time, no event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.int8, event pg_catalog.int8) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS 'builds a cnnrec.seq ordered by (time, item, event), integer (epoch seconds or a plain order) time, integer event; rows with NULL item or time are skipped';

CREATE AGGREGATE cnnrec.sequence_agg(item pg_catalog.int8, ts pg_catalog.int8, event pg_catalog.text) (
    SFUNC = cnnrec.sequence_agg_transfn, STYPE = pg_catalog.internal, SSPACE = 2048,
    FINALFUNC = cnnrec.sequence_agg_finalfn, FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = cnnrec.sequence_agg_combinefn,
    SERIALFUNC = cnnrec.sequence_agg_serialfn, DESERIALFUNC = cnnrec.sequence_agg_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE cnnrec.sequence_agg(pg_catalog.int8, pg_catalog.int8, pg_catalog.text) IS 'builds a cnnrec.seq ordered by (time, item, event), integer (epoch seconds or a plain order) time, text event; rows with NULL item or time are skipped';
