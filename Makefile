# cnnrec: PGXS build.
#
#   make                 build cnnrec.so (serving + aggregates, no BLAS) and the unit tests
#   make install         install the extension into the PostgreSQL found by PG_CONFIG
#   make installcheck    pg_regress: sql/*.sql against expected/*.out (needs a running server)
#   make unit            build the C unit tests of the math core (test/unit/test_*.c)
#
# The whole test suite (every layer, on a throwaway cluster) is test/run-tests.sh.

EXTENSION = cnnrec
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

# The install script is assembled from the ordered parts in src/sql/.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql

# cnnrec.so: PostgreSQL glue (src/*.c) plus the math core (src/nn/*.c) built
# without BLAS (src/nn/blas.c falls back to plain loops unless CNNREC_OPENBLAS
# is defined, which only the training worker's library and the tools do).
NN_SRCS = $(sort $(wildcard src/nn/*.c))
PG_SRCS = $(sort $(wildcard src/*.c))
MODULE_big = $(EXTENSION)
OBJS = $(PG_SRCS:.c=.o) $(NN_SRCS:.c=.o)

# pg_regress: every sql/*.sql is a test, run in name order.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# Isolation tests (pg_isolation_regress): test/isolation/specs/*.spec with
# expected output in test/isolation/expected/.
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

# Hidden visibility: only symbols marked PGDLLEXPORT (SQL functions, module
# magic, _PG_init) are exported, so two cnnrec libraries loaded into one
# process never resolve each other's internals.
VISIBILITY = -fvisibility=hidden '-DPGDLLEXPORT=__attribute__((visibility("default")))'
WARNINGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
PG_CFLAGS = $(WARNINGS) $(VISIBILITY) -std=gnu99
PG_CPPFLAGS = -I$(srcdir)/src
EXTRA_CLEAN = $(UNIT_BINS) test/unit/*.o

# No LLVM bitcode: nothing here benefits from JIT inlining, and it would need clang.
override with_llvm = no

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

# ---- cnnrec_train.so: the training worker's library ---------------------
# The only library that links OpenBLAS, named only in bgw_library_name.  It
# holds the worker (src/train/), the catalog helpers it shares with
# cnnrec.so, and its own copy of the math core built with CNNREC_OPENBLAS.
# A version script exports just the module magic and the worker entry.
TRAIN_LIB = $(EXTENSION)_train$(DLSUFFIX)
TRAIN_SRCS = $(sort $(wildcard src/train/*.c)) src/catalog.c src/jobs.c src/load.c src/models.c \
	src/options.c src/seq.c src/seq_agg.c $(NN_SRCS)
TRAIN_OBJS = $(TRAIN_SRCS:.c=.train.o)
EXTRA_CLEAN += $(TRAIN_LIB) $(TRAIN_OBJS)

all: $(TRAIN_LIB)

TRAIN_GLUE_OBJS = $(filter-out src/nn/%,$(TRAIN_OBJS))
TRAIN_NN_OBJS = $(filter src/nn/%,$(TRAIN_OBJS))

$(TRAIN_GLUE_OBJS): %.train.o: %.c
	$(CC) $(CFLAGS) $(CPPFLAGS) -DCNNREC_OPENBLAS -c -o $@ $<

# The math core in the worker is compiled exactly as in cnnrec-train (it
# includes no PostgreSQL header), so the two train at the same speed.
$(TRAIN_NN_OBJS): src/nn/%.train.o: src/nn/%.c
	$(UNIT_CC) $(UNIT_CFLAGS) $(WARNINGS) -std=gnu99 -fPIC $(VISIBILITY) -DCNNREC_OPENBLAS -Isrc -c -o $@ $<

# PGXS tracks no header dependencies: any header change rebuilds both libraries.
$(OBJS) $(TRAIN_OBJS): $(wildcard src/*.h src/nn/*.h src/train/*.h)

$(TRAIN_LIB): $(TRAIN_OBJS) src/train/exports.map
	$(CC) $(CFLAGS) -shared -o $@ $(TRAIN_OBJS) $(LDFLAGS) $(LDFLAGS_SL) \
		-Wl,--version-script=src/train/exports.map -lopenblas -lm

install: install-train
.PHONY: install-train
install-train: $(TRAIN_LIB)
	$(INSTALL_SHLIB) $(TRAIN_LIB) '$(DESTDIR)$(pkglibdir)/$(TRAIN_LIB)'

uninstall: uninstall-train
.PHONY: uninstall-train
uninstall-train:
	rm -f '$(DESTDIR)$(pkglibdir)/$(TRAIN_LIB)'

# ---- cnnrec-train: the command-line trainer (same core, OpenBLAS) --------
TOOL = src/tools/cnnrec-train
TOOL_SRCS = $(sort $(wildcard src/tools/*.c))
EXTRA_CLEAN += $(TOOL)

all: $(TOOL)

$(TOOL): $(TOOL_SRCS) $(NN_SRCS) $(wildcard src/nn/*.h src/tools/*.h)
	$(UNIT_CC) $(UNIT_CFLAGS) $(WARNINGS) -std=gnu99 -DCNNREC_OPENBLAS -Isrc -o $@ $(TOOL_SRCS) $(NN_SRCS) $(UNIT_LIBS)

# ---- C unit tests of the math core (plain C, no PostgreSQL) -------------
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:.c=)
UNIT_CC ?= $(CC)
UNIT_CFLAGS ?= -O2 -g
UNIT_LIBS = -lopenblas -lm -lpthread

.PHONY: unit
unit: $(UNIT_BINS)

test/unit/test_%: test/unit/test_%.c $(NN_SRCS) $(wildcard src/nn/*.h) test/unit/tap.h
	$(UNIT_CC) $(UNIT_CFLAGS) $(WARNINGS) -std=gnu99 -DCNNREC_OPENBLAS -Isrc -Itest/unit -o $@ $< $(NN_SRCS) $(UNIT_LIBS)
