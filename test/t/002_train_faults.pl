# A training worker that dies (pg_terminate_backend, kill -9, immediate or
# fast shutdown) never damages the active model: the previously active
# version keeps its number and weights, no half-written version or orphan
# weight chunk appears, the dead job ends 'failed' with a reason (at once
# when the worker can record it, otherwise by the lazy reconciliation that
# the next train() / cancel() / waiting CALL runs, see src/jobs.c), and the
# model can be trained again.  A CALL waiting on a worker that dies returns
# an error promptly instead of hanging.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
# kill -9 of a backend makes the postmaster reinitialise; Cluster.pm turns
# that off by default.
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
client_min_messages = warning
});
$node->start;

my $db = 'postgres';
my $LONG = '{"epochs": 5000}';    # minutes of training; always interrupted

$node->safe_psql($db, q{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
	CREATE INDEX ON events (user_id, ts);
	SELECT cnnrec.create_model('m', 'events', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 16, "threads": 1, "epochs": 3, "lr": 0.01}');
	-- A source whose loading can be held up: the view sleeps gate.sleep_s
	-- seconds in the training worker's loading query.
	CREATE TABLE gate (sleep_s float8 NOT NULL);
	INSERT INTO gate VALUES (0);
	CREATE VIEW slow_events AS
		SELECT e.* FROM events e WHERE (SELECT true FROM gate, LATERAL pg_sleep(gate.sleep_s));
	SELECT cnnrec.create_model('slow', 'slow_events', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 16, "threads": 1, "epochs": 2}');
});

# Submit a job without waiting; returns its id.
sub submit
{
	my ($model, $options) = @_;
	return $node->safe_psql($db, "CALL cnnrec.train('$model', '$options', wait => false)");
}

