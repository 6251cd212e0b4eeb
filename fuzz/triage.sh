#!/usr/bin/env bash
# Replays every crash artifact of a target and sorts it: "alloc" when it is the known
# kafka-protocol 0.18 class (an array length from the wire passed to Vec::with_capacity, the
# allocator gives up), "OTHER" otherwise — a real finding, to be turned into a test.
# Usage: fuzz/triage.sh [target]   (after `cargo +nightly fuzz build -O`)
set -euo pipefail
cd "$(dirname "$0")"
target="${1:-decode_response}"
bin="target/x86_64-unknown-linux-gnu/release/$target"
export ASAN_OPTIONS=symbolize=0
alloc=0
other=0
for f in artifacts/"$target"/crash-*; do
    [ -e "$f" ] || continue
    out="$("$bin" -runs=1 -malloc_limit_mb=512 -rss_limit_mb=2048 "$f" 2>&1 || true)"
    if grep -qE 'out of memory|out-of-memory|memory allocation of|malloc limit|allocation-size-too-big' <<<"$out"; then
        alloc=$((alloc + 1))
    else
        other=$((other + 1))
        echo "OTHER $f"
        grep -E 'panicked|ERROR|SUMMARY' <<<"$out" | head -3
    fi
done
echo "$target: $alloc known allocation aborts, $other other crashes"
[ "$other" -eq 0 ]
