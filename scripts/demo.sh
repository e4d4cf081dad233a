#!/bin/sh
# `make demo`: runs the learning path's examples in order, saying before each
# what it teaches (the first sentence of its header comment) and the exact
# command, so a learner can run one again alone.
#   sh scripts/demo.sh BUILD_DIR EXAMPLE.c ...
#   DEMO_JOBS=2 sh scripts/demo.sh ...   examples side by side (CI: most of
#                                        them train on one thread), each one's
#                                        output printed whole, in order
set -e
build=$1
shift

one() {
    name=$(basename "$1" .c)
    # The comment's first sentence: its lines up to the first ". " or ".".
    what=$(sed -n '1,/\*\//p' "$1" | tr '\n' ' ' | sed -e 's|^ */\* *||' -e 's|\*/.*||' \
        -e 's| \* | |g' -e 's|  *| |g' -e 's|\([.]\) .*|\1|')
    printf '\n######## %s: %s\n######## running: %s/examples/%s\n' "$name" "$what" "$build" "$name"
    "$build/examples/$name"
}

if [ "$build" = --one ]; then
    # --one BUILD SRC LOGDIR: one example into LOGDIR/NAME.log, its status in .rc
    build=$1 name=$(basename "$2" .c)
    st=0
    one "$2" > "$3/$name.log" 2>&1 || st=$?
    echo "$st" > "$3/$name.rc"
    exit 0
fi

if [ "${DEMO_JOBS:-1}" -le 1 ]; then
    for src in "$@"; do
        one "$src"
    done
    exit 0
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
printf '%s\n' "$@" | xargs -P "$DEMO_JOBS" -I{} sh "$0" --one "$build" {} "$logs"
failed=0
for src in "$@"; do
    name=$(basename "$src" .c)
    cat "$logs/$name.log"
    st=$(cat "$logs/$name.rc")
    if [ "$st" != 0 ]; then
        echo "demo: $name failed (exit $st)"
        failed=1
    fi
done
exit $failed