# Wait until the job is training (phase 'training', a first epoch done).
sub wait_training
{
	my ($job) = @_;
	$node->poll_query_until($db,
		"SELECT status = 'running' AND phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
	  or die "job $job never reached the training phase";
	return $node->safe_psql($db, "SELECT pid FROM cnnrec.jobs WHERE job_id = $job");
}

# Wait until the job's worker sleeps in the loading query of slow_events.
sub wait_loading
{
	my ($job) = @_;
	$node->poll_query_until($db, qq{
		SELECT EXISTS (SELECT 1 FROM cnnrec.jobs j JOIN pg_stat_activity a USING (pid)
					   WHERE j.job_id = $job AND j.phase = 'loading' AND a.wait_event = 'PgSleep')})
	  or die "job $job never reached the loading query";
	return $node->safe_psql($db, "SELECT pid FROM cnnrec.jobs WHERE job_id = $job");
}

# Wait until no training worker is left.
sub wait_no_worker
{
	return $node->poll_query_until($db,
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'");
}

# Every version with its active flag and a digest of its weights.
sub versions
{
	return $node->safe_psql($db, q{
		SELECT string_agg(concat_ws(':', m.name, v.version, v.active, v.weights_bytes,
			(SELECT md5(string_agg(w.data, ''::bytea ORDER BY w.chunk)) FROM cnnrec.model_weights w
			 WHERE w.model_id = v.model_id AND w.version = v.version)), ' ' ORDER BY m.name, v.version)
		FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)});
}

# "version:active ..." of a model.
sub active_of
{
	my ($model) = @_;
	return $node->safe_psql($db, qq{
		SELECT string_agg(version || ':' || active, ' ' ORDER BY version)
		FROM cnnrec.model_versions JOIN cnnrec.models USING (model_id) WHERE name = '$model'});
}

# The catalog holds no half-written version and no orphan chunk, and every
# trained model has exactly one active version.
sub catalog_consistent
{
	my ($label) = @_;
	is( $node->safe_psql($db, q{
			SELECT count(*) FROM cnnrec.model_versions v,
				LATERAL (SELECT count(*)::int AS n, sum(octet_length(w.data))::bigint AS bytes,
							 max(w.chunk) AS last FROM cnnrec.model_weights w
						 WHERE w.model_id = v.model_id AND w.version = v.version) c
			WHERE (v.n_chunks, v.weights_bytes, v.n_chunks - 1) IS DISTINCT FROM (c.n, c.bytes, c.last)}),
		'0', "$label: every version has all its weight chunks");
	is( $node->safe_psql($db, q{
			SELECT count(*) FROM cnnrec.model_weights w WHERE NOT EXISTS (SELECT 1 FROM cnnrec.model_versions v
				WHERE v.model_id = w.model_id AND v.version = w.version)}),
		'0', "$label: no orphan weight chunks");
	is( $node->safe_psql($db, q{
			SELECT count(*) FROM (SELECT model_id FROM cnnrec.model_versions GROUP BY model_id
								  HAVING count(*) FILTER (WHERE active) <> 1) s}),
		'0', "$label: each trained model has exactly one active version");
}

# The final row of a dead job.
sub job_row
{
	my ($job) = @_;
	return $node->safe_psql($db,
		"SELECT status, finished_at IS NOT NULL, version IS NULL, error FROM cnnrec.jobs WHERE job_id = $job");
}

my $TERMINATED = qr/^failed\|t\|t\|training job \d+ was terminated$/;
my $DIED = qr/^failed\|t\|t\|training worker exited unexpectedly \(terminated, crashed or server restarted\)$/;

# A first version to protect.
$node->safe_psql($db, "CALL cnnrec.train('m')");
my $v1 = versions();
like($v1, qr/^m:1:t:\d+:[0-9a-f]{32}$/, 'version 1 of m is active');

# ---------------------------------------------------------------------------
# (a) pg_terminate_backend during the training phase.
# ---------------------------------------------------------------------------
my $job = submit('m', $LONG);
my $pid = wait_training($job);
is($node->safe_psql($db,
		"SELECT backend_type FROM pg_stat_activity WHERE pid = $pid"),
	'cnnrec training', 'jobs.pid is the training worker (backend_type cnnrec training)');
is($node->safe_psql($db, "SELECT pg_terminate_backend($pid)"), 't', '(a) terminate the worker');
ok(wait_no_worker(), '(a) the worker exits');
is(versions(), $v1, '(a) the active version and its weights are unchanged');
catalog_consistent('(a)');
# The worker records a terminate that arrives between mini-batches itself;
# one that lands in one of its short SQL transactions is a FATAL exit the
# next cancel()/train() reconciles.  cancel() reconciles either way.
is($node->safe_psql($db, "SELECT cnnrec.cancel($job)"), 'f', '(a) cancel() of the dead job returns false');
like(job_row($job), qr/$TERMINATED|$DIED/, "(a) the job is 'failed' with the reason");
$node->safe_psql($db, "CALL cnnrec.train('m', '{\"epochs\": 1, \"deploy\": \"never\"}')");
is(active_of('m'), '1:true 2:false', '(a) the next training succeeds (version 2, kept inactive)');
$v1 = versions();

# ---------------------------------------------------------------------------
# (a') pg_terminate_backend while the worker reads the source: a FATAL exit,
# so the row stays 'running' until the lazy reconciliation in the next
# train() of the model.
# ---------------------------------------------------------------------------
$node->safe_psql($db, 'UPDATE gate SET sleep_s = 60');
$job = submit('slow', '{}');
$pid = wait_loading($job);
is($node->safe_psql($db, "SELECT pg_terminate_backend($pid)"), 't', "(a') terminate the worker in its loading query");
ok(wait_no_worker(), "(a') the worker exits");
is($node->safe_psql($db, "SELECT status, phase FROM cnnrec.jobs WHERE job_id = $job"), 'running|loading',
	"(a') until reconciled, the dead job's row still says running (src/jobs.c)");
$node->safe_psql($db, 'UPDATE gate SET sleep_s = 0');
my ($ret, $out, $err) = $node->psql($db, "CALL cnnrec.train('slow')");
is($ret, 0, "(a') the next train() of the model is not refused and succeeds") or diag $err;
like(job_row($job), $DIED, "(a') that train() reconciled the dead job to 'failed' with the reason");
like(versions(), qr/^\Q$v1\E slow:1:t:/, "(a') m's versions are untouched, slow has version 1");
catalog_consistent("(a')");
$v1 = versions();

# ---------------------------------------------------------------------------
# (b) kill -9 of the worker: the postmaster restarts every backend.
# ---------------------------------------------------------------------------
$job = submit('m', $LONG);
$pid = wait_training($job);
my $log_offset = -s $node->logfile;
ok(kill('KILL', $pid), '(b) kill -9 the worker');
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->poll_query_until($db, 'SELECT true') or die 'server did not come back after kill -9';
ok($node->log_contains(qr/background worker "cnnrec training" \(PID $pid\) was terminated by signal 9/, $log_offset),
	'(b) the postmaster saw the worker die of SIGKILL and reinitialised');
ok(wait_no_worker(), '(b) no training worker after the restart');
is(versions(), $v1, '(b) the active version and its weights are unchanged');
catalog_consistent('(b)');
is($node->safe_psql($db, "SELECT status FROM cnnrec.jobs WHERE job_id = $job"), 'running',
	"(b) until reconciled, the killed job's row still says running");
($ret, $out, $err) = $node->psql($db, "CALL cnnrec.train('m', '{\"epochs\": 1, \"deploy\": \"never\"}')");
is($ret, 0, '(b) the next training of the model succeeds') or diag $err;
like(job_row($job), $DIED, "(b) that train() reconciled the killed job to 'failed' with the reason");
is(active_of('m'), '1:true 2:false 3:false', '(b) the new version 3 is stored, version 1 stays active');
is((split / /, versions())[0], (split / /, $v1)[0], '(b) version 1 keeps its weights');
$v1 = versions();

# ---------------------------------------------------------------------------
# (c) immediate shutdown and restart during training.
# ---------------------------------------------------------------------------
$job = submit('m', $LONG);
wait_training($job);
$node->stop('immediate');
$node->start;
ok(wait_no_worker(), '(c) no training worker after the restart (BGW_NEVER_RESTART)');
is(versions(), $v1, '(c) the active version and its weights are unchanged');
catalog_consistent('(c)');
is($node->safe_psql($db, "SELECT cnnrec.cancel($job)"), 'f', '(c) cancel() of the dead job returns false');
like(job_row($job), $DIED, "(c) cancel() reconciled the job to 'failed' with the reason");
($ret, $out, $err) = $node->psql($db, "CALL cnnrec.train('m', '{\"epochs\": 1, \"deploy\": \"never\"}')");
is($ret, 0, '(c) the next training succeeds') or diag $err;
$v1 = versions();

# ---------------------------------------------------------------------------
# (c') fast shutdown during training: the worker obeys SIGTERM at once, so
# the shutdown does not wait for the training.
# ---------------------------------------------------------------------------
$job = submit('m', $LONG);
wait_training($job);
my $t0 = time;
$node->stop('fast');
cmp_ok(time - $t0, '<', 10, "(c') a fast shutdown during training completes promptly");
$node->start;
is(versions(), $v1, "(c') the active version and its weights are unchanged");
catalog_consistent("(c')");
$node->safe_psql($db, "SELECT cnnrec.cancel($job)");
like(job_row($job), qr/$TERMINATED|$DIED/, "(c') the job is 'failed' with the reason");

# ---------------------------------------------------------------------------
# (d) CALL cnnrec.train(wait => true) whose worker is terminated re-raises
# an error promptly.
# ---------------------------------------------------------------------------
# Start a waiting CALL in a background session; returns the session.
sub start_waiting_call
{
	my ($model, $options, %params) = @_;
	my $s = $node->background_psql($db, on_error_stop => 0, %params);
	$s->query_safe('\set VERBOSITY verbose');
	$s->query_until(qr/call started/, qq{\\echo call started
CALL cnnrec.train('$model', '$options');
\\echo call ended
});
	return $s;
}

# Wait for the background CALL to end; returns (seconds waited, stderr).
sub finish_waiting_call
{
	my ($s) = @_;
	my $t = time;
	$s->query_until(qr/call ended/, '');
	my $waited = time - $t;
	$s->query(';');    # read the rest of stderr
	my $stderr = $s->{stderr};
	$s->{stderr} = '';
	return ($waited, $stderr);
}

# (d1) terminated in the training phase
my $s = start_waiting_call('m', $LONG);
$node->poll_query_until($db, q{SELECT count(*) = 1 FROM cnnrec.jobs WHERE status = 'running'})
  or die 'the waiting CALL started no job';
$job = $node->safe_psql($db, q{SELECT job_id FROM cnnrec.jobs WHERE status = 'running'});
$pid = wait_training($job);
$node->safe_psql($db, "SELECT pg_terminate_backend($pid)");
my ($waited, $stderr) = finish_waiting_call($s);
cmp_ok($waited, '<', 5, '(d1) the waiting CALL returns within 5 s of the worker being terminated');
like($stderr, qr/ERROR:  (57P01: training job $job was terminated|XX000: training worker exited unexpectedly)/,
	'(d1) it re-raises the worker\'s error') or diag $stderr;
like($stderr, qr/CONTEXT:  cnnrec training job $job/, '(d1) the error names the job');
like(job_row($job), qr/$TERMINATED|$DIED/, "(d1) the job is 'failed' with the reason");
$s->quit;

# (d2) terminated in the loading phase (a FATAL exit): the waiting CALL
# itself reconciles the job.
$node->safe_psql($db, 'UPDATE gate SET sleep_s = 60');
$s = start_waiting_call('slow', '{}');
$node->poll_query_until($db, q{SELECT count(*) = 1 FROM cnnrec.jobs WHERE status = 'running'})
  or die 'the waiting CALL started no job';
$job = $node->safe_psql($db, q{SELECT job_id FROM cnnrec.jobs WHERE status = 'running'});
$pid = wait_loading($job);
$node->safe_psql($db, "SELECT pg_terminate_backend($pid)");
($waited, $stderr) = finish_waiting_call($s);
cmp_ok($waited, '<', 5, '(d2) the waiting CALL returns within 5 s of the worker dying');
like($stderr, qr/ERROR:  XX000: training worker exited unexpectedly/, '(d2) it raises the worker\'s death')
  or diag $stderr;
like(job_row($job), $DIED, "(d2) the job is already 'failed' when the CALL returns");
$s->quit;
$node->safe_psql($db, 'UPDATE gate SET sleep_s = 0');

# (d3) the worker dies before it could claim its job (here: the calling
# session's role lost LOGIN, so the worker cannot connect).  The waiting
# CALL must not wait for a job nobody will ever run, and the model must not
# stay blocked by a phantom 'queued' job.
$node->safe_psql($db, q{
	CREATE ROLE trainer LOGIN;
	GRANT SELECT ON events TO trainer;
	SET ROLE trainer;
	SELECT cnnrec.create_model('tm', 'events', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 16, "threads": 1, "epochs": 1}');
});
$s = $node->background_psql($db, on_error_stop => 0, extra_params => [ '-U', 'trainer' ]);
$node->safe_psql($db, 'ALTER ROLE trainer NOLOGIN');
$s->query_safe(q{SET statement_timeout = '6s'});
$t0 = time;
(undef, $ret) = $s->query(q{CALL cnnrec.train('tm')});
$waited = time - $t0;
$stderr = $s->{stderr};
ok($ret && $stderr !~ /statement timeout/ && $waited < 5,
	'(d3) a waiting CALL whose worker could not start fails promptly instead of waiting (BUG)')
  or diag sprintf('after %.1f s: %s', $waited, $stderr);
$s->quit;
$node->safe_psql($db, 'ALTER ROLE trainer LOGIN');
ok($node->log_contains(qr/FATAL:  role "trainer" is not permitted to log in/),
	'(d3) the worker died at connection time');
is($node->safe_psql($db, q{SELECT count(*) FROM cnnrec.jobs WHERE model = 'tm' AND status IN ('queued', 'running')}),
	'0', '(d3) no phantom queued job is left behind (BUG)');
($ret, $out, $err) = $node->psql($db, "SET ROLE trainer; CALL cnnrec.train('tm')");
is($ret, 0, '(d3) the model can be trained again at once (BUG)') or diag $err;

# ---------------------------------------------------------------------------
# Nothing is left running.
# ---------------------------------------------------------------------------
$node->safe_psql($db, q{SELECT cnnrec.cancel(job_id) FROM cnnrec.jobs WHERE status IN ('queued', 'running')});
ok(wait_no_worker(), 'no training worker is left');
catalog_consistent('end');

$node->stop;
done_testing();
