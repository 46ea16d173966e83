#!/usr/bin/env bash
# test/run-tests.sh: the whole cnnrec test suite, from a fresh Debian 12 machine.
#
# Installs missing packages, builds and installs the extension, starts a
# throwaway PostgreSQL 15 cluster, and runs every test layer:
#
#   unit      C unit tests of the math core (test/unit/test_*.c, TAP, prove)
#   regress   pg_regress: sql/*.sql against expected/*.out (make installcheck)
#   pgtap     pgTAP behaviour tests (test/pgtap/*.sql, pg_prove)
#   tap       Perl TAP tests with PostgreSQL::Test::Cluster (test/t/*.pl,
#             prove, as the postgres OS user; they start their own clusters)
#
# The cluster is stopped even on failure.  The last line is
# "N passed, N failed" (unit/pgTAP/Perl TAP count assertions, pg_regress
# counts test files); the exit status is non-zero on any failure.
#
# Usage: test/run-tests.sh [layer ...]     (default: all layers)

set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$CNNREC_ROOT" || exit 2

PASSED=0
FAILED=0
LAYERS=${*:-unit regress pgtap tap}

# Add a layer's counts; a layer that failed without a counted failure
# (crash, bad plan, build error) counts as one failure.
tally() {
	local name=$1 rc=$2 pass=$3 fail=$4
	if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
	PASSED=$((PASSED + pass))
	FAILED=$((FAILED + fail))
	say "$name: $pass passed, $fail failed"
}

# Count top-level TAP results in a prove/pg_prove verbose log.
tap_counts() {
	local log=$1
	TAP_PASS=$(grep -cE '^ok [0-9]+' "$log")
	TAP_FAIL=$(grep -cE '^not ok [0-9]+' "$log")
}

# C unit tests: each binary prints TAP.
run_unit() {
	local log=$WORK/unit.log bins
	bins=$(ls test/unit/test_* 2>/dev/null | grep -v '\.c$')
	if [ -z "$bins" ]; then say "unit: no tests"; return; fi
	say "unit: C unit tests of src/nn"
	# shellcheck disable=SC2086
	prove -v $bins 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	tap_counts "$log"
	tally unit "$rc" "$TAP_PASS" "$TAP_FAIL"
}

# pg_regress through PGXS, as root, against the throwaway cluster.
run_regress() {
	local log=$WORK/regress.log
	say "regress: pg_regress (sql/ vs expected/)"
	make -s PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local pass fail
	pass=$(grep -cE '^(test| ) .* \.\.\. ok' "$log")
	fail=$(grep -cE '^(test| ) .* \.\.\. FAILED' "$log")
	if [ "$rc" != 0 ] && [ -f regression.diffs ]; then
		say "regression.diffs:"
		cat regression.diffs
	fi
	tally regress "$rc" "$pass" "$fail"
}

# pgTAP files run by pg_prove in a database with pgtap and cnnrec.
run_pgtap() {
	local log=$WORK/pgtap.log
	say "pgtap: pg_prove test/pgtap/*.sql"
	psql -q -X -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE cnnrec_tap' &&
		psql -q -X -v ON_ERROR_STOP=1 -d cnnrec_tap \
			-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION cnnrec' || {
		tally pgtap 1 0 1
		return
	}
	pg_prove -v -d cnnrec_tap test/pgtap/*.sql 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	tap_counts "$log"
	tally pgtap "$rc" "$TAP_PASS" "$TAP_FAIL"
}

# Perl TAP tests, as the postgres OS user, from a copy it owns.
run_tap() {
	local log=$WORK/tap.log dir=$WORK/tap
	say "tap: prove test/t/*.pl (PostgreSQL::Test::Cluster)"
	mkdir -p "$dir"
	cp -r test/t "$dir/"
	if [ "$(id -u)" = 0 ]; then chown -R postgres: "$WORK"; fi
	(cd "$dir" && as_pg env PATH="$PG_BINDIR:$PATH" \
		PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
		PGHOST= PGPORT= PGUSER= PGDATABASE= \
		prove -v -I "$PGXS_DIR/src/test/perl" t/*.pl) 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	tap_counts "$log"
	tally tap "$rc" "$TAP_PASS" "$TAP_FAIL"
}

main() {
	cnnrec_deps || { echo "0 passed, 1 failed"; exit 1; }
	if ! cnnrec_build; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	WORK=$(mktemp -d /tmp/cnnrec-tests.XXXXXX)
	chmod 755 "$WORK"
	cluster_start || { echo "0 passed, 1 failed"; exit 1; }
	trap 'cluster_stop; rm -rf "$WORK"' EXIT
	local layer
	for layer in $LAYERS; do
		case $layer in
			unit) run_unit ;;
			regress) run_regress ;;
			pgtap) run_pgtap ;;
			tap) run_tap ;;
			*) say "unknown layer $layer"; FAILED=$((FAILED + 1)) ;;
		esac
	done
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}

main
