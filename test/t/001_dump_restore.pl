# pg_dump of a database with cnnrec catalog rows, restored into a second
# cluster, keeps every row of models, model_versions, model_weights and jobs
# (the tables are registered with pg_extension_config_dump), and the
# sequences continue where they were.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = PostgreSQL::Test::Cluster->new('source');
$src->init;
$src->start;
$src->safe_psql('postgres', 'CREATE DATABASE shop');
$src->safe_psql('shop', q{
	CREATE EXTENSION cnnrec;
	CREATE TABLE public.events (user_id bigint, item_id bigint, ts timestamptz, kind text);
	INSERT INTO public.events VALUES (1, 10, '2024-01-01', 'view'), (1, 11, '2024-01-02', 'cart');
	INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column, event_column, options)
		VALUES ('shop', 'public.events', 'user_id', 'item_id', 'ts', 'kind', '{"d": 32}'),
			   ('other', 'public.events', 'user_id', 'item_id', 'ts', NULL, '{}');
	INSERT INTO cnnrec.jobs (model_id, model, status, phase, epoch, epochs, loss, metrics, finished_at, error)
		SELECT model_id, name, s, 'saving', 3, 3, 0.5, '{"valid": {"ndcg10": 0.1}}', now(),
			   CASE WHEN s = 'failed' THEN 'boom' END
		FROM cnnrec.models, unnest(ARRAY['succeeded', 'failed']) s;
	INSERT INTO cnnrec.model_versions (model_id, version, job_id, active, format_version, preset, options,
		n_users, n_items, n_events, n_params, weights_bytes, n_chunks, weights_crc32c, metrics)
		SELECT m.model_id, v, j.job_id, v = 2, 1, 'tacaser', '{"d": 32}', 2, 2, 2, 100, 3, 2, 12345,
			   '{"test": {"hr10": 0.25}}'
		FROM cnnrec.models m JOIN cnnrec.jobs j USING (model_id), generate_series(1, 2) v
		WHERE j.status = 'succeeded';
	INSERT INTO cnnrec.model_weights
		SELECT model_id, version, c, decode(md5(model_id || ':' || version || ':' || c), 'hex')
		FROM cnnrec.model_versions, generate_series(0, 1) c;
	-- one large chunk, stored out of line
	INSERT INTO cnnrec.model_versions (model_id, version, format_version, preset, options,
		n_users, n_items, n_events, n_params, weights_bytes, n_chunks, weights_crc32c)
		SELECT model_id, 3, 1, 'caser', '{}', 1, 1, 1, 1, 4000000, 1, 1 FROM cnnrec.models WHERE name = 'shop';
	INSERT INTO cnnrec.model_weights
		SELECT model_id, 3, 0, convert_to(repeat('w', 4000000), 'UTF8') FROM cnnrec.models WHERE name = 'shop';
});

# A fingerprint of every catalog row (ids, names, jsonb, regclass as text).
my $fingerprint = q{
	SELECT string_agg(r, E'\n' ORDER BY r) FROM (
		SELECT 'm:' || concat_ws('|', model_id, name, owner, source, user_column, item_column,
								 time_column, event_column, options, created_at) AS r FROM cnnrec.models
		UNION ALL
		SELECT 'v:' || concat_ws('|', model_id, version, job_id, active, preset, options, n_params,
								 weights_bytes, weights_crc32c, metrics, created_at) FROM cnnrec.model_versions
		UNION ALL
		SELECT 'w:' || concat_ws('|', model_id, version, chunk, length(data), md5(data)) FROM cnnrec.model_weights
		UNION ALL
		SELECT 'j:' || concat_ws('|', job_id, model_id, model, status, phase, epoch, loss, metrics,
								 finished_at, error) FROM cnnrec.jobs
	) s};
my $before = $src->safe_psql('shop', $fingerprint);
like($before, qr/^m:/m, 'source has model rows');
is(scalar(() = $before =~ /^w:/mg), 9, 'source has 9 weight chunks');

my $dump = $src->basedir . '/shop.dump';
$src->command_ok([ 'pg_dump', '-Fc', '-d', $src->connstr('shop'), '-f', $dump ], 'pg_dump succeeds');

my $dst = PostgreSQL::Test::Cluster->new('restored');
$dst->init;
$dst->start;
$dst->safe_psql('postgres', 'CREATE DATABASE shop');
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('shop'), $dump ],
	'pg_restore into a fresh cluster succeeds');

my $after = $dst->safe_psql('shop', $fingerprint);
is($after, $before, 'every catalog row survives dump and restore');
is($dst->safe_psql('shop', q{SELECT count(*) FROM cnnrec.model_versions WHERE active}), '2',
	'active flags survive');
is($dst->safe_psql('shop', q{SELECT attstorage FROM pg_attribute
	WHERE attrelid = 'cnnrec.model_weights'::regclass AND attname = 'data'}), 'e',
	'restored weights column keeps STORAGE EXTERNAL');

# Sequences continue after the restored ids instead of colliding with them.
my $next_model = $dst->safe_psql('shop', q{
	INSERT INTO cnnrec.models (name, source, user_column, item_column, time_column)
	VALUES ('third', 'public.events', 'user_id', 'item_id', 'ts') RETURNING model_id});
cmp_ok($next_model, '>', 2, 'model ids continue after the restored ones');
my $next_job = $dst->safe_psql('shop',
	q{INSERT INTO cnnrec.jobs (model) VALUES ('third') RETURNING job_id});
cmp_ok($next_job, '>', 4, 'job ids continue after the restored ones');

# Dropping the extension removes the catalog with it.
$dst->safe_psql('shop', 'DROP EXTENSION cnnrec');
is($dst->safe_psql('shop', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'cnnrec'}), '0',
	'DROP EXTENSION removes schema cnnrec');

$src->stop;
$dst->stop;
done_testing();
