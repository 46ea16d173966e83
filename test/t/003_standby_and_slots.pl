# Training on a hot standby and without a free background-worker slot.
#
# 1. A streaming standby serves what the primary trained: models, versions,
#    weights and jobs replicate; CALL cnnrec.train() on the standby fails at
#    once with SQLSTATE 25006 (a BgWorkerStart_RecoveryFinished worker would
#    never start there, so waiting for it would hang), and the other
#    management functions fail with 25006 too, changing nothing.
# 2. With max_worker_processes = 1 (and nothing else using that slot), a
#    second concurrent training fails with "could not register background
#    process" and the max_worker_processes hint: it is not queued.  The
#    failed submission must not leave a job behind that blocks the model.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $db = 'postgres';
my $model_opts = '{"d": 16, "threads": 1, "epochs": 3, "lr": 0.01}';

# Run SQL with VERBOSITY verbose under a client-side timeout; returns
# (exit code, stderr, seconds, timed out).
sub try_sql
{
	my ($node, $sql, %params) = @_;
	my ($stdout, $stderr, $timed_out);
	my $t0 = time;
	my $ret = $node->psql($db, "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr,
		timeout => 60, timed_out => \$timed_out, %params);
	return ($ret, $stderr // '', time - $t0, $timed_out);
}

# ---------------------------------------------------------------------------
# 1. Streaming standby.
# ---------------------------------------------------------------------------
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "client_min_messages = warning\n");
$primary->start;
$primary->safe_psql($db, qq{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
	CREATE INDEX ON events (user_id, ts);
	SELECT cnnrec.create_model('m', 'events', 'user_id', 'item_id', 'ts', 'event', '$model_opts');
});
$primary->safe_psql($db, "CALL cnnrec.train('m')");

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql($db, 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# Everything the primary holds about its models, with weight digests.
my $fingerprint = q{
	SELECT string_agg(r, E'\n' ORDER BY r) FROM (
		SELECT 'm:' || concat_ws('|', model_id, name, owner, source, options) AS r FROM cnnrec.models
		UNION ALL
		SELECT 'v:' || concat_ws('|', model_id, version, job_id, active, weights_bytes, n_chunks,
								 weights_crc32c, metrics) FROM cnnrec.model_versions
		UNION ALL
		SELECT 'w:' || concat_ws('|', model_id, version, chunk, md5(data)) FROM cnnrec.model_weights
		UNION ALL
		SELECT 'j:' || concat_ws('|', job_id, model_id, status, epoch, version) FROM cnnrec.jobs
	) s};

my $on_primary = $primary->safe_psql($db, $fingerprint);
like($on_primary, qr/^v:\d+\|1\|\d+\|t\|/m, 'the primary has an active version 1');
is($standby->safe_psql($db, $fingerprint), $on_primary,
	'models, versions, weights and jobs trained on the primary are on the standby');

# train() on the standby: refused at once, whether or not it would wait.
for my $call ("CALL cnnrec.train('m')", "CALL cnnrec.train('m', '{}', wait => false)",
	"CALL cnnrec.train('no_such_model')")
{
	my ($ret, $stderr, $secs, $timed_out) = try_sql($standby, $call);
	ok(!$timed_out && $secs < 5, "standby: $call returns at once") or diag "took $secs s";
	like($stderr, qr/ERROR:  25006: cannot train a model during recovery/,
		"standby: $call fails with 25006 \"cannot train a model during recovery\"");
}
my ($ret, $stderr) = try_sql($standby, "CALL cnnrec.train('m')");
like($stderr, qr/HINT:  Train on the primary; standbys serve the trained models it replicates\./,
	'standby: the error hints at training on the primary');
is($standby->safe_psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'cnnrec training'}),
	'0', 'standby: no training worker was started');

# The other management functions fail as read-only, changing nothing.
for my $sql (
	q{SELECT cnnrec.create_model('m2', 'events', 'user_id', 'item_id', 'ts')},
	q{SELECT cnnrec.deploy('m', 1)},
	q{SELECT cnnrec.drop_model('m')})
{
	($ret, $stderr) = try_sql($standby, $sql);
	like($stderr, qr/ERROR:  25006: /, "standby: $sql fails with 25006");
}

