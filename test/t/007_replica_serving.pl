# Serving from a streaming standby (003 covers what replicates and which
# management calls a standby refuses; this file covers what it serves).
#
# 1. After training on the primary, recommend() (known, unknown and
#    history-less users, candidates), recommend_for_items(), similar_items()
#    and explain_recommendation() return exactly the primary's rows on the
#    standby (explain's time_gap is measured from the serving time, so only
#    its presence is compared).
# 2. A standby session that has version 1 cached (a BackgroundPsql session
#    held open across the deploy) serves version 1 before, and version 2
#    from its next transaction after the deploy of version 2 on the primary
#    has been replayed.  A REPEATABLE READ transaction on the standby that
#    started before the deploy keeps serving version 1 to its end: one
#    transaction never mixes two versions, on a standby either.
# 3. CALL cnnrec.train() and cnnrec.cancel() on the standby fail at once
#    with SQLSTATE 25006 and a hint, and start no worker.
# 4. Worker slots: the pair runs with max_worker_processes = 2 and no
#    parallel or logical-replication workers; the standby serves with no
#    background worker of its own, yet PostgreSQL refuses to start a
#    standby whose max_worker_processes is below the primary's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $db = 'postgres';
my @users = (1, 2, 3, 17, 42, 99, 150, 1000000);	# 1000000: no history, not in the model

# Everything a client can ask of the serving functions, as one text.
my $serving = q{
	SELECT string_agg(r, E'\n' ORDER BY r) FROM (
		SELECT 'r:' || u || ':' || (x.*)::text AS r
		FROM unnest('{USERS}'::bigint[]) u, LATERAL recommend(u, 5) x
		UNION ALL
		SELECT 'c:' || u || ':' || (x.*)::text
		FROM unnest('{USERS}'::bigint[]) u,
			 LATERAL recommend(u, 3, candidates => ARRAY[1, 2, 3, 5, 8, 13, 21, 34]) x
		UNION ALL
		SELECT 'i:' || (x.*)::text FROM recommend_for_items(ARRAY[3, 1, 4, 1, 5], 5) x
		UNION ALL
		SELECT 's:' || i || ':' || (x.*)::text
		FROM unnest(ARRAY[1, 7, 20]) i, LATERAL similar_items(i, 4) x
		UNION ALL
		SELECT 'e:' || concat_ws('|', x.recency, x.history_item, x.event, x.time_gap IS NOT NULL,
								 x.attention, x.in_conv_window, x.score, x.rank)
		FROM explain_recommendation(42, 7) x
	) s};
$serving =~ s/USERS/join(',', @users)/ge;

