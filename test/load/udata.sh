#!/usr/bin/env bash
# test/load/udata.sh PATH [TABLE]: load MovieLens 100K u.data (user item rating unix-time,
# tab-separated) into TABLE (default public.ml100k) with the serving index.
# Uses the connection in PGHOST/PGPORT/PGUSER/PGDATABASE.
# Rows of one user sharing a time get microsecond offsets in file order, so
# that the sequence (and the held-out last event) keeps the file's order of
# ties, as the reference's stable sort does (see src/nn/dataset.c).
set -euo pipefail
file=${1:?usage: udata.sh PATH [TABLE]}
table=${2:-public.ml100k}
psql -X -q -v ON_ERROR_STOP=1 -v table="$table" <<SQL
DROP TABLE IF EXISTS :table;
CREATE TEMP TABLE udata_raw (user_id bigint, item_id bigint, rating smallint, unix_ts bigint,
	line bigint GENERATED ALWAYS AS IDENTITY);
\copy udata_raw (user_id, item_id, rating, unix_ts) FROM '$file' WITH (FORMAT text, DELIMITER E'\t')
CREATE TABLE :table AS
	SELECT user_id, item_id, rating, pg_catalog.to_timestamp(unix_ts) +
		(pg_catalog.row_number() OVER (PARTITION BY user_id, unix_ts ORDER BY line) - 1) *
		interval '1 microsecond' AS ts
	FROM udata_raw;
CREATE INDEX ON :table (user_id, ts);
ANALYZE :table;
SQL
echo "loaded $(psql -X -At -c "SELECT count(*) FROM $table") rows into $table"
