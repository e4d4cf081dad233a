#!/bin/sh
# Proves that scripts/check-abi.sh's abidiff gate can fail: builds the current
# tree (-O0 -g) as a baseline, then copies of it with one change each, and
# asserts the verdict for each copy:
#   unchanged                        -> pass
#   a function added (header + map)  -> pass
#   rec_set_num_threads takes long  -> fail (changed parameter)
#   rec_version_number returns long  -> fail (changed return type)
#   rec_get_num_threads not exported -> fail (removed symbol)
# (libabigail 2.2 misses some changes: int -> long as the return type of
# rec_get_num_threads passes, while the two above are caught.  It also counts
# an enum -> int return of the same size as harmless.)
# Runs from the top of the tree; leaves nothing behind.
set -eu

src=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librec-abi-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
jobs=${JOBS:-2}
ver=$(sed -n 's/^#define REC_VERSION_MAJOR \([0-9]*\)/\1/p' include/librec/core.h).$(sed -n \
    's/^#define REC_VERSION_MINOR \([0-9]*\)/\1/p' include/librec/core.h)

# The sources the shared library is built from (no build dirs, no configure
# output, so the copies build with the Makefile's defaults).
copy_tree() {
    mkdir -p "$1"
    (cd "$src" && tar cf - Makefile librec.map include librec scripts) | (cd "$1" && tar xf -)
}

build_so() {
    make -C "$1" -s -j"$jobs" O=build DEBUG=1 build/librec.so.0 > "$1.log" 2>&1 || {
        cat "$1.log" >&2
        echo "abi-selftest: building $1 failed" >&2
        exit 1
    }
}

# Edits a file with sed and fails if the edit changed nothing (so a renamed
# function cannot make this test pass vacuously).
edit() {
    file=$1
    shift
    cp "$file" "$file.orig"
    sed "$@" "$file.orig" > "$file"
    if cmp -s "$file" "$file.orig"; then
        echo "abi-selftest: sed $* changed nothing in $file" >&2
        exit 1
    fi
    rm -f "$file.orig"
}

failures=0
# verdict NAME DIR pass|fail
verdict() {
    st=0
    (cd "$2" && ABI_DIFF_ONLY=1 sh scripts/check-abi.sh build/librec.so.0 "$ver" \
        "$tmp/base.abi") > "$tmp/$1.out" 2>&1 || st=$?
    if [ "$3" = pass ] && [ $st = 0 ]; then
        echo "abi-selftest: $1: passes, as it should"
    elif [ "$3" = fail ] && [ $st != 0 ] && grep -q 'incompatible ABI change' "$tmp/$1.out"; then
        echo "abi-selftest: $1: rejected, as it should be"
    else
        cat "$tmp/$1.out" >&2
        echo "abi-selftest: $1: expected the check to $3, it exited $st" >&2
        failures=$((failures + 1))
    fi
}

copy_tree "$tmp/base"
build_so "$tmp/base"
abidw --headers-dir "$tmp/base/include/librec" --out-file "$tmp/base.abi" \
    "$tmp/base/build/librec.so.0"
verdict unchanged "$tmp/base" pass

copy_tree "$tmp/added"
edit "$tmp/added/include/librec/core.h" \
    's/^REC_API int rec_get_num_threads(void);/&\nREC_API int rec_selftest_added(int x);/'
printf '#include "core-impl.h"\nREC_API int rec_selftest_added(int x) { return x + 1; }\n' \
    > "$tmp/added/librec/core/selftest_added.c"
edit "$tmp/added/librec.map" '0,/global:/s//global:\n    rec_selftest_added;/'
build_so "$tmp/added"
nm -D --defined-only "$tmp/added/build/librec.so.0" | grep -q ' rec_selftest_added\(@\|$\)' || {
    echo "abi-selftest: the added function is not exported" >&2
    exit 1
}
verdict added-function "$tmp/added" pass

copy_tree "$tmp/param"
edit "$tmp/param/include/librec/core.h" \
    's/^\(REC_API rec_status rec_set_num_threads(\)int n)/\1long n)/'
edit "$tmp/param/librec/core/pool.c" \
    's/^\(REC_API rec_status rec_set_num_threads(\)int n)/\1long n)/'
build_so "$tmp/param"
verdict changed-parameter "$tmp/param" fail

copy_tree "$tmp/ret"
edit "$tmp/ret/include/librec/core.h" \
    's/^REC_API unsigned rec_version_number(void)/REC_API unsigned long rec_version_number(void)/'
edit "$tmp/ret/librec/core/version.c" \
    's/^REC_API unsigned rec_version_number(void)/REC_API unsigned long rec_version_number(void)/'
build_so "$tmp/ret"
verdict changed-return-type "$tmp/ret" fail

copy_tree "$tmp/removed"
edit "$tmp/removed/librec.map" '/^[[:space:]]*rec_get_num_threads;/d'
build_so "$tmp/removed"
verdict removed-function "$tmp/removed" fail

if [ $failures != 0 ]; then
    echo "abi-selftest: $failures case(s) wrong" >&2
    exit 1
fi
echo "abi-selftest: ok (the abidiff gate accepts additions and rejects breaks)"