# While the primary trains, the standby sees the job's progress, and a
# cancel() there is refused without touching the primary's job.
my $job = $primary->safe_psql($db, q{CALL cnnrec.train('m', '{"epochs": 5000}', wait => false)});
$primary->poll_query_until($db,
	"SELECT phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
  or die 'the primary job never started training';
$standby->poll_query_until($db,
	"SELECT status = 'running' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
  or die 'the standby never saw the running job';
pass('standby: the primary job\'s progress replicates');
($ret, $stderr) = try_sql($standby, "SELECT cnnrec.cancel($job)");
like($stderr, qr/ERROR:  25006: /, 'standby: cancel() fails with 25006');
is($primary->safe_psql($db, "SELECT status || ':' || cancel_requested FROM cnnrec.jobs WHERE job_id = $job"),
	'running:false', 'the primary job is still running and not cancelled');
is($primary->safe_psql($db, "SELECT cnnrec.cancel($job)"), 't', 'cancel() on the primary');
$primary->poll_query_until($db, "SELECT status = 'cancelled' FROM cnnrec.jobs WHERE job_id = $job")
  or die 'the job was not cancelled';

# A new version and a deploy on the primary reach the standby.
$primary->safe_psql($db, q{CALL cnnrec.train('m', '{"epochs": 1, "deploy": "never"}')});
$primary->safe_psql($db, q{SELECT cnnrec.deploy('m', 2)});
$primary->wait_for_catchup($standby);
is($standby->safe_psql($db,
		q{SELECT string_agg(version || ':' || active, ' ' ORDER BY version) FROM cnnrec.model_versions}),
	'1:false 2:true', 'standby: the deploy of version 2 replicated');
is($standby->safe_psql($db, $fingerprint), $primary->safe_psql($db, $fingerprint),
	'standby: the catalog equals the primary\'s after catch-up');

$standby->stop;
$primary->stop;

# ---------------------------------------------------------------------------
# 2. One background-worker slot.
# ---------------------------------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('oneslot');
$node->init;
$node->append_conf('postgresql.conf', qq{
client_min_messages = warning
max_worker_processes = 1
max_logical_replication_workers = 0
max_parallel_workers = 0
max_parallel_workers_per_gather = 0
max_parallel_maintenance_workers = 0
});
$node->start;
$node->safe_psql($db, qq{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
	CREATE INDEX ON events (user_id, ts);
	SELECT cnnrec.create_model('a', 'events', 'user_id', 'item_id', 'ts', 'event', '$model_opts');
	SELECT cnnrec.create_model('b', 'events', 'user_id', 'item_id', 'ts', 'event', '$model_opts');
});
is($node->safe_psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type IN
	('logical replication launcher', 'parallel worker')}), '0', 'no other background worker holds the slot');

$job = $node->safe_psql($db, q{CALL cnnrec.train('a', '{"epochs": 5000}', wait => false)});
$node->poll_query_until($db, "SELECT phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
  or die 'job a never started training';

# In a transaction block (wait => false): the failed registration rolls the
# job row back with it.
my ($secs, $timed_out);
($ret, $stderr, $secs, $timed_out) =
  try_sql($node, "BEGIN;\nCALL cnnrec.train('b', '{}', wait => false);\nCOMMIT;");
like($stderr, qr/ERROR:  53000: could not register background process\n(.*\n)?HINT:  You may need to increase max_worker_processes\./,
	'in a transaction block: a second training fails with 53000 "could not register background process" and the hint');
is($node->safe_psql($db, q{SELECT count(*) FROM cnnrec.jobs WHERE model = 'b'}), '0',
	'in a transaction block: the failed submission left no job');

# Outside a transaction block (the job row was committed before launching).
($ret, $stderr, $secs, $timed_out) = try_sql($node, q{CALL cnnrec.train('b')});
ok(!$timed_out && $secs < 5, 'a second waiting training fails at once, it is not queued');
like($stderr, qr/ERROR:  53000: could not register background process\n(.*\n)?HINT:  You may need to increase max_worker_processes\./,
	'a second training fails with 53000 "could not register background process" and the hint');
is($node->safe_psql($db, q{SELECT status FROM cnnrec.jobs WHERE job_id = } . $job), 'running',
	'the first training goes on');
is($node->safe_psql($db, q{SELECT count(*) FROM cnnrec.jobs WHERE model = 'b' AND status IN ('queued', 'running')}),
	'0', 'the failed submission left no queued job behind (BUG)');

# Once the slot is free, b can be trained at once (not only after the
# 2-minute grace period for queued jobs in src/jobs.c).
is($node->safe_psql($db, "SELECT cnnrec.cancel($job)"), 't', 'cancel the first training');
$node->poll_query_until($db,
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'})
  or die 'the first worker did not exit';
for my $try (1 .. 20)
{
	# the postmaster frees the slot right after the worker's exit
	($ret, $stderr) = try_sql($node, q{CALL cnnrec.train('b')});
	last unless $stderr =~ /could not register background process/;
	select(undef, undef, undef, 0.2);
}
is($ret, 0, 'with the slot free again, b trains at once (BUG)') or diag $stderr;

$node->stop;
done_testing();
