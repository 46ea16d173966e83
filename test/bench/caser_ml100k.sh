#!/usr/bin/env bash
# test/bench/caser_ml100k.sh: the math core outside PostgreSQL, through
# src/tools/cnnrec-train, on the MovieLens sets in ../shared/data.
#
# Runs, each with the same protocol (model-spec §6: iterated 5-core, the
# chronological leave-last-out split, full ranking with the history
# excluded, early stopping on validation NDCG@10 evaluated every epoch,
# 2 threads, seed 1234; caser at most 30 epochs with patience 6, tacaser
# its preset's schedule):
#   1. caser   on ml-100k          the issue's Caser reference settings: d 50,
#                                  L 5, T 3, nh 16, nv 4, dropout 0.5, Adam
#                                  lr 1e-3, L2 1e-6, batch 512, bce_per_target
#                                  with 3 negatives per target (9 per instance)
#   2. tacaser on ml-100k          preset defaults (full softmax, M 50, ...)
#   3. caser   on ml-latest-small  as 1.
#   4. tacaser on ml-latest-small  as 2.
# and prints each run's JSON line, then the figures next to their targets:
# caser test HR@10 >= 0.18 and >= 100,000 training instances/s with 2
# threads on ml-100k; tacaser NDCG@10 above caser's on both sets.  Targets
# are reported, never enforced: the script exits non-zero only on an error.
# Epoch lines go to stderr, figures to stdout.
#
# Needs no PostgreSQL: run it directly (test/bench/caser_ml100k.sh) or via
# test/bench/run.sh caser_ml100k.  It builds the tool if needed.
#
# Knobs (environment):
#   CNNREC_BENCH_DATA     dataset directory     (default: <repo>/../shared/data)
#   CNNREC_BENCH_THREADS  training threads      (default 2)
#   CNNREC_BENCH_EPOCHS   caser's maximum epochs (default 30)
#   CNNREC_BENCH_RUNS     which runs, e.g. "1 2" (default "1 2 3 4")
# Throughput depends on the machine being otherwise idle; the load average
# at the start is printed with the figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA=${CNNREC_BENCH_DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] && DATA=$(cd "$DATA" && pwd)
THREADS=${CNNREC_BENCH_THREADS:-2}
EPOCHS=${CNNREC_BENCH_EPOCHS:-30}
RUNS=${CNNREC_BENCH_RUNS:-1 2 3 4}
TOOL=$ROOT/src/tools/cnnrec-train

ML100K=$DATA/ml-100k/u.data
MLSMALL=$DATA/ml-latest-small/ratings.csv
for f in "$ML100K" "$MLSMALL"; do
	[ -r "$f" ] || { echo "caser_ml100k.sh: cannot read $f (set CNNREC_BENCH_DATA)" >&2; exit 1; }
done

make -C "$ROOT" -s src/tools/cnnrec-train >&2

PROTOCOL=(--kcore 5 --exclude-seen on --threads "$THREADS" --seed 1234)
CASER=(--preset caser --d 50 --l 5 --t 3 --nh 16 --nv 4 --dropout 0.5 --lr 1e-3 --l2 1e-6
	--batch 512 --loss bce_per_target --negatives 3 --epochs "$EPOCHS" --eval-every 1 --patience 6)
TACASER=(--preset tacaser)	# its own schedule: every epoch, patience 10, at most 100

# jget JSON PATH: a number from our own flat JSON ("test.hr10", "inst_per_sec").
jget() {
	perl -e '
		my ($j, $p) = @ARGV;
		my ($obj, $key) = $p =~ /^(?:(\w+)\.)?(\w+)$/;
		if (defined $obj) { $j =~ /"\Q$obj\E": \{([^}]*)\}/ or exit 1; $j = $1; }
		$j =~ /"\Q$key\E": (-?[0-9.eE+-]+)/ or exit 1;
		print $1;' "$1" "$2"
}

declare -A JSON
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

run() {
	local n=$1 label=$2 data=$3 fmt=$4
	shift 4
	echo "== run $n: $label" >&2
	echo "   $TOOL --data $data --format $fmt $*" >&2
	local out
	out=$("$TOOL" --data "$data" --format "$fmt" "$@" | tee /dev/stderr | tail -n 1)
	case $out in
		'{'*) JSON[$n]=$out ;;
		*) echo "caser_ml100k.sh: run $n printed no JSON" >&2; exit 1 ;;
	esac
	echo "$label: $out"
}

for n in $RUNS; do
	case $n in
		1) run 1 "caser ml-100k" "$ML100K" udata "${CASER[@]}" "${PROTOCOL[@]}" ;;
		2) run 2 "tacaser ml-100k" "$ML100K" udata "${TACASER[@]}" "${PROTOCOL[@]}" ;;
		3) run 3 "caser ml-latest-small" "$MLSMALL" mlcsv "${CASER[@]}" "${PROTOCOL[@]}" ;;
		4) run 4 "tacaser ml-latest-small" "$MLSMALL" mlcsv "${TACASER[@]}" "${PROTOCOL[@]}" ;;
		*) echo "caser_ml100k.sh: unknown run $n (1..4)" >&2; exit 1 ;;
	esac
done

verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
	ok = (op == ">=") ? (a + 0 >= b + 0) : (a + 0 > b + 0);
	print ok ? "met" : "NOT met" }'; }

echo
echo "figures ($THREADS threads; load average at start $LOAD, at end $(cut -d" " -f1-3 /proc/loadavg); full ranking, history excluded):"
printf '  %-26s %8s %8s %8s %10s %6s %6s\n' run "HR@10" "NDCG@10" MRR "inst/s" epochs best
for n in $RUNS; do
	j=${JSON[$n]}
	case $n in 1) l="caser ml-100k" ;; 2) l="tacaser ml-100k" ;; 3) l="caser ml-latest-small" ;; 4) l="tacaser ml-latest-small" ;; esac
	printf '  %-26s %8s %8s %8s %10s %6s %6s\n' "$l" "$(jget "$j" test.hr10)" "$(jget "$j" test.ndcg10)" \
		"$(jget "$j" test.mrr)" "$(jget "$j" inst_per_sec)" "$(jget "$j" epochs)" "$(jget "$j" best_epoch)"
done
echo
echo "targets:"
if [ -n "${JSON[1]:-}" ]; then
	hr=$(jget "${JSON[1]}" test.hr10)
	ips=$(jget "${JSON[1]}" inst_per_sec)
	echo "  caser ml-100k test HR@10 $hr >= 0.18: $(verdict "$hr" ">=" 0.18)"
	echo "  caser ml-100k $ips inst/s >= 100000 with $THREADS threads: $(verdict "$ips" ">=" 100000)"
fi
if [ -n "${JSON[1]:-}" ] && [ -n "${JSON[2]:-}" ]; then
	a=$(jget "${JSON[2]}" test.ndcg10)
	b=$(jget "${JSON[1]}" test.ndcg10)
	echo "  ml-100k tacaser NDCG@10 $a > caser $b: $(verdict "$a" ">" "$b")"
fi
if [ -n "${JSON[3]:-}" ] && [ -n "${JSON[4]:-}" ]; then
	a=$(jget "${JSON[4]}" test.ndcg10)
	b=$(jget "${JSON[3]}" test.ndcg10)
	echo "  ml-latest-small tacaser NDCG@10 $a > caser $b: $(verdict "$a" ">" "$b")"
fi
