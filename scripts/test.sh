#!/usr/bin/env bash
# The project's test command: installs the test environment, then checks formatting, lints,
# runs every test (unit, integration against real Tansu brokers, doc tests), and builds the
# benches and fuzz targets. Stops at the first failing step and says which one.
#
#   bash scripts/test.sh
#   TEST_STEPS=fmt,clippy bash scripts/test.sh    # only these steps (names as printed)
#
# CI runs it through .ci/run (CI=true, no stdin, a fresh clone: everything builds from scratch).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${CI:-}" = "true" ]; then
    # A from-scratch build gains nothing from incremental compilation and writes less.
    export CARGO_INCREMENTAL=0
fi

total_start=$SECONDS
summary=()

step() {
    local name=$1
    shift
    if [ -n "${TEST_STEPS:-}" ] && [[ ",$TEST_STEPS," != *",$name,"* ]]; then
        summary+=("$name skipped")
        return 0
    fi
    printf '\n==> [%s] %s\n' "$name" "$*"
    local t0=$SECONDS
    if "$@" </dev/null; then
        local took=$((SECONDS - t0))
        printf '==> [%s] ok in %ss\n' "$name" "$took"
        summary+=("$name ${took}s")
    else
        local rc=$?
        printf '\ntest.sh: FAILED at step [%s] (exit code %s): %s\n' "$name" "$rc" "$*" >&2
        printf 'test.sh: steps before it: %s\n' "$(joined)" >&2
        exit "$rc"
    fi
}

joined() {
    local IFS=,
    echo "${summary[*]:-none}"
}

run_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        # Report every failing test, not only the first.
        cargo nextest run --workspace --no-fail-fast
    else
        echo "cargo-nextest not found; using cargo test"
        cargo test --workspace --no-fail-fast
    fi
}

# The fuzz crate is its own workspace (libFuzzer instrumentation stays out of normal builds).
# It builds on stable; should a future target need nightly, say so instead of failing.
build_fuzz() {
    if [ ! -f fuzz/Cargo.toml ]; then
        echo "no fuzz/Cargo.toml; nothing to build"
        return 0
    fi
    local log
    log=$(mktemp)
    # The shared target dir lets the fuzz build reuse the dependencies already compiled.
    if cargo build --manifest-path fuzz/Cargo.toml --target-dir target 2>&1 | tee "$log"; then
        rm -f "$log"
        return 0
    fi
    if grep -qE "requires a nightly|only accepted on the nightly|feature.*may not be used on the stable|-Z .*nightly" "$log"; then
        echo "test.sh: NOTE: the fuzz targets need a nightly toolchain; not built on stable." \
            "Run: cargo +nightly fuzz build (see fuzz/Cargo.toml)."
        rm -f "$log"
        return 0
    fi
    rm -f "$log"
    return 1
}

# kreplicate-codec is sans-io: no tokio in its dependency tree. Built without a codec's feature
# it refuses that codec with a clear error (crates/codec/tests/codec_disabled.rs).
check_codec() {
    local tree
    tree=$(cargo tree -p kreplicate-codec -e normal)
    if grep -q tokio <<<"$tree"; then
        echo "test.sh: kreplicate-codec must not depend on tokio; cargo tree -p kreplicate-codec -e normal:"
        echo "$tree"
        return 1
    fi
    echo "no tokio in kreplicate-codec's dependency tree"
    cargo test -p kreplicate-codec --no-default-features --features gzip,snappy,lz4 --tests
}

step env bash scripts/test-env.sh
step fmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step codec check_codec
step tests run_tests
step doctests cargo test --workspace --doc
# The API docs build without a warning (broken intra-doc links, private items linked from public
# docs): issue #17's front pages are part of the product.
step docs env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
# Every dependency declared is used (cargo-machete reads the sources; installed by test-env.sh).
step unused-deps cargo machete
# Licences and banned crates as deny.toml says (advisories need a network CI does not have).
step dependency-policy python3 scripts/dependency-policy.py
# Every publishable crate packages and its packaged sources build on their own (cargo packages
# the workspace's crates together, each seeing the others through a local registry). Crates
# with `publish = false` are excluded by name; --allow-dirty so uncommitted work can be tested.
package_crates() {
    # Cargo unpacks that local registry's crates under $CARGO_HOME/registry/src/-HASH/, the hash
    # taken from the registry's path (target/package/tmp-registry), and reuses what it finds
    # there: an earlier run at the same path and version would verify today's crates against
    # yesterday's sources of their dependencies. Only our own crates' unpacked copies in local
    # registries (a name starting with "-") are removed.
    local home="${CARGO_HOME:-$HOME/.cargo}"
    rm -rf "$home"/registry/src/-*/kreplicate-[0-9]* "$home"/registry/src/-*/kreplicate-[a-z]*
    cargo package --workspace --exclude kreplicate-testkit --exclude kreplicate-benches --allow-dirty
}
step package package_crates
step benches cargo build --workspace --benches
step fuzz build_fuzz

printf '\ntest.sh: OK: every step succeeded (%s); total %ss\n' "$(joined)" "$((SECONDS - total_start))"
