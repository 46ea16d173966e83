# Fault matrix: the training worker is killed in every phase of a job, and
# nothing is lost.
#
# What it proves.  For every (phase x point x method) row of the table below,
# a training job of model "m" is stopped at a known point and then killed with
# pg_terminate_backend or kill -9, or the server is shut down "immediate" and
# restarted (saving phase).  After each fault: the previously active version
# keeps its number and weight bytes (md5 of the chunks), recommend() returns
# exactly the rows it returned before for a few users (known, and one without
# history), the job is 'failed' with a non-empty reason and the phase it died
# in, the catalog holds no orphan chunk, no incomplete version and one active
# version, and no version number was consumed.  At the end a new training
# succeeds.  A diag line prints the faults injected per phase.
#
# How the worker is held at a point, without timing luck.  Every hold is a
# lock the test session takes; the test then checks in pg_locks and
# pg_stat_activity that the worker really waits for it, and in which phase
# (the worker's activity text starts with its phase):
#   loading     the source table locked ACCESS EXCLUSIVE (the loading query
#               waits for it), or an advisory lock that the source view's
#               function waits on (the worker is inside the loading query);
#   training    a free-running job between mini-batches (trained on all
#               events, so it never evaluates), or the job's row locked FOR
#               UPDATE (the worker waits in its next progress write);
#   evaluating  cnnrec.jobs locked ACCESS EXCLUSIVE and handed from session
#               to session, so that the worker advances one transaction at a
#               time until it waits in the cancel check it runs every 64
#               users inside the per-epoch validation or the final
#               evaluation (its activity then says which);
#   saving      the model's row locked FOR SHARE (the save waits for its
#               version number, nothing written yet), cnnrec.model_weights
#               locked SHARE (the old version deactivated and the new
#               version row inserted, chunks pending), or the job's row
#               locked FOR NO KEY UPDATE (version and every chunk written,
#               waiting to mark the job succeeded just before COMMIT).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fault_matrix');
$node->init;
# kill -9 of a backend reinitialises the server (Cluster.pm turns this off);
# no autovacuum, whose locks would sit among the test's holds.
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
autovacuum = off
});
$node->start;

my $db = 'postgres';
my $GATE = 7007;    # advisory lock key of the source view's gate

$node->safe_psql($db, qq{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(300, 60, 30, 7);
	CREATE INDEX ON events (user_id, ts);
	-- Waits while the test holds the gate's advisory lock exclusively.
	CREATE FUNCTION fault_gate() RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		PERFORM pg_catalog.pg_advisory_lock_shared($GATE);
		PERFORM pg_catalog.pg_advisory_unlock_shared($GATE);
		RETURN true;
	END \$\$;
	CREATE VIEW src_v AS SELECT e.* FROM events e WHERE (SELECT fault_gate());
	SELECT cnnrec.create_model('m', 'src_v', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 16, "threads": 1, "epochs": 1}');
});
# deploy "always" and another seed: a save that slipped through would replace
# the active version with different weights.
my $SHORT = '{"epochs": 1, "deploy": "always", "seed": 2}';
my $ENDLESS = '{"epochs": 5000, "holdout": false, "deploy": "always", "seed": 2}';

# ---------------------------------------------------------------------------
# Observations.
# ---------------------------------------------------------------------------

# Every version of m with its active flag and the md5 of its weight chunks.
sub versions
{
	return $node->safe_psql($db, q{
		SELECT string_agg(concat_ws(':', v.version, v.active, v.weights_bytes, v.weights_crc32c,
			(SELECT md5(string_agg(w.data, ''::bytea ORDER BY w.chunk)) FROM cnnrec.model_weights w
			 WHERE w.model_id = v.model_id AND w.version = v.version)), ' ' ORDER BY v.version)
		FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) WHERE m.name = 'm'});
}

# recommend() for a few users: known ones and one without any history.
sub recommendations
{
	return $node->safe_psql($db, q{
		SELECT string_agg(concat_ws(':', u, r.rank, r.item_id, r.score), ' ' ORDER BY u, r.rank)
		FROM unnest(ARRAY[1, 2, 150, 299, 1000000]::bigint[]) u, LATERAL recommend(u, 5, 'm') r});
}

