# cnnrec in shared_preload_libraries (what README suggests so that the
# SequenceGroup planner hook is there from a session's first query), and in
# session_preload_libraries:
#  - the postmaster starts with the library loaded, and the first query of a
#    brand-new session plans GROUP BY ... sequence_agg as SequenceGroup;
#  - its rows equal those of PostgreSQL's hash aggregation (node off);
#  - spilling to disk (tiny work_mem) gives the same rows too;
#  - training in the background worker and serving work as without it;
#  - without any preloading, a new session's first query plans hash
#    aggregation (the hook is not there yet) and the second one, after a
#    cnnrec function has loaded the library, SequenceGroup.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $query = 'SELECT user_id, cnnrec.sequence_agg(item_id, ts, event) FROM public.e GROUP BY 1';
my $digest = "SELECT md5(string_agg(r::text, ';' ORDER BY r::text)) FROM ($query) r";

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'cnnrec'
max_worker_processes = 8
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION cnnrec;
	CREATE TABLE public.e AS SELECT * FROM cnnrec.generate_events(2000, 300, 30, 7);
	ANALYZE public.e;
});

like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $query"),
	qr/Custom Scan \(SequenceGroup\)/, 'preloaded: the first query of a new session plans SequenceGroup');

my $with = $node->safe_psql('postgres', $digest);
my $without = $node->safe_psql('postgres', "SET cnnrec.enable_sequence_grouping = off; $digest");
ok(length($with) == 32, 'preloaded: SequenceGroup returned rows');
is($with, $without, 'preloaded: the same rows as hash aggregation');

my $spill_plan = $node->safe_psql('postgres',
	"SET work_mem = '64kB'; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $query");
like($spill_plan, qr/Spills: [1-9]/, 'preloaded, work_mem 64kB: the node spills');
is($node->safe_psql('postgres', "SET work_mem = '64kB'; $digest"), $with,
	'preloaded, work_mem 64kB: the same rows after spilling');

$node->safe_psql('postgres', q{
	SELECT cnnrec.create_model('m', 'public.e', 'user_id', 'item_id', 'ts', 'event',
							   '{"preset": "caser", "epochs": 2}');
	CALL cnnrec.train('m');
});
is($node->safe_psql('postgres', q{SELECT status FROM cnnrec.jobs ORDER BY job_id DESC LIMIT 1}),
	'succeeded', 'preloaded: training in the background worker succeeds');
is($node->safe_psql('postgres', q{SELECT count(*) FROM recommend(1, 5)}), '5',
	'preloaded: recommend() serves the trained model');

# session_preload_libraries instead: the same from the first query.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = ''
session_preload_libraries = 'cnnrec'
});
$node->restart;
like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $query"),
	qr/Custom Scan \(SequenceGroup\)/, 'session_preload_libraries: the first query plans SequenceGroup');

# No preloading: the library arrives with the first cnnrec function call.
$node->append_conf('postgresql.conf', qq{
session_preload_libraries = ''
});
$node->restart;
my $plans = $node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $query; SELECT cnnrec.seq_length(NULL); EXPLAIN (COSTS OFF) $query");
my @tops = grep { /^(HashAggregate|GroupAggregate|Custom Scan)/ } split /\n/, $plans;
is_deeply(\@tops, ['HashAggregate', 'Custom Scan (SequenceGroup)'],
	'not preloaded: hash aggregation first, SequenceGroup once a cnnrec function ran');
is($node->safe_psql('postgres', $digest), $with, 'not preloaded: the same rows');

$node->stop;
done_testing();
