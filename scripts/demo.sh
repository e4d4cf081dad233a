#!/bin/sh
# `make demo`: runs the learning path's examples in order, saying before each
# what it teaches (the first sentence of its header comment) and the exact
# command, so a learner can run one again alone.
#   sh scripts/demo.sh BUILD_DIR EXAMPLE.c ...
set -e
build=$1
shift
for src in "$@"; do
    name=$(basename "$src" .c)
    # The comment's first sentence: its lines up to the first ". " or ".".
    what=$(sed -n '1,/\*\//p' "$src" | tr '\n' ' ' | sed -e 's|^ */\* *||' -e 's|\*/.*||' \
        -e 's| \* | |g' -e 's|  *| |g' -e 's|\([.]\) .*|\1|')
    printf '\n######## %s: %s\n######## running: %s/examples/%s\n' "$name" "$what" "$build" "$name"
    "$build/examples/$name"
done
