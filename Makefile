# librec: plain `make` works with defaults; ./configure writes config.mak.autogen,
# and config.mak (yours, never written by us) overrides both.
#
# Settings (on the command line, `make check O=out SANITIZE=1`, or in config.mak):
#   BLAS=openblas|blis|cblas  the CBLAS to build and link against (default openblas;
#                        blis uses Debian's blis-openmp; cblas any -lcblas)
#   O=DIR                where every output goes (default build); `make clean` removes
#                        it and its -san, -tsan and -abi siblings
#   SANITIZE=1           ASan + UBSan build (-O1 -g), in $(O)-san; run `make check
#                        SANITIZE=1` before a commit
#   TSAN=1               ThreadSanitizer build, in $(O)-tsan (every suite but the
#                        cases tagged learning and sweep, with 16 threads racing
#                        in check_concurrency.c)
#   OPT='-O2 ...'        optimisation and target flags (default -O2 -march=x86-64-v2
#                        -mtune=native); SANITIZE, TSAN and DEBUG replace it
#   DEBUG=1              -O0 -g (check-abi builds this way for abidiff's DWARF)
#   SHARED_DATA=DIR      the datasets `make check-data` reads (default ../shared/data)
#   CFLAGS, LDFLAGS      appended to ours; CC, CXX the compilers
#   PREFIX, LIBDIR, INCLUDEDIR, MANDIR, BINDIR, DESTDIR   for `make install`
# Header dependencies come from the compiler (-MMD -MP): an object is rebuilt
# when a header it includes changes, or when the flags change ($(O)/cflags).
-include config.mak.autogen
-include config.mak

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
BLAS ?= openblas
O ?= build
CC ?= cc
CXX ?= c++
SHARED_DATA ?= $(abspath ../shared/data)

