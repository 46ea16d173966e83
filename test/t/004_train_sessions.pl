# cnnrec.train() seen from concurrent sessions:
#  - two sessions submitting a training of one model at the same moment:
#    exactly one job starts, the other call fails with 55006 naming it
#    (READ COMMITTED and REPEATABLE READ sessions);
#  - a waiting CALL relays one NOTICE per epoch;
#  - a waiting CALL cancelled by statement_timeout cancels its job;
#  - cnnrec.cancel() stops a job within about a second, also in a long
#    epoch and while it is still reading its source;
#  - drop_model() of a model that is being trained stops the training;
#  - deploy() and a finishing training switch the active version atomically:
#    a concurrent observer always sees exactly one active version.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('sessions');
$node->init;
$node->start;

my $db = 'postgres';
my $LONG = '{"epochs": 5000}';    # minutes of training; always interrupted
my $opts = '{"d": 16, "threads": 1, "epochs": 3, "lr": 0.01}';

$node->safe_psql($db, qq{
	SET client_min_messages = warning;
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
	CREATE INDEX ON events (user_id, ts);
	SELECT cnnrec.create_model(name, 'events', 'user_id', 'item_id', 'ts', 'event', '$opts')
	FROM unnest(ARRAY['m', 'race', 'dep', 'doomed']) name;
	CREATE TABLE gate (sleep_s float8 NOT NULL);
	INSERT INTO gate VALUES (0);
	CREATE VIEW slow_events AS
		SELECT e.* FROM events e WHERE (SELECT true FROM gate, LATERAL pg_sleep(gate.sleep_s));
	SELECT cnnrec.create_model('slow', 'slow_events', 'user_id', 'item_id', 'ts', 'event', '$opts');
});

# Run SQL quietly; dies on error.
sub sql
{
	my ($query) = @_;
	return $node->safe_psql($db, "SET client_min_messages = warning;\n$query");
}

# Wait until no training worker is left.
sub wait_no_worker
{
	return $node->poll_query_until($db,
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'");
}

# Poll a query for at most $secs seconds; true once it returns 't'.
sub within
{
	my ($secs, $query) = @_;
	my $t_end = time + $secs;
	while (time < $t_end)
	{
		return 1 if $node->safe_psql($db, $query) eq 't';
		sleep 0.05;
	}
	return 0;
}

# Stop every job and worker (cleanup after a failed assertion too).
sub stop_all
{
	sql(q{SELECT cnnrec.cancel(job_id) FROM cnnrec.jobs WHERE status IN ('queued', 'running')});
	within(5, "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'")
	  or sql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'cnnrec training'});
	wait_no_worker();
	sql(q{SELECT cnnrec.cancel(job_id) FROM cnnrec.jobs WHERE status IN ('queued', 'running')});
}

# Wait for a background session's command started with query_until to end
# (its stdout showed $marker), and until its stderr has been read too.
sub finish
{
	my ($s, $marker) = @_;
	my $out = $s->query_until($marker, '');
	$s->query(';');
	return $out;
}

# ---------------------------------------------------------------------------
# Two simultaneous submissions for one model.
# ---------------------------------------------------------------------------
# Both sessions block behind a lock on cnnrec.models, then race.
sub race
{
	my ($isolation) = @_;
	my $before = sql(q{SELECT coalesce(max(job_id), 0) FROM cnnrec.jobs});
	my $barrier = $node->background_psql($db);
	$barrier->query_safe('BEGIN; LOCK TABLE cnnrec.models IN ACCESS EXCLUSIVE MODE;');
	my @s;
	for my $i (0, 1)
	{
		$s[$i] = $node->background_psql($db, on_error_stop => 0);
		$s[$i]->query_safe("SET default_transaction_isolation = '$isolation'");
		$s[$i]->query_safe('\set VERBOSITY verbose');
		$s[$i]->query_until(qr/racer ready/, qq{\\echo racer ready
CALL cnnrec.train('race', '$LONG', wait => false);
\\echo racer done
});
	}
	$node->poll_query_until($db,
		q{SELECT count(*) = 2 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'CALL cnnrec.train%'})
	  or die 'the racers did not block';
	$barrier->query_safe('COMMIT');
	my (@ids, @errors);
	for my $i (0, 1)
	{
		my $out = finish($s[$i], qr/racer done/);
		push @ids, $1 if $out =~ /^(\d+)$/m;
		push @errors, $s[$i]->{stderr} if $s[$i]->{stderr} ne '';
		$s[$i]->quit;
	}
	$barrier->quit;
	my $jobs = sql(qq{SELECT string_agg(job_id::text, ',' ORDER BY job_id) FROM cnnrec.jobs
					  WHERE model = 'race' AND job_id > $before});
	stop_all();
	return ($jobs, \@ids, \@errors);
}