# Counts of catalog damage: incomplete versions, orphan chunks, models
# without exactly one active version, jobs still queued or running.
sub damage
{
	return $node->safe_psql($db, q{
		SELECT concat_ws(' ',
			'incomplete:' || (SELECT count(*) FROM cnnrec.model_versions v,
				LATERAL (SELECT count(*)::int AS n, sum(octet_length(w.data))::bigint AS bytes,
							 max(w.chunk) AS last FROM cnnrec.model_weights w
						 WHERE w.model_id = v.model_id AND w.version = v.version) c
				WHERE (v.n_chunks, v.weights_bytes, v.n_chunks - 1) IS DISTINCT FROM (c.n, c.bytes, c.last)),
			'orphans:' || (SELECT count(*) FROM cnnrec.model_weights w WHERE NOT EXISTS
				(SELECT FROM cnnrec.model_versions v WHERE (v.model_id, v.version) = (w.model_id, w.version))),
			'active:' || (SELECT count(*) FROM (SELECT model_id FROM cnnrec.model_versions GROUP BY model_id
				HAVING count(*) FILTER (WHERE active) <> 1) s),
			'unfinished:' || (SELECT count(*) FROM cnnrec.jobs WHERE status IN ('queued', 'running')))});
}
my $NO_DAMAGE = 'incomplete:0 orphans:0 active:0 unfinished:0';

# ---------------------------------------------------------------------------
# Sessions that hold locks.
# ---------------------------------------------------------------------------

