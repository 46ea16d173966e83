#!/usr/bin/env bash
# test/bench/run.sh NAME: run benchmark test/bench/NAME.sh on a throwaway
# cluster (packages installed, extension built and installed first).
# Benchmarks print figures; they are never part of the pass/fail suite.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
name=${1:?usage: test/bench/run.sh NAME   (one of: $(cd "$(dirname "$0")" && ls *.sh | grep -v '^run.sh$' | sed 's/\.sh$//' | tr '\n' ' '))}
shift
cnnrec_deps
cnnrec_build
cluster_start -c shared_buffers=1GB -c work_mem=256MB -c max_worker_processes=8 \
	-c max_parallel_workers=4 -c max_parallel_workers_per_gather=2
psql -X -q -d postgres -c 'CREATE DATABASE bench'
export PGDATABASE=bench
psql -X -q -c 'CREATE EXTENSION cnnrec'
"$CNNREC_ROOT/test/bench/$name.sh" "$@"