for my $round (1 .. 3)
{
	my ($jobs, $ids, $errors) = race('read committed');
	is(scalar(@$ids) . ':' . $jobs, "1:$ids->[0]",
		"race $round (read committed): exactly one of two simultaneous submissions created a job");
	like($errors->[0] // '', qr/ERROR:  55006: model "race" is already being trained by job $jobs\b/,
		"race $round (read committed): the other fails with 55006 naming that job");
}
{
	my ($jobs, $ids, $errors) = race('repeatable read');
	is(scalar(@$ids) . ':' . $jobs, (@$ids ? "1:$ids->[0]" : '1:?'),
		'race (repeatable read): exactly one of two simultaneous submissions created a job (BUG)');
	like($errors->[0] // '', qr/ERROR:  55006: model "race" is already being trained by job \d+/,
		'race (repeatable read): the other fails with 55006 (BUG)');
}

# ---------------------------------------------------------------------------
# A waiting CALL relays one NOTICE per epoch.
# ---------------------------------------------------------------------------
# Small data: epochs take milliseconds, faster than the CALL polls the job.
sql(qq{CREATE TABLE tiny_events AS SELECT * FROM cnnrec.generate_events(100, 30, 10, 7);
	SELECT cnnrec.create_model('tiny', 'tiny_events', 'user_id', 'item_id', 'ts', 'event', '$opts')});
my ($ret, $out, $err) = $node->psql($db, q{CALL cnnrec.train('tiny', '{"epochs": 20}')});
is($ret, 0, 'a 20-epoch training succeeds');
my @epochs = $err =~ /NOTICE:  training job \d+: epoch (\d+)\/20: loss [0-9.]+/g;
is("@epochs", join(' ', 1 .. 20), 'the waiting CALL raised one NOTICE per epoch, in order (BUG)') or diag $err;
like($err, qr/NOTICE:  training job \d+ succeeded: version 1 is now active$/m,
	'and a final NOTICE naming the new active version');
my $v_m = sql(q{SELECT string_agg(version || ':' || active || ':' || weights_crc32c, ' ' ORDER BY version)
	FROM cnnrec.model_versions JOIN cnnrec.models USING (model_id) WHERE name = 'm'});

# ---------------------------------------------------------------------------
# statement_timeout on a waiting CALL cancels the job.
# ---------------------------------------------------------------------------
($ret, $out, $err) = $node->psql($db,
	"SET client_min_messages = warning; SET statement_timeout = '1500ms'; CALL cnnrec.train('m', '$LONG')");
like($err, qr/ERROR:  canceling statement due to statement timeout/, 'a waiting CALL hits statement_timeout');
my $job = sql(q{SELECT max(job_id) FROM cnnrec.jobs WHERE model = 'm'});
ok(within(5, "SELECT status <> 'running' FROM cnnrec.jobs WHERE job_id = $job"),
	'its job ends within 5 s of the CALL being cancelled');
is(sql("SELECT status || ':' || (error_detail->>'sqlstate') FROM cnnrec.jobs WHERE job_id = $job"),
	'cancelled:57014', 'the job is cancelled (57014)');
is(sql(q{SELECT string_agg(version || ':' || active || ':' || weights_crc32c, ' ' ORDER BY version)
	FROM cnnrec.model_versions JOIN cnnrec.models USING (model_id) WHERE name = 'm'}), $v_m,
	'no version was written, the active one is unchanged');
stop_all();

# ---------------------------------------------------------------------------
# cancel() stops a job in the middle of a long epoch "between mini-batches
# (within about a second)" (README).  d = 256 makes one epoch take seconds.
# ---------------------------------------------------------------------------
$job = sql(q{CALL cnnrec.train('m', '{"d": 256, "epochs": 50}', wait => false)});
$node->poll_query_until($db, "SELECT phase = 'training' FROM cnnrec.jobs WHERE job_id = $job")
  or die 'the job never started training';
my $t0 = time;
is(sql("SELECT cnnrec.cancel($job)"), 't', 'cancel() of a job in a long epoch returns true');
ok(within(10, "SELECT status = 'cancelled' FROM cnnrec.jobs WHERE job_id = $job"), 'the job ends cancelled');
my $latency = time - $t0;
cmp_ok($latency, '<', 2,
	'it stops within about a second of cancel() (BUG: the worker looks only every 3 s within an epoch)');
stop_all();

# ---------------------------------------------------------------------------
# cancel() stops a job that is still reading its source.
# ---------------------------------------------------------------------------
sql('UPDATE gate SET sleep_s = 30');
$job = sql(q{CALL cnnrec.train('slow', '{}', wait => false)});
$node->poll_query_until($db, qq{
	SELECT EXISTS (SELECT 1 FROM cnnrec.jobs j JOIN pg_stat_activity a USING (pid)
				   WHERE j.job_id = $job AND j.phase = 'loading' AND a.wait_event = 'PgSleep')})
  or die 'the job never reached its loading query';