# Run SQL with VERBOSITY verbose; returns (stderr, seconds, timed out).
sub try_sql
{
	my ($node, $sql) = @_;
	my ($stdout, $stderr, $timed_out);
	my $t0 = time;
	$node->psql($db, "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr,
		timeout => 60, timed_out => \$timed_out);
	return ($stderr // '', time - $t0, $timed_out);
}

# ---------------------------------------------------------------------------
# A primary with two trained versions (2 not deployed) and its standby.
# ---------------------------------------------------------------------------
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
client_min_messages = warning
max_worker_processes = 2
max_parallel_workers = 0
max_parallel_workers_per_gather = 0
max_logical_replication_workers = 0
});
$primary->start;
$primary->safe_psql($db, q{
	CREATE EXTENSION cnnrec;
	CREATE TABLE events AS SELECT * FROM cnnrec.generate_events(200, 50, 20, 11);
	CREATE INDEX ON events (user_id, ts);
	SELECT cnnrec.create_model('m', 'events', 'user_id', 'item_id', 'ts', 'event',
							   '{"d": 8, "threads": 1, "epochs": 2, "seed": 1}');
});
$primary->safe_psql($db, q{CALL cnnrec.train('m')});
$primary->safe_psql($db, q{CALL cnnrec.train('m', '{"seed": 2, "deploy": "never"}')});
is($primary->safe_psql($db,
		q{SELECT string_agg(version || ':' || active, ' ' ORDER BY version) FROM cnnrec.model_versions}),
	'1:true 2:false', 'primary: version 1 active, version 2 trained but not deployed');

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
# Feedback keeps the primary from pruning rows a standby snapshot still
# needs, so the open standby transaction below never meets a replay conflict.
$standby->append_conf('postgresql.conf', q{
hot_standby_feedback = on
wal_receiver_status_interval = 1s
max_standby_streaming_delay = -1
});
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql($db, 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# ---------------------------------------------------------------------------
# 1. Same rows on both.
# ---------------------------------------------------------------------------
my $v1 = $primary->safe_psql($db, $serving);
is(scalar(() = $v1 =~ /^r:/mg), 5 * @users, 'primary: recommend() gives 5 rows for every user');
like($v1, qr/^e:/m, 'primary: explain_recommendation() gives rows');
like($v1, qr/^s:/m, 'primary: similar_items() gives rows');
is($standby->safe_psql($db, $serving), $v1,
	'standby: recommend, recommend_for_items, similar_items and explain_recommendation return the primary\'s rows');

# ---------------------------------------------------------------------------
# 2. A standby session with version 1 cached, across the deploy of 2.
# ---------------------------------------------------------------------------
my $session = $standby->background_psql($db, on_error_stop => 1);
my $pid = $session->query_safe('SELECT pg_backend_pid()');
is($session->query_safe($serving), $v1, 'standby session: serves version 1 (now cached)');
my $rr = $standby->background_psql($db, on_error_stop => 1);
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($rr->query_safe($serving), $v1, 'standby REPEATABLE READ transaction: serves version 1');

# Wait until the primary knows the standby's oldest snapshot (feedback), so
# the deploy's old row versions are kept for it.
my $xmin = $rr->query_safe('SELECT pg_snapshot_xmin(pg_current_snapshot())');
$primary->poll_query_until($db, qq{
	SELECT count(*) = 1 FROM pg_stat_replication
	WHERE backend_xmin IS NOT NULL
	  AND age(backend_xmin) >= age(('$xmin'::bigint % 4294967296)::text::xid)})
  or die 'the standby\'s xmin never reached the primary';

$primary->safe_psql($db, q{SELECT cnnrec.deploy('m', 2)});
my $v2 = $primary->safe_psql($db, $serving);
isnt($v2, $v1, 'primary: version 2 serves different rows than version 1');
$primary->wait_for_catchup($standby);

is($session->query_safe('SELECT pg_backend_pid()'), $pid, 'standby session: still the same backend');
is($session->query_safe($serving), $v2,
	'standby session: serves version 2 from its next transaction after catch-up');
is($rr->query_safe($serving), $v1,
	'standby REPEATABLE READ transaction: still serves version 1 after the deploy replayed');
$rr->query_safe('COMMIT');
is($rr->query_safe($serving), $v2, 'standby: that session\'s next transaction serves version 2');
is($standby->safe_psql($db, $serving), $v2, 'standby: a new session serves version 2');
$session->quit;
$rr->quit;

# ---------------------------------------------------------------------------
# 3. Training and cancelling on the standby.
# ---------------------------------------------------------------------------
my $last_job = $primary->safe_psql($db, 'SELECT max(job_id) FROM cnnrec.jobs');
for my $sql ("CALL cnnrec.train('m')", "SELECT cnnrec.cancel($last_job)")
{
	my ($stderr, $secs, $timed_out) = try_sql($standby, $sql);
	ok(!$timed_out && $secs < 5, "standby: $sql returns at once") or diag "took $secs s";
	like($stderr, qr/ERROR:  25006: /, "standby: $sql fails with SQLSTATE 25006");
	like($stderr, qr/HINT:  .*primary/, "standby: $sql hints at the primary") or diag $stderr;
}
my ($stderr) = try_sql($standby, "CALL cnnrec.train('m')");
like($stderr, qr/ERROR:  25006: cannot train a model during recovery/,
	'standby: the train error says "cannot train a model during recovery"');
is($standby->safe_psql($db,
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type NOT IN
		  ('client backend', 'startup', 'walreceiver', 'checkpointer', 'background writer')}),
	'0', 'standby: no background worker runs (serving used none, train started none)');

# ---------------------------------------------------------------------------
# 4. A standby below the primary's max_worker_processes does not start.
# ---------------------------------------------------------------------------
my $small = PostgreSQL::Test::Cluster->new('small');
$small->init_from_backup($primary, 'b', has_streaming => 1);
$small->append_conf('postgresql.conf', "max_worker_processes = 1\n");
ok(!$small->start(fail_ok => 1), 'a standby with max_worker_processes = 1 < 2 does not start');
like(slurp_file($small->logfile),
	qr/max_worker_processes = 1 is a lower setting than on the primary server, where its value was 2/,
	'its log names max_worker_processes and the primary\'s value');

$standby->stop;
$primary->stop;
done_testing();
