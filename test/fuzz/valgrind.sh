#!/usr/bin/env bash
# test/fuzz/valgrind.sh: the pg_regress suite (sql/ and the isolation
# specs, i.e. make installcheck) against a server running under valgrind,
# then a report of the valgrind errors whose stack has a frame in cnnrec.so
# or cnnrec_train.so.
#
# What it proves: the extension's SQL surface, exercised by the regression
# tests (sequence I/O, aggregates, training in the background worker,
# serving, evaluation), makes no invalid read or write, no use of freed
# memory and no decision on uninitialised bytes in cnnrec code, as far as
# valgrind can see in an uninstrumented server (Debian's postgres is not
# built with USE_VALGRIND, so palloc'd chunks are not tracked individually:
# overruns inside a memory-context block stay invisible; malloc'd memory,
# e.g. the math core's and the model cache's, is fully checked).
#
# OpenBLAS is pinned to its AVX2 kernels (valgrind has no AVX-512), and
# JIT is off (loading LLVM under valgrind takes minutes and trips a known
# false positive in ld.so).
#
# How: pg_ctl -p starts a wrapper that execs
#   valgrind --trace-children=yes --suppressions=test/fuzz/valgrind.supp \
#            --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
#            --log-file=$OUT/vg.%p.log postgres ...
# so the postmaster and every backend and background worker it forks run
# under memcheck; then make installcheck runs as usual (slowly), the
# cluster stops, and the logs are split into error blocks.  Pass/fail of
# the regression tests is reported but is not the point (timing under
# valgrind is different); the exit status is non-zero only if an error
# block names cnnrec.
#
# Usage: test/fuzz/valgrind.sh     (SKIP_BUILD=1 to use what is installed;
#        logs stay in $VALGRIND_OUT, default /tmp/cnnrec-valgrind)
# Needs: apt-get install valgrind
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$CNNREC_ROOT" || exit 2

OUT=${VALGRIND_OUT:-/tmp/cnnrec-valgrind}
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 777 "$OUT"

command -v valgrind >/dev/null || cnnrec_deps valgrind
[ -n "${SKIP_BUILD:-}" ] || cnnrec_build || exit 1

# The wrapper pg_ctl starts instead of postgres (same pid: exec).
WRAP=$OUT/postgres-valgrind
cat >"$WRAP" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes --num-callers=40 \\
	--leak-check=no --read-var-info=no \\
	--suppressions=$CNNREC_ROOT/test/fuzz/valgrind.supp \\
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \\
	--log-file=$OUT/vg.%p.log \\
	$PG_BINDIR/postgres "\$@"
EOF
chmod 755 "$WRAP"

# A throwaway cluster as in test/lib.sh's cluster_start, under valgrind.
CLUSTER_DIR=$(mktemp -d /tmp/cnnrec-cluster.XXXXXX)
chmod 755 "$CLUSTER_DIR"
if [ "$(id -u)" = 0 ]; then chown postgres: "$CLUSTER_DIR"; fi
export PGHOST=$CLUSTER_DIR PGPORT=${CNNREC_PORT:-54329} PGUSER=postgres PGDATABASE=postgres
trap cluster_stop EXIT
as_pg "$PG_BINDIR/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres --no-sync -E UTF8 \
	--locale=C >"$CLUSTER_DIR/initdb.log" 2>&1 || { cat "$CLUSTER_DIR/initdb.log"; exit 1; }
say "starting the server under valgrind (logs in $OUT)"
as_pg env OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -p "$WRAP" \
	-l "$OUT/server.log" -w -t 600 \
	-o "-k $CLUSTER_DIR -c listen_addresses= -p $PGPORT -c fsync=off -c jit=off -c max_parallel_workers_per_gather=0" \
	start >/dev/null || { cat "$OUT/server.log"; exit 1; }

say "make installcheck under valgrind"
t0=$(date +%s)
make -s PG_CONFIG="$PG_CONFIG" installcheck >"$OUT/installcheck.log" 2>&1
irc=$?
t1=$(date +%s)
[ -f regression.diffs ] && cp regression.diffs "$OUT/"
as_pg "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -t 600 stop >/dev/null 2>&1
rm -rf "$CLUSTER_DIR"
CLUSTER_DIR=

# Split every log into error blocks; keep those naming a cnnrec library.
awk -v dir="$OUT" '
	/VALGRINDERROR-BEGIN/ { inblk = 1; blk = ""; next }
	/VALGRINDERROR-END/ {
		inblk = 0; total++
		if (blk ~ /cnnrec(_train)?\.so/) { ours++; print blk "\n----" > (dir "/cnnrec-errors.txt") }
		else print blk "\n----" > (dir "/other-errors.txt")
		next }
	inblk { blk = blk $0 "\n" }
	END { printf "%d\t%d\n", total, ours }' "$OUT"/vg.*.log >"$OUT/counts"
read -r total ours <"$OUT/counts"
procs=$(ls "$OUT"/vg.*.log | wc -l)
pass=$(grep -cE '^(test| ) .* \.\.\. ok' "$OUT/installcheck.log")
fail=$(grep -cE '^(test| ) .* \.\.\. FAILED' "$OUT/installcheck.log")
echo "valgrind: installcheck in $((t1 - t0)) s (exit $irc, $pass ok, $fail failed), $procs processes traced,"
echo "valgrind: $total error blocks, ${ours:-0} with a frame in cnnrec.so or cnnrec_train.so"
[ "${ours:-0}" = 0 ] || { say "errors in cnnrec code: $OUT/cnnrec-errors.txt"; exit 1; }