is(sql("SELECT cnnrec.cancel($job)"), 't', 'cancel() of a job in its loading phase returns true');
ok(within(5, "SELECT status = 'cancelled' FROM cnnrec.jobs WHERE job_id = $job"),
	'the loading job ends cancelled within 5 s (BUG: cancel() is only seen once training starts)')
  or diag sql("SELECT status, phase FROM cnnrec.jobs WHERE job_id = $job");
sql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'cnnrec training'});
stop_all();
sql('UPDATE gate SET sleep_s = 0');
is(sql(q{SELECT count(*) FROM cnnrec.model_versions JOIN cnnrec.models USING (model_id) WHERE name = 'slow'}),
	'0', 'the cancelled loading job stored no version');

# ---------------------------------------------------------------------------
# drop_model() stops the training of the dropped model.
# ---------------------------------------------------------------------------
$job = sql(qq{CALL cnnrec.train('doomed', '$LONG', wait => false)});
$node->poll_query_until($db, "SELECT phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
  or die 'the job never started training';
my $pid = sql("SELECT pid FROM cnnrec.jobs WHERE job_id = $job");
sql(q{SELECT cnnrec.drop_model('doomed')});
is(sql(q{SELECT count(*) FROM cnnrec.jobs WHERE model = 'doomed'}), '0', 'drop_model() removed the job row');
ok(within(6, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid)"),
	'the worker of the dropped model stops within 6 s');
sql("SELECT pg_terminate_backend($pid)");
stop_all();

# ---------------------------------------------------------------------------
# Atomic switches of the active version.
# ---------------------------------------------------------------------------
sql(q{CALL cnnrec.train('dep')});
sql(q{CALL cnnrec.train('dep', '{"epochs": 1, "deploy": "never"}')});
my $dep = sql(q{SELECT model_id FROM cnnrec.models WHERE name = 'dep'});

# An observer counts, over 4 s, the snapshots in which the model does not
# have exactly one active version, and which versions it saw active.
my $observer = $node->background_psql($db);
$observer->query_until(qr/observing/, qq{\\echo observing
DO \$\$
DECLARE
	t_end timestamptz := clock_timestamp() + interval '4 seconds';
	n int := 0;
	bad int := 0;
	seen int[] := '{}';
	a int[];
BEGIN
	WHILE clock_timestamp() < t_end LOOP
		SELECT array_agg(version) INTO a FROM cnnrec.model_versions WHERE model_id = $dep AND active;
		IF coalesce(cardinality(a), 0) <> 1 THEN
			bad := bad + 1;
		ELSIF NOT a[1] = ANY (seen) THEN
			seen := seen || a[1];
		END IF;
		n := n + 1;
	END LOOP;
	RAISE WARNING 'observed % % %', n, bad, (SELECT string_agg(v::text, ',' ORDER BY v) FROM unnest(seen) v);
END \$\$;
\\echo observed
});
# Two sessions deploy versions 1 and 2 against each other for 3 s, each
# deploy in its own transaction, while a training saves and activates
# version 3.
my @deployers;
for my $v (1, 2)
{
	my $d = $node->background_psql($db);
	$d->query_until(qr/deploying/, qq{\\echo deploying
DO \$\$
DECLARE t_end timestamptz := clock_timestamp() + interval '3 seconds';
BEGIN
	WHILE clock_timestamp() < t_end LOOP
		PERFORM cnnrec.deploy('dep', $v);
		COMMIT;
	END LOOP;
END \$\$;
\\echo deployed
});
	push @deployers, $d;
}
sql(q{CALL cnnrec.train('dep', '{"deploy": "always"}')});
finish($_, qr/deployed/) for @deployers;
for my $d (@deployers)
{
	is($d->{stderr}, '', 'a concurrent deployer ran without error');
	$d->quit;
}
finish($observer, qr/observed/);
my ($n, $bad, $seen) = $observer->{stderr} =~ /WARNING:  observed (\d+) (\d+) ([\d,]*)/;
$observer->quit;
cmp_ok($n // 0, '>', 100, 'the observer took many snapshots');
is($bad, '0', 'in every snapshot the model had exactly one active version');
like($seen // '', qr/^1,2(,3)?$/, 'the observer saw the active version switch') or diag $seen;
is(sql("SELECT count(*) FROM cnnrec.model_versions WHERE model_id = $dep AND active"), '1',
	'exactly one active version at the end');
is(sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM cnnrec.model_versions WHERE model_id = $dep"),
	'1,2,3', 'the training stored version 3 among the deploys');

stop_all();
$node->stop;
done_testing();
