#!/bin/sh
# `make check-consumer`: installs librec into a temporary prefix the way a user
# would, then builds tests/consumer/consumer.c and consumer.cc against the
# installed copy with pkg-config only (shared, and once with librec static),
# runs them, and checks that DESTDIR staging puts every file under DESTDIR.
# usage: consumer.sh [build-dir]
set -eu

o=${1:-build}
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librec-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
say() { printf 'consumer: %s\n' "$*"; }
die() { printf 'consumer: %s\n' "$*" >&2; exit 1; }

make --no-print-directory -s O="$o" PREFIX="$prefix" install > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    die "make install PREFIX=$prefix failed"
}
for f in lib/librec.a lib/librec.so lib/librec.so.0 lib/pkgconfig/librec.pc \
    include/librec/librec.h include/librec/core.h share/man/man7/librec.7; do
    [ -e "$prefix/$f" ] || die "make install did not install $f"
done
ls "$prefix"/share/man/man3/*.3 > /dev/null 2>&1 || die "make install installed no man3 page"
[ "$(readelf -d "$prefix/lib/librec.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" = librec.so.0 ] \
    || die "the installed library's SONAME is not librec.so.0"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags=$(pkg-config --cflags librec)
libs=$(pkg-config --libs librec)
say "pkg-config --cflags --libs librec: $cflags $libs"
case "$cflags" in *"$prefix/include"*) ;; *) die "Cflags do not name $prefix/include" ;; esac

# The consumers get no -I or -L of their own: only what pkg-config says.
"$cc" -std=c99 -Wall -Wextra -Werror -o "$tmp/consumer-c" tests/consumer/consumer.c $cflags $libs
"$cxx" -std=c++11 -Wall -Wextra -Werror -o "$tmp/consumer-cc" tests/consumer/consumer.cc \
    $cflags $libs
# librec.a with the dependencies Libs.private lists (BLAS, pthread, libm).
slibs=$(pkg-config --static --libs librec | sed 's/-lrec\([[:space:]]\|$\)/-l:librec.a\1/')
"$cc" -std=c99 -Wall -Wextra -Werror -o "$tmp/consumer-static" tests/consumer/consumer.c \
    $cflags $slibs

export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$tmp/consumer-c" | grep -q "=> $prefix/lib/librec.so.0" \
    || die "consumer-c does not load $prefix/lib/librec.so.0"
if readelf -d "$tmp/consumer-static" | grep -q 'NEEDED.*librec'; then
    die "consumer-static still needs librec.so"
fi
"$tmp/consumer-c"
"$tmp/consumer-cc"
"$tmp/consumer-static"

# DESTDIR stages an install for packaging: nothing outside it, paths without it.
make --no-print-directory -s O="$o" PREFIX=/usr DESTDIR="$tmp/stage" install \
    > "$tmp/stage.log" 2>&1 || { cat "$tmp/stage.log" >&2; die "make install DESTDIR= failed"; }
[ -e "$tmp/stage/usr/lib/librec.so.0" ] && [ -e "$tmp/stage/usr/include/librec/core.h" ] \
    || die "DESTDIR install misses files under $tmp/stage/usr"
grep -q '^prefix=/usr$' "$tmp/stage/usr/lib/pkgconfig/librec.pc" \
    || die "DESTDIR leaked into librec.pc"
# uninstall removes everything install put there.
make --no-print-directory -s O="$o" PREFIX=/usr DESTDIR="$tmp/stage" uninstall \
    > "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log" >&2; die "make uninstall failed"; }
left=$(find "$tmp/stage" ! -type d)
[ -z "$left" ] || die "make uninstall left: $left"
say "ok: C, C++ and static consumers built with pkg-config and ran; DESTDIR install/uninstall ok"
