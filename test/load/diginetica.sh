#!/usr/bin/env bash
# test/load/diginetica.sh PATH [TABLE]: load Diginetica item views (session_id;user_id;item_id;
# timeframe;eventdate with a header; user_id NA for anonymous sessions) into TABLE (default
# public.diginetica).  Sessions are the sequence owners; the time is the event date plus the
# timeframe in milliseconds; there is no event type.  Plus the serving index.
# Rows of one session sharing a time get microsecond offsets in file order, so
# that the sequence (and the held-out last event) keeps the file's order of
# ties, as the reference's stable sort does (see src/nn/dataset.c).
set -euo pipefail
file=${1:?usage: diginetica.sh PATH [TABLE]}
table=${2:-public.diginetica}
psql -X -q -v ON_ERROR_STOP=1 -v table="$table" <<SQL
DROP TABLE IF EXISTS :table;
CREATE TEMP TABLE dig_raw (session_id bigint, user_id text, item_id bigint, timeframe bigint, eventdate date,
	line bigint GENERATED ALWAYS AS IDENTITY);
\copy dig_raw (session_id, user_id, item_id, timeframe, eventdate) FROM '$file' WITH (FORMAT csv, HEADER true, DELIMITER ';')
CREATE TABLE :table AS
	SELECT session_id, NULLIF(user_id, 'NA')::bigint AS user_id, item_id,
		   eventdate::timestamp AT TIME ZONE 'UTC' + timeframe * interval '1 millisecond' +
		   (pg_catalog.row_number() OVER (PARTITION BY session_id, eventdate, timeframe ORDER BY line) - 1) *
		   interval '1 microsecond' AS ts
	FROM dig_raw;
CREATE INDEX ON :table (session_id, ts);
ANALYZE :table;
SQL
echo "loaded $(psql -X -At -c "SELECT count(*) FROM $table") rows into $table"
