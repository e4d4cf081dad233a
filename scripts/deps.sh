#!/bin/sh
# Installs librec's build dependencies when they are missing: with apt-get as
# root or through sudo, otherwise prints the command to run.  $1: openblas|blis
blas=${1:-openblas}
pkgs="pkg-config check"
missing=""
have_hdr() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - $2 >/dev/null 2>&1; }
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists check 2>/dev/null || missing="$missing check"
case "$blas" in
  blis) have_hdr blis.h -I/usr/include/x86_64-linux-gnu/blis-openmp || missing="$missing libblis-dev" ;;
  *) have_hdr cblas.h && [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] || missing="$missing libopenblas-dev" ;;
esac
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "librec: missing build dependencies:$missing" >&2
  echo "librec: install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "librec: missing build dependencies:$missing (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
echo "librec: installing$missing" >&2
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
