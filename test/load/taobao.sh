#!/usr/bin/env bash
# test/load/taobao.sh PATH [TABLE]: load Taobao UserBehavior.csv (user,item,category,behavior,
# unix-time; behavior pv/cart/fav/buy) into TABLE (default public.taobao) with the serving index.
# Rows of one user sharing a time get microsecond offsets in file order, so
# that the sequence (and the held-out last event) keeps the file's order of
# ties, as the reference's stable sort does (see src/nn/dataset.c).
set -euo pipefail
file=${1:?usage: taobao.sh PATH [TABLE]}
table=${2:-public.taobao}
psql -X -q -v ON_ERROR_STOP=1 -v table="$table" <<SQL
DROP TABLE IF EXISTS :table;
CREATE TEMP TABLE taobao_raw (user_id bigint, item_id bigint, category_id bigint, behavior text, unix_ts bigint,
	line bigint GENERATED ALWAYS AS IDENTITY);
\copy taobao_raw (user_id, item_id, category_id, behavior, unix_ts) FROM '$file' WITH (FORMAT csv)
CREATE TABLE :table AS
	SELECT user_id, item_id, category_id, behavior AS event, pg_catalog.to_timestamp(unix_ts) +
		(pg_catalog.row_number() OVER (PARTITION BY user_id, unix_ts ORDER BY line) - 1) *
		interval '1 microsecond' AS ts
	FROM taobao_raw;
CREATE INDEX ON :table (user_id, ts);
ANALYZE :table;
SQL
echo "loaded $(psql -X -At -c "SELECT count(*) FROM $table") rows into $table"
