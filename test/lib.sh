# test/lib.sh: shell helpers shared by the test runner, the demo and the
# benchmarks.  Source it; do not run it.
#
#   cnnrec_deps          install the Debian packages that are missing
#   cnnrec_build         build and install the extension (make, make install)
#   cluster_start        initdb + start a throwaway PostgreSQL 15 cluster in a
#                        temp dir, on a private unix socket (no TCP), as the
#                        postgres OS user when run as root; exports PGHOST,
#                        PGPORT, PGUSER and registers cluster_stop on EXIT
#   cluster_stop         stop it and remove the temp dir (idempotent)
#   as_pg CMD...         run CMD as the cluster's OS user
#
# PostgreSQL refuses to run as root, so as root the cluster, initdb and the
# Perl TAP tests run as the postgres OS user (runuser); psql, pg_regress and
# pg_prove connect from root through the socket with PGUSER=postgres.

PG_MAJOR=15
# CNNREC_PG_BINDIR points at a relocated copy of the server (a copy of
# /usr/lib/postgresql/15, /usr/share/postgresql/15 and /usr/include/postgresql
# under one prefix), so that parallel work trees can each install their own
# build without overwriting the system's cnnrec.so.
PG_BINDIR=${CNNREC_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_CONFIG=$PG_BINDIR/pg_config
PGXS_DIR=$(dirname "$PG_BINDIR")/lib/pgxs
CNNREC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages the build, the tests and the demo need.
CNNREC_PACKAGES="gcc make libc6-dev postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
	libopenblas-dev postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl"

# Print a progress line.
say() { printf '==> %s\n' "$*" >&2; }

# Run a command with root privileges (directly when already root).
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the OS user that owns the cluster.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Install whichever of the needed packages (plus any extra arguments) are missing.
cnnrec_deps() {
	local missing="" p
	for p in $CNNREC_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing missing packages:$missing"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		# shellcheck disable=SC2086
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			$missing >&2
	fi
}

# Build everything (extension, unit tests) and install the extension.
cnnrec_build() {
	say "building cnnrec"
	make -C "$CNNREC_ROOT" -s -j2 PG_CONFIG="$PG_CONFIG" all unit >&2
	as_root make -C "$CNNREC_ROOT" -s PG_CONFIG="$PG_CONFIG" install >&2
}

# OpenBLAS kernel family for this CPU.  On virtual CPUs that report a
# generic model, OpenBLAS falls back to its old SSE3 kernels, several times
# slower; OPENBLAS_CORETYPE in the server's environment fixes that for the
# training worker.  Empty when the CPU has neither AVX-512 nor AVX2.
openblas_coretype() {
	if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo SkylakeX
	elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then echo Haswell
	fi
}

# Start a throwaway cluster; extra arguments are passed as server options.
cluster_start() {
	CLUSTER_DIR=$(mktemp -d /tmp/cnnrec-cluster.XXXXXX)
	chmod 755 "$CLUSTER_DIR"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$CLUSTER_DIR"; fi
	export PGHOST=$CLUSTER_DIR PGPORT=${CNNREC_PORT:-54329} PGUSER=postgres
	export PGDATABASE=postgres
	trap cluster_stop EXIT
	say "starting a throwaway PostgreSQL $PG_MAJOR cluster in $CLUSTER_DIR"
	as_pg "$PG_BINDIR/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres \
		--no-sync -E UTF8 --locale=C >"$CLUSTER_DIR/initdb.log" 2>&1 ||
		{ cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }
	local coretype=${OPENBLAS_CORETYPE:-$(openblas_coretype)}
	as_pg env ${coretype:+OPENBLAS_CORETYPE=$coretype} \
		"$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
		-o "-k $CLUSTER_DIR -c listen_addresses= -p $PGPORT -c fsync=off $*" start >/dev/null ||
		{ cat "$CLUSTER_DIR/server.log" >&2; return 1; }
}

# Stop the throwaway cluster and remove its directory.
cluster_stop() {
	if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ]; then
		as_pg "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -t 60 stop >/dev/null 2>&1 ||
			as_pg "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$CLUSTER_DIR"
	fi
	CLUSTER_DIR=
}
