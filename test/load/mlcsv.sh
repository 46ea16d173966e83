#!/usr/bin/env bash
# test/load/mlcsv.sh PATH [TABLE]: load a MovieLens ratings.csv (userId,movieId,rating,timestamp
# with a header, CRLF line ends) into TABLE (default public.mlsmall).  The event column is the
# rating doubled (1..10, an integer), the time a timestamptz; plus the serving index.
# Rows of one user sharing a time get microsecond offsets in file order, so
# that the sequence (and the held-out last event) keeps the file's order of
# ties, as the reference's stable sort does (see src/nn/dataset.c).
set -euo pipefail
file=${1:?usage: mlcsv.sh PATH [TABLE]}
table=${2:-public.mlsmall}
psql -X -q -v ON_ERROR_STOP=1 -v table="$table" <<SQL
DROP TABLE IF EXISTS :table;
CREATE TEMP TABLE mlcsv_raw (user_id text, item_id text, rating text, unix_ts text,
	line bigint GENERATED ALWAYS AS IDENTITY);
\copy mlcsv_raw (user_id, item_id, rating, unix_ts) FROM '$file' WITH (FORMAT csv, HEADER true)
CREATE TABLE :table AS
	SELECT user_id::bigint AS user_id, item_id::bigint AS item_id,
		   (2 * btrim(rating, E' \r')::numeric)::smallint AS rating2,
		   pg_catalog.to_timestamp(btrim(unix_ts, E' \r')::bigint) +
		   (pg_catalog.row_number() OVER (PARTITION BY user_id, btrim(unix_ts, E' \r') ORDER BY line) - 1) *
		   interval '1 microsecond' AS ts
	FROM mlcsv_raw;
CREATE INDEX ON :table (user_id, ts);
ANALYZE :table;
SQL
echo "loaded $(psql -X -At -c "SELECT count(*) FROM $table") rows into $table"
