#!/usr/bin/env bash
# The official Waldur Python SDK against the `serve` example.
#
# Creates a virtualenv, installs waldur-api-client==8.1.3 from PyPI, builds the
# release `serve` example, and runs tests/sdk/test_sdk.py, which starts the
# server on demo data (with --dump) and checks every SDK answer against its
# own Python model of the dumped data. Any failure, including pip or venv
# failing because the registry is unreachable, fails the script: it never
# skips silently.
#
# Environment: SDK_RECORDS (default 20000), SDK_SEED (default 7),
# CARGO_TARGET_DIR (default ./target), SDK_VENV (default $CARGO_TARGET_DIR/sdk-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."

target="${CARGO_TARGET_DIR:-target}"
venv="${SDK_VENV:-$target/sdk-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== sdk: virtualenv $venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "waldur-api-client==8.1.3"
"$venv/bin/python" -c "import importlib.metadata as m; v = m.version('waldur-api-client'); assert v == '8.1.3', v; print('waldur-api-client', v)"

echo "== sdk: cargo build --release --example serve"
cargo build --release --example serve
serve="$target/release/examples/serve"

echo "== sdk: a bad --load file must stop the server from starting"
printf '[{"uuid": "not-a-uuid"}]' > "$work/bad.json"
if "$serve" --addr 127.0.0.1:0 --load "$work/bad.json" > "$work/bad.out" 2> "$work/bad.err"; then
    echo "serve started on a bad file" >&2
    exit 1
fi
grep -q "record 0" "$work/bad.err" && grep -q "uuid" "$work/bad.err" || {
    echo "the error does not name the record and field:" >&2
    cat "$work/bad.err" >&2
    exit 1
}
cat "$work/bad.err"

echo "== sdk: test_sdk.py"
timeout 900 "$venv/bin/python" tests/sdk/test_sdk.py "$serve" "$work" "${SDK_RECORDS:-20000}" "${SDK_SEED:-7}"
