#!/usr/bin/env bash
# test/load/taobao.sh PATH [TABLE]: load Taobao UserBehavior.csv (user,item,category,behavior,
# unix-time; behavior pv/cart/fav/buy) into TABLE (default public.taobao) with the serving index.
set -euo pipefail
file=${1:?usage: taobao.sh PATH [TABLE]}
table=${2:-public.taobao}
psql -X -q -v ON_ERROR_STOP=1 -v table="$table" <<SQL
DROP TABLE IF EXISTS :table;
CREATE TEMP TABLE taobao_raw (user_id bigint, item_id bigint, category_id bigint, behavior text, unix_ts bigint);
\copy taobao_raw FROM '$file' WITH (FORMAT csv)
CREATE TABLE :table AS
	SELECT user_id, item_id, category_id, behavior AS event, pg_catalog.to_timestamp(unix_ts) AS ts
	FROM taobao_raw;
CREATE INDEX ON :table (user_id, ts);
ANALYZE :table;
SQL
echo "loaded $(psql -X -At -c "SELECT count(*) FROM $table") rows into $table"
