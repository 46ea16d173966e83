#!/usr/bin/env bash
# test/fuzz/run.sh: build and run the libFuzzer harnesses of cnnrec's two
# parsers of untrusted bytes, one after the other, with ASan and UBSan.
#
#   fuzz_blob   the model blob reader, src/nn/blob.c (plain C, linked with
#               src/nn/*.c); seeds: blobs written by src/tools/cnnrec-train
#               from slices of ../shared/data (integer events, text events
#               with Adam state, the caser preset), each with both mode bytes
#   fuzz_seq    the cnnrec.seq text input, src/seq.c + src/seq_agg.c
#               compiled unchanged against the server headers, with the few
#               backend functions they call supplied by seq_stubs.c; seeds:
#               literals of every time and event kind
#
# Usage: test/fuzz/run.sh [seconds-per-harness] [harness ...]
#        (default 600 seconds, both harnesses).  Work files (binaries,
#        corpora, crash files, logs) go to $FUZZ_WORK (default
#        /tmp/cnnrec-fuzz); a crash leaves crash-* there and the script
#        exits non-zero.  The summary prints each harness's executions,
#        coverage (edges) and features.
#
# Needs clang with libFuzzer (Debian 12: apt-get install clang, clang-14
# ships -fsanitize=fuzzer) and, for the seeds, src/tools/cnnrec-train (make).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-600}
shift || true
HARNESSES=${*:-blob seq}
WORK=${FUZZ_WORK:-/tmp/cnnrec-fuzz}
CC=${FUZZ_CC:-clang}
PG_CONFIG=${PG_CONFIG:-${CNNREC_PG_BINDIR:-/usr/lib/postgresql/15/bin}/pg_config}
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-O1 -g -std=gnu99 $SAN -I$ROOT/src"
DATA=$ROOT/../shared/data

mkdir -p "$WORK"

say() { printf '==> %s\n' "$*" >&2; }

# Build the blob harness: the harness plus the whole math core.
build_blob() {
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$WORK/fuzz_blob" "$ROOT/test/fuzz/fuzz_blob.c" "$ROOT"/src/nn/*.c -lm -lpthread
}

# Build the seq harness: seq.c and seq_agg.c as they are, plus stubs.
build_seq() {
	local inc
	inc=$("$PG_CONFIG" --includedir-server)
	# shellcheck disable=SC2086
	$CC $CFLAGS -I"$inc" -Wno-ignored-attributes -o "$WORK/fuzz_seq" \
		"$ROOT/test/fuzz/fuzz_seq.c" "$ROOT/test/fuzz/seq_stubs.c" "$ROOT/test/fuzz/seq_unreached.c" \
		"$ROOT/src/seq.c" "$ROOT/src/seq_agg.c"
}

# Seed blobs from the CLI trainer, each with mode byte 0 (as is) and 1 (fix CRC).
seed_blob() {
	local dir=$WORK/seed_blob tmp=$WORK/seed_tmp t=$ROOT/src/tools/cnnrec-train
	local small="--kcore 0 --d 2 --l 2 --nh 1 --nv 1 --epochs 1 --quiet"
	[ -x "$t" ] || make -s -C "$ROOT" src/tools/cnnrec-train >&2
	rm -rf "$dir" "$tmp"
	mkdir -p "$dir" "$tmp"
	head -60 "$DATA/ml-100k/u.data" >"$tmp/u.data"
	head -80 "$DATA/taobao-userbehavior-head/UserBehavior.csv" >"$tmp/tb.csv"
	# shellcheck disable=SC2086
	{
		"$t" --data "$tmp/u.data" --format udata $small --m 3 --n-g 4 --save "$tmp/udata.blob"
		"$t" --data "$tmp/tb.csv" --format taobao $small --m 3 --save-adam on --save "$tmp/taobao_adam.blob"
		"$t" --data "$tmp/u.data" --format udata --preset caser $small --m 2 --save "$tmp/caser.blob"
	} >/dev/null
	local f
	for f in "$tmp"/*.blob; do
		{ printf '\000'; cat "$f"; } >"$dir/$(basename "$f" .blob)_0"
		{ printf '\001'; cat "$f"; } >"$dir/$(basename "$f" .blob)_1"
	done
}

# Seed literals of cnnrec.seq: every time kind, both event kinds, NULLs,
# escapes, unsorted entries, infinities, whitespace.  Quoted times use the
# stand-in syntax of seq_stubs.c (the stored number, or +-infinity).
seed_seq() {
	local dir=$WORK/seed_seq i=0 s
	rm -rf "$dir"
	mkdir -p "$dir"
	for s in \
		'integer:[]' \
		'integer:[(42,1),(7,2)]' \
		'integer,integer:[(3,5,-1),(1,5,NULL),(2,4,7)]' \
		'integer,text:[(42,1700000000,"view"),(7,1700000060,"cart"),(7,1700000060,NULL)]' \
		'timestamptz,text:[(42,"2024-01-01 10:00:00+00","view")]' \
		'timestamptz,text:[(42,"100","view"),(7,"-5",NULL),(7,"-5","view")]' \
		'timestamp:[(1,"0"),(2,"infinity"),(3,"-infinity")]' \
		'date,integer:[(42,"17",3),(1,"infinity",-2147483647)]' \
		' Integer , Text : [ ( -9223372036854775808 , +9223372036854775807 , "a\"b\\c" ) ] ' \
		'integer,text:[(1,1,"x"),(1,1,"y"),(1,1,"x"),(2,0,"")]'; do
		printf '%s' "$s" >"$dir/seed$i"
		i=$((i + 1))
	done
}

# Run one harness for SECS seconds on one core; keep its log.
run_one() {
	local name=$1 corpus=$WORK/corpus_$1 log=$WORK/$1.log
	mkdir -p "$corpus"
	say "fuzz_$name: $SECS s (log $log)"
	(cd "$WORK" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"./fuzz_$name" -max_total_time="$SECS" -print_final_stats=1 \
		-max_len="${2:-16384}" -timeout=10 -rss_limit_mb=2048 \
		"$corpus" "$WORK/seed_$name") >"$log" 2>&1
}

# One line of figures from a harness log.
summary() {
	local name=$1 log=$WORK/$1.log
	local execs cov ft corp
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1)
	corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
	echo "fuzz_$name: ${execs:-?} executions in $SECS s, $cov edges, $ft features, $corp"
}

rc=0
for h in $HARNESSES; do
	say "building fuzz_$h"
	"build_$h"
	"seed_$h"
	if [ "$h" = seq ]; then max=4096; else max=16384; fi
	if run_one "$h" "$max"; then
		summary "$h"
	else
		summary "$h"
		say "fuzz_$h FAILED; see $WORK/$h.log and $WORK/crash-*"
		tail -40 "$WORK/$h.log" >&2
		rc=1
	fi
done
exit $rc
