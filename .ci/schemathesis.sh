#!/usr/bin/env bash
# Fuzzes a running server against its own published spec with schemathesis (`--checks all`):
# once as a staff admin, once as a patient. Any 5xx, undocumented status, wrong content type or
# response outside its schema fails the run. Usage: bash .ci/schemathesis.sh [max-examples]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly max_examples=${1:-25}
readonly venv=.ci/venv
readonly schemathesis_version=4.32.5

if [[ ! -x "$venv/bin/st" ]] || ! "$venv/bin/pip" show schemathesis 2>/dev/null | grep -q "^Version: ${schemathesis_version}$"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${schemathesis_version}"
fi

cargo build --quiet --locked -p api --bin inbox

workdir=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

# Limits raised: the fuzzer signs in and sends far faster than people.
INBOX_JWT_SECRET=schemathesis-secret-schemathesis-secret \
INBOX_AUTH_RATE_PER_MINUTE=1000000 \
INBOX_SEND_RATE_PER_MINUTE=1000000 \
RUST_LOG=error \
    target/debug/inbox serve --demo --database-url "$workdir/inbox.db" --bind 127.0.0.1:0 \
    >"$workdir/stdout" 2>"$workdir/stderr" &
server_pid=$!

base_url=
for _ in $(seq 1 100); do
    base_url=$(sed -n 's/^inbox listening on \(http:\/\/[^ ]*\).*/\1/p' "$workdir/stdout")
    [[ -n "$base_url" ]] && break
    sleep 0.1
done
if [[ -z "$base_url" ]]; then
    echo "error: the server did not start" >&2
    cat "$workdir/stderr" >&2
    exit 1
fi

token_for() {
    curl --silent --fail --show-error "$base_url/v1/auth/token" \
        -H 'content-type: application/json' \
        -d "{\"email\": \"$1\", \"password\": \"demo-pass\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

run_as() {
    local who=$1
    echo "--- schemathesis as ${who}"
    "$venv/bin/st" --config-file .ci/schemathesis.toml run openapi/openapi.json \
        --url "$base_url" \
        --checks all \
        --header "Authorization: Bearer $(token_for "$who")" \
        --max-examples "$max_examples" \
        --workers 1 \
        --seed 1 \
        --no-color
}

run_as admin@demo.test
run_as alice@demo.test
