# pgbench: 8 clients call recommend() while versions are trained and deployed.
#
# What it proves:
#  - zero errors: pgbench exits 0 with no failed or aborted transaction;
#  - no transaction sees two versions: each pgbench transaction serves a probe
#    user (whose history never changes) twice, around a recommend() of a random
#    user and a short sleep, in separate statements (so with separate READ
#    COMMITTED snapshots), and raises an error if the two top-5 lists (items
#    and scores, the version's fingerprint) differ;
#  - every session serves the new version from its next transaction on: each
#    transaction logs its start time, its end time and the fingerprint it
#    served.  The driver switches versions five times (two trainings whose
#    worker activates the new version, three deploys), recording the time
#    just before each switch and the time after it committed, and the
#    fingerprint the switch made active.  A transaction that started after a
#    switch committed must serve that switch's version, or that of a later
#    switch begun before the transaction ended; never an older one.  After
#    each switch the driver waits until all 8 sessions (persistent backends,
#    each with the old version cached) have served a transaction started
#    after it, so the check covers every session and every switch.
# The versions' fingerprints are checked to be distinct, so a stale version
# cannot pass for a new one.  Load is rate-limited (-R) to keep the test lean
# on 2 cores; everything waits by polling with generous timeouts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('pgbench_serving');
$node->init;
$node->start;
my $db = 'postgres';

$node->safe_psql($db, q{
	SET client_min_messages = warning;
	CREATE EXTENSION cnnrec;
	CREATE TABLE pb_events AS
		SELECT user_id, item_id, event, extract(epoch FROM ts)::bigint AS t
		FROM cnnrec.generate_events(200, 40, 15, 4);
	CREATE INDEX ON pb_events (user_id, t);
	SELECT cnnrec.create_model('pb', 'pb_events', 'user_id', 'item_id', 't', 'event',
							   '{"d": 8, "epochs": 2, "threads": 1}');
	CALL cnnrec.train('pb');
	CREATE TABLE pb_log (pid int, started timestamptz, ended timestamptz, fp text);
	-- The served version's fingerprint: the probe user's top 5 with scores.
	CREATE FUNCTION pb_fp() RETURNS text LANGUAGE sql AS $$
		SELECT string_agg(item_id || ':' || score, ' ' ORDER BY rank) FROM recommend(1, 5, 'pb')
	$$;
	-- One pgbench transaction: probe, serve a random user, wait, probe again.
	CREATE FUNCTION pb_txn(uid int) RETURNS void LANGUAGE plpgsql AS $$
	DECLARE
		a text := pb_fp();
		b text;
	BEGIN
		PERFORM count(*) FROM recommend(uid, 10, 'pb');
		PERFORM pg_sleep(0.005);
		b := pb_fp();
		IF a IS DISTINCT FROM b THEN
			RAISE EXCEPTION 'one transaction served two versions: "%" then "%"', a, b;
		END IF;
		INSERT INTO pb_log VALUES (pg_backend_pid(), transaction_timestamp(), clock_timestamp(), a);
	END $$;
	-- The version switches: start, commit (observed) and what they activated.
	CREATE TABLE pb_switch (i int PRIMARY KEY, what text, t_start timestamptz, t_done timestamptz, fp text);
	INSERT INTO pb_switch VALUES (0, 'train v1', '-infinity', '-infinity', pb_fp());
});

my $script = $node->basedir . '/serve.sql';
open(my $fh, '>', $script) or die "cannot write $script: $!";
print $fh "\\set uid random(1, 200)\nSELECT pb_txn(:uid);\n";
close($fh);

my $clients = 8;
my $duration = 30;
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', $clients, '-j', 2, '-T', $duration, '-R', 100,
		'-f', $script, '-h', $node->host, '-p', $node->port, $db
	],
	'>', \$out, '2>', \$err);

# Wait until every session served a transaction started after $since.
sub all_sessions_after
{
	my ($since, $fp) = @_;
	return $node->poll_query_until($db, qq{
		SELECT count(DISTINCT pid) >= $clients FROM pb_log
		WHERE started > '$since'::timestamptz AND fp = '$fp'});
}

ok(all_sessions_after('-infinity', $node->safe_psql($db, 'SELECT fp FROM pb_switch WHERE i = 0')),
	"all $clients pgbench sessions serve version 1");

my @switches = (
	[ 'train v2', q{CALL cnnrec.train('pb', '{"seed": 2, "deploy": "always"}')} ],
	[ 'deploy v1', q{SELECT cnnrec.deploy('pb', 1)} ],
	[ 'train v3', q{CALL cnnrec.train('pb', '{"seed": 3, "deploy": "always"}')} ],
	[ 'deploy v2', q{SELECT cnnrec.deploy('pb', 2)} ],
	[ 'deploy v3', q{SELECT cnnrec.deploy('pb', 3)} ]);
my $i = 0;
foreach my $s (@switches)
{
	my ($what, $sql) = @$s;
	$i++;
	my $t_start = $node->safe_psql($db, 'SELECT clock_timestamp()');
	$node->safe_psql($db, "SET client_min_messages = warning; $sql");
	my $t_done = $node->safe_psql($db, 'SELECT clock_timestamp()');
	my $fp = $node->safe_psql($db, 'SELECT pb_fp()');
	$node->safe_psql($db, qq{INSERT INTO pb_switch VALUES ($i, '$what', '$t_start', '$t_done', '$fp')});
	ok(all_sessions_after($t_done, $fp), "after $what every session serves the new version");
}

my $finished = eval { $bench->finish; 1 };
my $rc = $bench->result;
ok($finished && defined $rc && $rc == 0, 'pgbench exits 0') or diag("stdout:\n$out\nstderr:\n$err");
like($out, qr/number of failed transactions: 0 \(/, 'pgbench: no failed transaction');
unlike($err, qr/aborted|ERROR/, 'pgbench: no client aborted, no error');
my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
note("pgbench summary:\n$out");
cmp_ok($processed // 0, '>=', 500, 'pgbench processed at least 500 transactions')
  or diag($out);

is($node->safe_psql($db, q{SELECT count(*) = count(DISTINCT fp) FROM pb_switch WHERE what LIKE 'train%'}),
	't', 'the three versions have distinct fingerprints');
is($node->safe_psql($db, q{
	SELECT string_agg(what, ',' ORDER BY i) FROM pb_switch s
	WHERE fp IS DISTINCT FROM (SELECT fp FROM pb_switch t
		WHERE t.what = 'train v' || right(s.what, 1))}),
	'', 'each deploy served exactly the fingerprint of the version it deployed');
is($node->safe_psql($db, 'SELECT count(*) FROM pb_log WHERE fp NOT IN (SELECT fp FROM pb_switch)'),
	'0', 'every transaction served one of the trained versions');
is($node->safe_psql($db, q{
	SELECT count(*) FROM pb_log l
	WHERE l.fp NOT IN (
		SELECT s.fp FROM pb_switch s
		WHERE s.i = (SELECT max(e.i) FROM pb_switch e WHERE e.t_done < l.started)
		   OR (s.i > (SELECT max(e.i) FROM pb_switch e WHERE e.t_done < l.started)
			   AND s.t_start < l.ended))}),
	'0', 'no transaction served a version older than the one active when it started');
cmp_ok($node->safe_psql($db, 'SELECT count(*) FROM pb_log'), '>=', 500,
	'at least 500 checked transactions were logged');

done_testing();