VERSION_MAJOR := $(shell sed -n 's/^\#define REC_VERSION_MAJOR \([0-9]*\)/\1/p' include/librec/core.h)
VERSION_MINOR := $(shell sed -n 's/^\#define REC_VERSION_MINOR \([0-9]*\)/\1/p' include/librec/core.h)
VERSION_PATCH := $(shell sed -n 's/^\#define REC_VERSION_PATCH \([0-9]*\)/\1/p' include/librec/core.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := librec.so.$(VERSION_MAJOR)

ifeq ($(BLAS),openblas)
BLAS_CFLAGS ?= -DREC_BLAS_OPENBLAS
BLAS_LIBS ?= -lopenblas
BLAS_PC ?= openblas
else ifeq ($(BLAS),blis)
BLAS_CFLAGS ?= -DREC_BLAS_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp
BLAS_LIBS ?= -lblis
BLAS_PC ?=
else
BLAS_CFLAGS ?=
BLAS_LIBS ?= -lcblas
endif

OPT ?= -O2 -march=x86-64-v2 -mtune=native
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wvla
ifeq ($(SANITIZE),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
override O := $(O)-san
# Instrumented tests run 2-25 times slower (the training cases most), and a
# busy machine halves that again: their hang timeouts are stretched.
export CK_TIMEOUT_MULTIPLIER ?= 4
endif
# ThreadSanitizer: `make check TSAN=1` in build-tsan (libtsan, with gcc or clang).
ifeq ($(TSAN),1)
OPT := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
LDSAN := -fsanitize=thread
override O := $(O)-tsan
# A race fails the run, also in the forked children of the tests; tests run
# 5-15 times slower, so their hang timeouts are stretched.
export TSAN_OPTIONS ?= halt_on_error=1
export CK_TIMEOUT_MULTIPLIER ?= 10
# Test cases tagged "learning" (train for many epochs to a quality bar) and
# "sweep" (every kernel shape on one thread) repeat code the other cases
# already run threaded, and under TSAN took 330 of its 510 s: they run in
# the other builds.  CK_EXCLUDE_TAGS= runs them here too.
export CK_EXCLUDE_TAGS ?= learning sweep
endif
ifeq ($(DEBUG),1)
OPT := -O0 -g
endif
CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -fPIC -fvisibility=hidden $(OPT) $(WARN) \
	-Iinclude -Ilibrec $(BLAS_CFLAGS) $(CFLAGS)
# The CLI and the examples see the public headers only: using an internal
# header there is a build error, not a review comment.
PUB_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(OPT) $(WARN) -Iinclude $(CFLAGS)
LIBS := $(BLAS_LIBS) -lpthread -lm
DEPFLAGS := -MMD -MP

# librec/mpi/ is librec_mpi, not librec: built with MPI=1 only.
LIB_SRC := $(filter-out librec/mpi/%,$(sort $(wildcard librec/*/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
HEADERS := $(filter-out include/librec/mpi.h,$(wildcard include/librec/*.h))
TEST_SRC := $(filter-out tests/check_main.c,$(sort $(wildcard tests/check_*.c)))
DATA_TEST_SRC := $(sort $(wildcard tests/data_*.c))
TOOL_SRC := $(sort $(wildcard tools/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

all: $(O)/librec.a $(O)/$(SONAME) $(O)/librec.pc $(if $(TOOL_SRC),$(O)/bin/librec) $(EXAMPLE_SRC:%.c=$(O)/%) \
	$(if $(filter 1,$(MPI)),$(O)/$(MPI_SONAME) $(O)/librec_mpi.pc)

deps:
	@sh scripts/deps.sh $(BLAS)

# Objects are rebuilt when the compiler flags change (another BLAS, CFLAGS),
# as git's Makefile does with GIT-CFLAGS.
CFLAGS_LINE = $(CC) $(ALL_CFLAGS) $(DEPFLAGS)
$(O)/cflags: FORCE
	@mkdir -p $(O)
	@echo '$(CFLAGS_LINE)' | cmp -s - $@ || echo '$(CFLAGS_LINE)' > $@

$(O)/%.o: %.c $(O)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(LIB_OBJ:.o=.d)

$(O)/librec.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(O)/$(SONAME): $(LIB_OBJ) librec.map
	$(CC) -shared $(LDSAN) $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=librec.map \
		-Wl,--no-undefined -o $@ $(LIB_OBJ) $(LIBS)
	ln -sf $(SONAME) $(O)/librec.so

# librec.pc is rewritten whenever a directory or the BLAS changes, so
# `make install PREFIX=...` after a plain `make` installs the right paths.
PC_VARS := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(VERSION)|$(BLAS_LIBS)
$(O)/librec.pc.vars: FORCE
	@mkdir -p $(O)
	@echo '$(PC_VARS)' | cmp -s - $@ || echo '$(PC_VARS)' > $@

$(O)/librec.pc: librec.pc.in Makefile $(O)/librec.pc.vars
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|g' librec.pc.in > $@

# Programs link the static library so tests can reach internal functions too.
ifneq ($(MPI),1)
$(O)/bin/librec: $(TOOL_SRC) $(wildcard tools/*.h) $(HEADERS) $(O)/librec.a
	@mkdir -p $(dir $@)
	$(CC) $(PUB_CFLAGS) $(LDSAN) -o $@ $(TOOL_SRC) $(O)/librec.a $(LIBS)
endif

$(O)/examples/%: examples/%.c $(wildcard examples/*.h) $(HEADERS) $(O)/librec.a
	@mkdir -p $(dir $@)
	$(CC) $(PUB_CFLAGS) $(LDSAN) -o $@ $< $(O)/librec.a $(LIBS)

$(O)/bench/%: bench/%.c $(O)/librec.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDSAN) -o $@ $< $(O)/librec.a $(LIBS)

# The test main chains every `Suite *rec_<area>_suite(void)` found in tests/.
$(O)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	grep -ho 'Suite \*rec_[a-z0-9_]*_suite(void)$$' $(TEST_SRC) | \
	  sed 's/Suite \*\(rec_[a-z0-9_]*_suite\)(void)/SUITE(\1)/' > $@

$(O)/tests/data_suites.h: $(DATA_TEST_SRC)
	@mkdir -p $(dir $@)
	grep -ho 'Suite \*rec_[a-z0-9_]*_suite(void)$$' $(DATA_TEST_SRC) /dev/null | \
	  sed 's/Suite \*\(rec_[a-z0-9_]*_suite\)(void)/SUITE(\1)/' > $@

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# testutil.c and lrm_fix_crcs.c are test helpers, linked into the test programs only.
TEST_HELPERS := tests/testutil.c tests/lrm_fix_crcs.c
$(O)/tests/check_all: $(TEST_SRC) tests/check_main.c $(TEST_HELPERS) $(O)/tests/suites.h \
		$(O)/librec.a $(wildcard tests/*.h)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -I$(O)/tests -Itests $(LDSAN) -o $@ \
		tests/check_main.c $(TEST_HELPERS) $(TEST_SRC) $(O)/librec.a $(CHECK_LIBS) $(LIBS)

$(O)/tests/check_data: $(DATA_TEST_SRC) tests/check_main.c tests/testutil.c $(O)/tests/data_suites.h $(O)/librec.a $(wildcard tests/*.h)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -I$(O)/tests -Itests -DREC_DATA_SUITES $(LDSAN) -o $@ \
		tests/check_main.c tests/testutil.c $(DATA_TEST_SRC) $(O)/librec.a $(CHECK_LIBS) $(LIBS)

check: deps
	@$(MAKE) --no-print-directory $(O)/tests/check_all $(if $(TOOL_SRC),$(O)/bin/librec) $(O)/$(SONAME) check-headers
	LIBREC_SRCDIR=$(CURDIR) LIBREC_BUILD=$(CURDIR)/$(O) $(O)/tests/check_all

check-data: deps
	@$(MAKE) --no-print-directory $(O)/tests/check_data $(if $(TOOL_SRC),$(O)/bin/librec)
	LIBREC_SRCDIR=$(CURDIR) LIBREC_BUILD=$(CURDIR)/$(O) LIBREC_DATA=$(SHARED_DATA) $(O)/tests/check_data

# The Python package (bindings/python) against this build's library: its
# pytest suite, then examples/python/quickstart.py (on ml-latest-small when
# SHARED_DATA has it, else on generated data).  Needs python3 with pytest
# and numpy (Debian: python3-pytest python3-numpy).
PYTHON ?= python3
check-python: deps
	@$(MAKE) --no-print-directory $(O)/$(SONAME)
	LIBREC_LIBRARY=$(CURDIR)/$(O)/$(SONAME) $(PYTHON) -m pytest -q -p no:cacheprovider bindings/python
	LIBREC_LIBRARY=$(CURDIR)/$(O)/$(SONAME) $(PYTHON) examples/python/quickstart.py \
		$(wildcard $(SHARED_DATA)/ml-latest-small/ratings.csv)

# Public headers compile alone as strict C99 and as C++.
check-headers: $(HEADERS)
	@mkdir -p $(O)/hdr
	@for h in $(HEADERS); do \
	  printf '#include "%s"\n' "$${h#include/}" > $(O)/hdr/one.c; \
	  $(CC) -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -c $(O)/hdr/one.c -o $(O)/hdr/one.o || exit 1; \
	  cp $(O)/hdr/one.c $(O)/hdr/one.cc; \
	  $(CXX) -std=c++11 -pedantic -Werror -Wall -Wextra -Iinclude -c $(O)/hdr/one.cc -o $(O)/hdr/one.o || exit 1; \
	done; echo "headers: C99 and C++ ok"

# The learning path, in order, on the generated default dataset.
demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(O) $(EXAMPLE_SRC)

# Every workload side by side with its peer (../shared/bench), one at a time:
# the kernels (W7 + MLP), the classical models (W4-W6, W8), the neural models
# (W1, W2, W7's GRU), the graph models (W3).  About 35 minutes on 2 cores;
# run on a quiet machine.
bench: deps
	@$(MAKE) --no-print-directory $(BENCH_SRC:%.c=$(O)/%)
	sh bench/run.sh $(O)
	sh bench/run_classical.sh $(O)
	sh bench/run_models.sh $(O)
	sh bench/run_graph.sh $(O)

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/librec \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(BINDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/librec/
	install -m 644 $(O)/librec.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(O)/$(SONAME) $(DESTDIR)$(LIBDIR)/librec.so.$(VERSION)
	ln -sf librec.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/librec.so
	install -m 644 $(O)/librec.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(wildcard man/man3/*.3) $(DESTDIR)$(MANDIR)/man3/
	@# `man rec_model_fit` finds rec_model.3: a link per name in each page's NAME.
	@for f in $(notdir $(wildcard man/man3/*.3)); do \
	  for n in $$(sed -n 's/^\.Nm \(rec_[a-z0-9_]*\).*/\1/p' man/man3/$$f); do \
	    [ "$$n.3" = "$$f" ] || ln -sf $$f $(DESTDIR)$(MANDIR)/man3/$$n.3; \
	  done; \
	done
	install -m 644 $(wildcard man/man7/*.7) $(DESTDIR)$(MANDIR)/man7/
	$(if $(wildcard $(O)/bin/librec),install -m 755 $(O)/bin/librec $(DESTDIR)$(BINDIR)/)
	$(if $(wildcard $(O)/bin/librec),install -m 644 man/man1/librec.1 $(DESTDIR)$(MANDIR)/man1/)

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/librec
	rm -f $(DESTDIR)$(LIBDIR)/librec.a $(DESTDIR)$(LIBDIR)/librec.so* \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/librec.pc $(DESTDIR)$(BINDIR)/librec \
	  $(DESTDIR)$(MANDIR)/man1/librec.1
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard man/man3/*.3))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/man7/*.7))) \
	  $(patsubst %,$(DESTDIR)$(MANDIR)/man3/%.3,$(shell sed -n 's/^\.Nm \(rec_[a-z0-9_]*\).*/\1/p' $(wildcard man/man3/*.3)))

# Exported symbols must equal the map's list, and the map's newest node the version.
# abidiff needs DWARF, so the ABI is read from an -O0 -g build in its own dir.
ABI_O := $(O)-abi
check-abi:
	@$(MAKE) --no-print-directory O=$(ABI_O) DEBUG=1 SANITIZE= $(ABI_O)/$(SONAME)
	CC="$(CC)" sh scripts/check-abi.sh $(ABI_O)/$(SONAME) $(VERSION_MAJOR).$(VERSION_MINOR)

# Only when the API is settled: the baseline check-abi compares against.
abi-baseline:
	@$(MAKE) --no-print-directory O=$(ABI_O) DEBUG=1 SANITIZE= $(ABI_O)/$(SONAME)
	@mkdir -p abi
	abidw --headers-dir include/librec --out-file abi/librec.abi $(ABI_O)/$(SONAME)

lint-man:
	mandoc -Tlint -Wwarning man/man1/*.1 man/man3/*.3 man/man7/*.7

# Installs into a temporary prefix and builds C and C++ consumers with pkg-config.
check-consumer:
	CC="$(CC)" CXX="$(CXX)" sh scripts/consumer.sh $(O)

clean:
	rm -rf $(O) $(O)-san $(O)-tsan $(O)-abi $(O)-mpi

# The C++ service example (examples/service/): C++17, the standard library and
# POSIX sockets only, on the public headers.  `sh examples/service/loadtest.sh`
# runs its short load test.
SERVICE_CXXFLAGS := -std=c++17 -pthread $(OPT) -Wall -Wextra -Iinclude $(CXXFLAGS)
service: $(O)/examples/service/librec-serve $(O)/examples/service/librec-loadtest $(O)/bin/librec
$(O)/examples/service/librec-%: examples/service/%.cpp examples/service/answer.hpp $(HEADERS) \
		$(O)/librec.a
	@mkdir -p $(dir $@)
	$(CXX) $(SERVICE_CXXFLAGS) $(LDSAN) -o $@ $< $(O)/librec.a $(LIBS)
.PHONY: service

.PHONY: all deps check check-data check-python check-headers demo bench install uninstall check-abi lint-man clean \
	abi-baseline check-consumer FORCE
FORCE:

# Fuzzes the .lrm reader with libFuzzer for FUZZ_SECONDS (default 60); clang needed.
fuzz: ; sh scripts/fuzz.sh $(FUZZ_SECONDS)
.PHONY: fuzz

# ---- MPI: librec_mpi and `librec train --distributed` --------------------------
# `make MPI=1 [O=dir]` (or ./configure --with-mpi) builds librec_mpi.so.0
# (librec/mpi/, the only code that includes <mpi.h>; it links librec.so.0)
# and an MPI-enabled $(O)/bin/librec.  `make check-mpi` builds all that in
# $(O)-mpi and runs the distributed tests under mpirun at 1, 2 and 4 ranks
# (scripts/check-mpi.sh); core librec is checked to export and need no MPI.
MPICC ?= mpicc
MPIRUN ?= mpirun
MPI_SRC := $(sort $(wildcard librec/mpi/*.c))
MPI_OBJ := $(MPI_SRC:%.c=$(O)/%.o)
MPI_SONAME := librec_mpi.so.$(VERSION_MAJOR)
MPI_CFLAGS ?= $(shell $(MPICC) --showme:compile 2>/dev/null)
MPI_LIBS ?= $(shell $(MPICC) --showme:link 2>/dev/null)

ifeq ($(MPI),1)
$(O)/librec/mpi/%.o: librec/mpi/%.c include/librec/mpi.h $(O)/cflags
	@mkdir -p $(dir $@)
	$(MPICC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/$(MPI_SONAME): $(MPI_OBJ) $(O)/$(SONAME) librec_mpi.map
	$(MPICC) -shared $(LDSAN) $(LDFLAGS) -Wl,-soname,$(MPI_SONAME) \
		-Wl,--version-script=librec_mpi.map -Wl,--no-undefined -o $@ $(MPI_OBJ) \
		$(O)/$(SONAME) $(MPI_LIBS)
	ln -sf $(MPI_SONAME) $(O)/librec_mpi.so

$(O)/librec_mpi.pc: librec_mpi.pc.in Makefile $(O)/librec.pc.vars
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@MPI_CFLAGS@|$(MPI_CFLAGS)|g' -e 's|@MPI_LIBS@|$(MPI_LIBS)|g' $< > $@

$(O)/bin/librec: $(TOOL_SRC) $(wildcard tools/*.h tools/mpi/*.c) $(HEADERS) include/librec/mpi.h \
		$(O)/librec.a $(MPI_OBJ)
	@mkdir -p $(dir $@)
	$(MPICC) $(PUB_CFLAGS) -DREC_WITH_MPI $(LDSAN) -o $@ $(TOOL_SRC) $(wildcard tools/mpi/*.c) \
		$(MPI_OBJ) $(O)/librec.a $(LIBS)

$(O)/tests/mpi_%: tests/mpi/mpi_%.c include/librec/mpi.h $(O)/librec.a $(MPI_OBJ)
	@mkdir -p $(dir $@)
	$(MPICC) $(ALL_CFLAGS) $(LDSAN) -o $@ $< $(MPI_OBJ) $(O)/librec.a $(LIBS)
endif

MPI_TESTS := $(patsubst tests/mpi/%.c,%,$(wildcard tests/mpi/mpi_*.c))
check-mpi: deps
	@$(MAKE) --no-print-directory MPI=1 O=$(O)-mpi $(O)-mpi/$(SONAME) $(O)-mpi/$(MPI_SONAME) \
		$(O)-mpi/librec_mpi.pc $(O)-mpi/bin/librec $(MPI_TESTS:%=$(O)-mpi/tests/%)
	MPIRUN="$(MPIRUN)" sh scripts/check-mpi.sh $(O)-mpi $(MPI_TESTS)
.PHONY: check-mpi
