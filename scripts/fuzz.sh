#!/bin/sh
# Fuzzes the .lrm reader for $1 seconds (default 60) with libFuzzer, ASan and
# UBSan.  Builds into ${FUZZ_OUT:-build-fuzz}; the seed corpus is generated
# there by tests/fuzz/gen_seeds.c, and new inputs are kept in its corpus/.
# Exits non-zero when the fuzzer finds a crash (the input is saved as
# $FUZZ_OUT/crash-*).  Run from the top of the source tree.
set -eu
secs=${1:-60}
out=${FUZZ_OUT:-build-fuzz}
cc=${FUZZ_CC:-clang}
# Only the core files the reader needs: other layers stay out of the build.
src="librec/core/lrm_read.c librec/core/lrm_write.c librec/core/crc32c.c librec/core/alloc.c
     librec/core/status.c librec/core/params.c librec/core/param_vocab.c librec/core/version.c
     tests/lrm_fix_crcs.c"
flags="-std=c11 -D_GNU_SOURCE -pthread -g -O1 -Iinclude -Ilibrec -Itests"

command -v "$cc" >/dev/null 2>&1 || { echo "fuzz.sh: $cc not found" >&2; exit 2; }
mkdir -p "$out/seeds" "$out/corpus"
# shellcheck disable=SC2086
$cc $flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -o "$out/fuzz_lrm" tests/fuzz/fuzz_lrm.c $src
# shellcheck disable=SC2086
$cc $flags -o "$out/gen_seeds" tests/fuzz/gen_seeds.c $src
"$out/gen_seeds" "$out/seeds"

echo "fuzz.sh: fuzzing the .lrm reader for $secs s" >&2
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$out/fuzz_lrm" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$out/seeds"
