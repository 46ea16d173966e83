# pg_dump of a database with cnnrec catalog rows, restored into a second
# cluster, keeps every row of models, model_versions, model_weights and jobs
# (the tables are registered with pg_extension_config_dump), and the
# sequences continue where they were.
#
# Part 1 uses hand-written catalog rows (a 4 MB out-of-line chunk, jobs of
# every final status).  Part 2 uses two really trained models: "shop" with
# two versions of which the older one is deployed, "stars" (another source,
# integer events, the caser preset) with one version, plus a failed and a
# cancelled job.  After pg_dump -Fc and pg_restore into a fresh cluster,
# every column of every catalog row, the weight bytes, and recommend() and
# similar_items() for several users and items of both models are identical,
# and training again in the restored database works and takes the next
# version and job numbers.
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

# ---------------------------------------------------------------------------
# Part 2: trained models.
# ---------------------------------------------------------------------------
$src->safe_psql('postgres', 'CREATE DATABASE trained');
$src->safe_psql('trained', q{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(200, 50, 25, 11);
	CREATE INDEX ON events (user_id, ts);
	CREATE TABLE ratings AS
		SELECT user_id, item_id, ts, (item_id % 5 + 1)::int AS stars FROM cnnrec.generate_events(150, 40, 20, 12);
	CREATE INDEX ON ratings (user_id, ts);
	SELECT cnnrec.create_model('shop', 'events', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 16, "threads": 1, "epochs": 1}');
	SELECT cnnrec.create_model('stars', 'ratings', 'user_id', 'item_id', 'ts', 'stars',
							   '{"preset": "caser", "d": 8, "threads": 1, "epochs": 2}');
});

# Run SQL in a database of a node.
sub sql
{
	my ($node, $q) = @_;
	return $node->safe_psql('trained', $q);
}

# recommend() and similar_items() of both models, several users and items.
my $serving = q{
	SELECT string_agg(r, ' ' ORDER BY r) FROM (
		SELECT concat_ws(':', 'r', mdl, u, x.rank, x.item_id, x.score) AS r
		FROM unnest(ARRAY['shop', 'stars']) mdl, unnest(ARRAY[1, 7, 42, 120, 99999]::bigint[]) u,
			 LATERAL recommend(u, 5, mdl) x
		UNION ALL
		SELECT concat_ws(':', 's', mdl, i, x.rank, x.item_id, x.similarity)
		FROM unnest(ARRAY['shop', 'stars']) mdl, unnest(ARRAY[3, 17]::bigint[]) i,
			 LATERAL similar_items(i, 3, mdl) x) s};

sql($src, "CALL cnnrec.train('shop')");
sql($src, "CALL cnnrec.train('stars')");
sql($src, q{CALL cnnrec.train('shop', '{"seed": 2, "deploy": "always"}')});
my $serving_v2 = sql($src, $serving);
sql($src, q{SELECT cnnrec.deploy('shop', 1)});
# a failed job (NaN injected into the loss) and a cancelled one
my ($rc, $stdout, $stderr) = $src->psql('trained', q{CALL cnnrec.train('stars', '{"poison_epoch": 1}')});
like($stderr, qr/diverged/, 'part 2: a poisoned training fails');
my $cancelled = sql($src, q{CALL cnnrec.train('shop', '{"epochs": 5000}', wait => false)});
is(sql($src, "SELECT cnnrec.cancel($cancelled)"), 't', 'part 2: a long training is cancelled');
$src->poll_query_until('trained', "SELECT status = 'cancelled' FROM cnnrec.jobs WHERE job_id = $cancelled")
  or die 'the cancelled job never ended';

is( sql($src, q{SELECT string_agg(concat_ws(':', m.name, v.version, v.active), ' ' ORDER BY m.name, v.version)
		FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)}),
	'shop:1:t shop:2:f stars:1:t', 'part 2: shop has two versions, the older one deployed; stars has one');
is(sql($src, q{SELECT string_agg(status, ' ' ORDER BY job_id) FROM cnnrec.jobs}),
	'succeeded succeeded succeeded failed cancelled', 'part 2: the jobs history has every final status');
my $serving_before = sql($src, $serving);
isnt($serving_before, $serving_v2, 'part 2: shop version 1 serves other rows than version 2');
is(scalar(() = $serving_before =~ /\br:/g), 50, 'part 2: 5 rows for each of 5 users of 2 models');

# Every column of every catalog row; weights as length and md5 per chunk.
my $catalog = q{
	SELECT string_agg(r, E'\n' ORDER BY r) FROM (
		SELECT 'm ' || to_jsonb(m)::text AS r FROM cnnrec.models m
		UNION ALL SELECT 'v ' || to_jsonb(v)::text FROM cnnrec.model_versions v
		UNION ALL SELECT 'w ' || concat_ws('|', model_id, version, chunk, length(data), md5(data))
			FROM cnnrec.model_weights
		UNION ALL SELECT 'j ' || to_jsonb(j)::text FROM cnnrec.jobs j) s};
my $catalog_before = sql($src, $catalog);
like($catalog_before, qr/"error_detail": \{[^}]*"sqlstate": "22P01"/, 'part 2: the failed job keeps its SQLSTATE');

my $dump2 = $src->basedir . '/trained.dump';
$src->command_ok([ 'pg_dump', '-Fc', '-d', $src->connstr('trained'), '-f', $dump2 ], 'part 2: pg_dump succeeds');
$dst->safe_psql('postgres', 'CREATE DATABASE trained');
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('trained'), $dump2 ],
	'part 2: pg_restore into a fresh cluster succeeds');

is(sql($dst, $catalog), $catalog_before,
	'part 2: models, versions (metadata and weight bytes) and jobs history are identical');
is(sql($dst, $serving), $serving_before,
	'part 2: recommend() and similar_items() return identical rows for both models');

# Training again in the restored database.
my $max_job = sql($dst, 'SELECT max(job_id) FROM cnnrec.jobs');
($rc, $stdout, $stderr) = $dst->psql('trained', q{CALL cnnrec.train('stars', '{"deploy": "always", "seed": 3}')});
is($rc, 0, 'part 2: training again in the restored cluster succeeds') or diag $stderr;
is( sql($dst, q{SELECT concat_ws(':', j.job_id > $$} . $max_job . q{$$::bigint, j.status, v.version, v.active)
		FROM cnnrec.jobs j JOIN cnnrec.model_versions v USING (job_id) WHERE j.model = 'stars' ORDER BY j.job_id DESC LIMIT 1}),
	't:succeeded:2:t', 'part 2: it takes the next job id and version 2, now active');
isnt(sql($dst, $serving), $serving_before, 'part 2: and the restored cluster serves it');

$src->stop;
$dst->stop;
done_testing();