# A separate session and its backend pid.
sub session
{
	my $s = $node->background_psql($db, on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	return { psql => $s, pid => $pid };
}

# A session that has run $sql (which takes a lock at once).
sub holding
{
	my ($sql) = @_;
	my $s = session();
	$s->{psql}->query_safe($sql);
	return $s;
}

# Send SQL to a session without waiting for it: it may wait for a lock.
sub send_async
{
	my ($s, $sql) = @_;
	$s->{psql}->query_until(qr/sent/, "\\echo sent\n$sql\n");
	return;
}

# End a session (its locks go with it); its server may have gone away.
sub close_session
{
	my ($s) = @_;
	eval { $s->{psql}->quit; };
	return;
}

# Wait until backend $pid waits for a lock matching $cond (on pg_locks l),
# and, if given, its activity text is LIKE $activity.
sub wait_lock
{
	my ($pid, $cond, $activity) = @_;
	my $act = defined $activity ? "AND a.query LIKE '$activity'" : '';
	$node->poll_query_until($db,
		"SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
						WHERE l.pid = $pid AND NOT l.granted AND ($cond) $act)")
	  or die "backend $pid never waited for a lock with $cond";
	return;
}

# Does backend $pid hold a granted lock matching $cond?
sub holds_lock
{
	my ($pid, $cond) = @_;
	return $node->safe_psql($db,
		"SELECT EXISTS (SELECT FROM pg_locks l WHERE l.pid = $pid AND l.granted AND ($cond))") eq 't';
}

# The worker's activity text (it starts with the job's phase).
sub activity
{
	my ($pid) = @_;
	return $node->safe_psql($db, "SELECT query FROM pg_stat_activity WHERE pid = $pid");
}

# ---------------------------------------------------------------------------
# Jobs and workers.
# ---------------------------------------------------------------------------

# Submit a job of m without waiting; returns its id.
sub submit
{
	my ($options) = @_;
	return $node->safe_psql($db, "CALL cnnrec.train('m', '$options', wait => false)");
}

# The pid of the (only) training worker, once it runs.
sub worker_pid
{
	my $q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnnrec training'";
	$node->poll_query_until($db, "SELECT count(*) = 1 FROM ($q) s")
	  or die 'no training worker started';
	return $node->safe_psql($db, $q);
}

# Wait until no training worker is left.
sub wait_no_worker
{
	$node->poll_query_until($db,
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cnnrec training'")
	  or die 'a training worker is still running';
	return;
}

# ---------------------------------------------------------------------------
# Holds: each submits a job, stops its worker at one point and checks that
# it waits there.  Returns (job id, worker pid, sessions to close, whether
# the worker is where it should be).
# ---------------------------------------------------------------------------

# loading: a session runs $sql, then a job's loading query waits for the
# lock that session holds (pg_locks condition $lock_cond).
sub hold_loading
{
	my ($sql, $lock_cond) = @_;
	my $h = holding($sql);
	my $job = submit($SHORT);
	my $w = worker_pid();
	wait_lock($w, $lock_cond);
	return ($job, $w, [$h], activity($w) =~ /: loading$/);
}

# loading: the source table is locked; the loading query waits for it.
sub hold_source_table
{
	return hold_loading('BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE;',
		"l.relation = 'events'::regclass");
}

# loading: the worker is inside the loading query, in the view's gate.
sub hold_source_query
{
	return hold_loading("SELECT pg_advisory_lock($GATE)",
		"l.locktype = 'advisory' AND l.objid = $GATE");
}

# training: a job that never evaluates, running between mini-batches.
sub hold_running
{
	my $job = submit($ENDLESS);
	my $w = worker_pid();
	$node->poll_query_until($db,
		"SELECT phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
	  or die "job $job never trained an epoch";
	my $running = $node->safe_psql($db,
		"SELECT wait_event_type IS DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = $w");
	return ($job, $w, [], $running eq 't' && activity($w) =~ /: training, epoch \d+/);
}

# training: the job's row is locked; the next progress write waits.
sub hold_progress_write
{
	my $job = submit($ENDLESS);
	my $w = worker_pid();
	$node->poll_query_until($db,
		"SELECT phase = 'training' AND epoch >= 1 FROM cnnrec.jobs WHERE job_id = $job")
	  or die "job $job never trained an epoch";
	my $h = holding("BEGIN; SELECT FROM cnnrec.jobs WHERE job_id = $job FOR UPDATE;");
	wait_lock($w, "l.locktype IN ('transactionid', 'tuple')", '%: training, epoch %');
	return ($job, $w, [$h], activity($w) =~ /: training, epoch \d+/);
}

# A session that waits for an ACCESS EXCLUSIVE lock on cnnrec.jobs.
sub queue_jobs_lock
{
	my $s = session();
	send_async($s, 'BEGIN; LOCK TABLE cnnrec.jobs IN ACCESS EXCLUSIVE MODE;');
	wait_lock($s->{pid}, "l.relation = 'cnnrec.jobs'::regclass");
	return $s;
}

# evaluating: cnnrec.jobs is locked and handed from session to session, so
# the worker runs one transaction per step, until it waits in the cancel
# check inside the evaluation whose activity matches $where.  The worker
# polls at most once a second; at the write that starts the evaluation it
# is held 1.2 s, so its first check (after 64 users) polls and waits.
sub hold_evaluation
{
	my ($where) = @_;
	my $gate = holding("SELECT pg_advisory_lock($GATE)");
	my $job = submit($SHORT);
	my $w = worker_pid();
	wait_lock($w, "l.locktype = 'advisory'");
	my $lock = queue_jobs_lock();    # behind the loading transaction
	$gate->{psql}->query_safe("SELECT pg_advisory_unlock($GATE)");
	close_session($gate);
	for my $step (1 .. 40)
	{
		$node->poll_query_until($db,
			"SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $w AND NOT granted)")
		  or die "the worker of job $job does not wait";
		my ($mode, $act) = split /\|/, $node->safe_psql($db,
			"SELECT l.mode, a.query FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			 WHERE l.pid = $w AND NOT l.granted AND l.relation = 'cnnrec.jobs'::regclass"), 2;
		die "the worker of job $job waits for something else" unless defined $act;
		return ($job, $w, [$lock], 1) if $mode eq 'AccessShareLock' && $act =~ $where;
		$node->poll_query_until($db,
			"SELECT clock_timestamp() - waitstart > interval '1.2 s' FROM pg_locks WHERE pid = $w AND NOT granted")
		  if $act =~ $where;
		my $next = queue_jobs_lock();
		$lock->{psql}->query_safe('COMMIT');
		close_session($lock);
		$node->poll_query_until($db,
			"SELECT NOT EXISTS (SELECT FROM pg_locks WHERE pid = $next->{pid} AND NOT granted)")
		  or die 'the next lock holder never got its lock';
		$lock = $next;
	}
	die "the worker of job $job never reached $where";
}

# saving: the model's row is locked; the save waits for its version number.
sub hold_model_row
{
	my $h = holding(q{BEGIN; SELECT FROM cnnrec.models WHERE name = 'm' FOR SHARE;});
	my $job = submit($SHORT);
	my $w = worker_pid();
	wait_lock($w, "l.locktype IN ('transactionid', 'tuple')", '%: saving');
	return ($job, $w, [$h], activity($w) =~ /: saving$/);
}

# saving: the weights table is locked; the version row is written (and the
# old version deactivated), the chunks wait.
sub hold_weights
{
	my $h = holding('BEGIN; LOCK TABLE cnnrec.model_weights IN SHARE MODE;');
	my $job = submit($SHORT);
	my $w = worker_pid();
	wait_lock($w, "l.relation = 'cnnrec.model_weights'::regclass");
	return ($job, $w, [$h], activity($w) =~ /: saving$/
		  && holds_lock($w, "l.relation = 'cnnrec.model_versions'::regclass AND l.mode = 'RowExclusiveLock'"));
}

# saving: everything is written; the last statement (the job's row) waits.
sub hold_commit
{
	my $model = holding(q{BEGIN; SELECT FROM cnnrec.models WHERE name = 'm' FOR SHARE;});
	my $job = submit($SHORT);
	my $w = worker_pid();
	wait_lock($w, "l.locktype IN ('transactionid', 'tuple')", '%: saving');
	my $row = holding("BEGIN; SELECT FROM cnnrec.jobs WHERE job_id = $job FOR NO KEY UPDATE;");
	my $row_xid = $node->safe_psql($db,
		"SELECT transactionid FROM pg_locks WHERE pid = $row->{pid} AND locktype = 'transactionid'");
	$model->{psql}->query_safe('COMMIT');
	close_session($model);
	wait_lock($w, "l.locktype = 'transactionid' AND l.transactionid = '$row_xid'");
	return ($job, $w, [$row], activity($w) =~ /: saving$/
		  && holds_lock($w, "l.relation = 'cnnrec.model_weights'::regclass AND l.mode = 'RowExclusiveLock'"));
}

# ---------------------------------------------------------------------------
# Faults.
# ---------------------------------------------------------------------------

# Inject one fault into worker $w; true once the worker is gone.
sub inject
{
	my ($method, $w) = @_;
	if ($method eq 'terminate')
	{
		return 0 unless $node->safe_psql($db, "SELECT pg_terminate_backend($w)") eq 't';
	}
	elsif ($method eq 'kill -9')
	{
		my $offset = -s $node->logfile;
		return 0 unless kill('KILL', $w);
		$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
		$node->poll_query_until($db, 'SELECT true') or die 'no restart after kill -9';
	}
	else
	{
		$node->stop('immediate');
		$node->start;
	}
	wait_no_worker();
	return 1;
}

# ---------------------------------------------------------------------------
# The matrix.
# ---------------------------------------------------------------------------

$node->safe_psql($db, "CALL cnnrec.train('m')");
my $versions = versions();
my $recs = recommendations();
like($versions, qr/^1:t:\d+:\d+:[0-9a-f]{32}$/, 'version 1 of m is active');
is(scalar(() = $recs =~ / 1000000:/g), 5, 'recommend() serves known users and a user without history');
is(damage(), $NO_DAMAGE, 'the catalog starts clean');

my @points = (
	[ 'loading',    'waiting for the source table',          \&hold_source_table ],
	[ 'loading',    'inside the loading query',              \&hold_source_query ],
	[ 'training',   'between mini-batches',                  \&hold_running ],
	[ 'training',   'waiting in a progress write',           \&hold_progress_write ],
	[ 'evaluating', 'in the per-epoch validation',           sub { hold_evaluation(qr/: evaluating \(validation\)/) } ],
	[ 'evaluating', 'in the final evaluation',               sub { hold_evaluation(qr/: evaluating \(test\)/) } ],
	[ 'saving',     'waiting for the version number',        \&hold_model_row ],
	[ 'saving',     'version row written, chunks waiting',   \&hold_weights ],
	[ 'saving',     'all written, before commit',            \&hold_commit ],
);
my %faults;
for my $p (@points)
{
	my ($phase, $point, $hold) = @$p;
	my @methods = ('terminate', 'kill -9', $phase eq 'saving' ? ('immediate shutdown') : ());
	for my $method (@methods)
	{
		my $label = "$phase, $point, $method";
		my ($job, $w, $sessions, $held) = $hold->();
		ok($held, "$label: the worker of job $job is held there") or diag activity($w);
		ok(inject($method, $w), "$label: fault injected");
		close_session($_) for @$sessions;
		$faults{$phase}++;

		# A dead worker's job is reconciled by the next cancel()/train().
		is($node->safe_psql($db, "SELECT cnnrec.cancel($job)"), 'f', "$label: cancel() finds the job over");
		is( $node->safe_psql($db, "SELECT concat_ws('|', status, phase, error <> '', finished_at IS NOT NULL,
				version IS NULL) FROM cnnrec.jobs WHERE job_id = $job"),
			"failed|$phase|t|t|t", "$label: the job failed in phase $phase with a reason")
		  or diag $node->safe_psql($db, "SELECT error FROM cnnrec.jobs WHERE job_id = $job");
		is(versions(), $versions, "$label: the active version, its number and weights are intact");
		is(recommendations(), $recs, "$label: recommend() returns the same rows");
		is(damage(), $NO_DAMAGE, "$label: no orphan chunk, incomplete version or unfinished job");
	}
}

my $total = 0;
$total += $_ for values %faults;
diag sprintf('fault matrix: %d faults injected and survived (%s)', $total,
	join(', ', map { "$_ $faults{$_}" } qw(loading training evaluating saving)));
cmp_ok($total, '>=', 20, 'at least 20 faults injected in one run');

# A new training succeeds and takes the next version number.
my ($ret, $out, $err) = $node->psql($db, "CALL cnnrec.train('m', '$SHORT')");
is($ret, 0, 'a new training succeeds after the faults') or diag $err;
(my $v1_inactive = $versions) =~ s/^1:t:/1:f:/;
like(versions(), qr/^\Q$v1_inactive\E 2:t:/, 'it stored version 2, now active; version 1 keeps its weights');
is(damage(), $NO_DAMAGE, 'the catalog is clean at the end');
my $new_recs = recommendations();
is(scalar(() = $new_recs =~ / 1000000:/g), 5, 'recommend() serves the new version');
isnt($new_recs, $recs, 'and its rows differ from version 1 (the checks above could fail)');

$node->stop;
done_testing();
