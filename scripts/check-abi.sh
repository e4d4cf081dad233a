#!/bin/sh
# The ABI gate, run by `make check-abi`:
#  (a) the .so exports exactly the rec_* names of librec.map, and every REC_API
#      function declared in include/librec/*.h (outside REC_STATIC_LINKING_ONLY)
#      is among them;
#  (b) librec.map's newest version node is LIBREC_<major>.<minor> of core.h;
#  (c) when abi/librec.abi exists, abidiff against it finds no incompatible
#      change (added functions pass; removed or changed ones fail).
# usage: check-abi.sh path/to/librec.so.0 MAJOR.MINOR [baseline.abi]
# The .so must carry DWARF (-g) for (c) to see types and signatures.
# ABI_DIFF_ONLY=1 runs (c) alone (scripts/abi-selftest.sh uses it).
set -eu

so=${1:?usage: check-abi.sh librec.so.0 MAJOR.MINOR [baseline.abi]}
ver=${2:?usage: check-abi.sh librec.so.0 MAJOR.MINOR [baseline.abi]}
base=${3:-abi/librec.abi}
map=${MAP:-librec.map}
hdrdir=${HEADERS_DIR:-include/librec}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librec-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
say() { printf 'check-abi: %s\n' "$*" >&2; }

[ -f "$so" ] || { say "no such library: $so"; exit 1; }

# ---- (a) exports == map == headers ----------------------------------------
check_exports() {
    nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u \
        > "$tmp/exported"
    # Names between "global:" and "local:" of every node, comments dropped.
    sed -e 's/#.*//' -e 's/global://' "$map" | tr ';' '\n' \
        | sed -n 's/^[[:space:]]*\(rec_[A-Za-z0-9_]*\)[[:space:]]*$/\1/p' | sort > "$tmp/map.all"
    sort -u "$tmp/map.all" > "$tmp/map"
    if [ "$(wc -l < "$tmp/map.all")" != "$(wc -l < "$tmp/map")" ]; then
        say "$map lists a symbol twice:"; uniq -d "$tmp/map.all" >&2; fail=1
    fi
    grep -v '^rec_' "$tmp/exported" > "$tmp/stray" || true
    if [ -s "$tmp/stray" ]; then
        say "exported symbols without the rec_ prefix (make them static or hidden):"
        sed 's/^/    /' "$tmp/stray" >&2; fail=1
    fi
    comm -23 "$tmp/exported" "$tmp/map" | grep '^rec_' > "$tmp/x" || true
    if [ -s "$tmp/x" ]; then
        say "exported but not listed in $map:"; sed 's/^/    /' "$tmp/x" >&2; fail=1
    fi
    comm -13 "$tmp/exported" "$tmp/map" > "$tmp/x"
    if [ -s "$tmp/x" ]; then
        say "listed in $map but not exported (undefined or not REC_API):"
        sed 's/^/    /' "$tmp/x" >&2; fail=1
    fi
    # Preprocess every header as a user would (no REC_STATIC_LINKING_ONLY): REC_API
    # becomes visibility("default"), and declarations are split at ';'.
    # mpi.h is librec_mpi's (it needs <mpi.h>), not librec.so's
    for h in "$hdrdir"/*.h; do
        [ "${h##*/}" = mpi.h ] || printf '#include "%s"\n' "$h"
    done > "$tmp/all.c"
    "$cc" -E -P -I"$hdrdir/.." -I. "$tmp/all.c" > "$tmp/all.i"
    tr '\n' ' ' < "$tmp/all.i" | tr ';' '\n' | grep 'visibility *( *"default" *)' \
        | sed -n 's/.*[^A-Za-z0-9_]\(rec_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' \
        | sort -u > "$tmp/declared"
    [ -s "$tmp/declared" ] || { say "found no REC_API declaration in $hdrdir"; exit 1; }
    comm -23 "$tmp/declared" "$tmp/exported" > "$tmp/x"
    if [ -s "$tmp/x" ]; then
        say "declared REC_API in $hdrdir but not exported (add to $map, define it):"
        sed 's/^/    /' "$tmp/x" >&2; fail=1
    fi
    comm -13 "$tmp/declared" "$tmp/exported" > "$tmp/x"
    if [ -s "$tmp/x" ]; then
        say "exported but declared in no public header:"; sed 's/^/    /' "$tmp/x" >&2; fail=1
    fi
    [ $fail = 0 ] && say "exports: $(wc -l < "$tmp/exported") rec_* symbols," \
        "the same as $map and the REC_API declarations"
    return 0
}

# ---- (b) newest node == header version ------------------------------------
check_version() {
    nodes=$(sed -n 's/^[[:space:]]*\(LIBREC_[0-9][0-9]*\.[0-9][0-9]*\)[[:space:]]*{.*/\1/p' "$map")
    newest=$(printf '%s\n' $nodes | sed 's/LIBREC_//' | sort -t. -k1,1n -k2,2n | tail -n 1)
    if [ -z "$nodes" ]; then
        say "$map has no LIBREC_<major>.<minor> node"; fail=1
    elif [ "$newest" != "$ver" ]; then
        say "$map's newest node is LIBREC_$newest but core.h says $ver: add a LIBREC_$ver node"
        fail=1
    else
        say "version node: LIBREC_$newest matches core.h"
    fi
}

if [ "${ABI_DIFF_ONLY:-0}" != 1 ]; then
    check_exports
    check_version
fi

# ---- (c) abidiff against the committed baseline ------------------------------
if [ -f "$base" ]; then
    st=0
    abidiff --no-added-syms --headers-dir2 "$hdrdir" "$base" "$so" > "$tmp/abidiff" 2>&1 || st=$?
    if [ $((st & 3)) != 0 ]; then
        cat "$tmp/abidiff" >&2; say "abidiff failed to run (status $st)"; fail=1
    elif [ $((st & 12)) != 0 ]; then
        # Bit 8 is an incompatible change (a removed symbol); bit 4 alone is a
        # change of a function's type or of a type it reaches, which we treat
        # as breaking too.  Added symbols are filtered by --no-added-syms, and
        # libabigail counts appended enumerators as harmless.
        cat "$tmp/abidiff" >&2
        say "incompatible ABI change against $base (abidiff status $st)"; fail=1
    else
        say "abidiff: no incompatible change against $base"
    fi
else
    say "no baseline $base yet: abidiff skipped (make abi-baseline writes it)"
fi
exit $fail
