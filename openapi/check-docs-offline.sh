#!/usr/bin/env bash
# Checks that the interactive docs at /docs render with no internet: starts a demo server,
# loads /docs/ in headless Chromium with every host but the server unresolvable, and requires the
# rendered page to show the API's operations. Needs `chromium` (Debian: apt-get install chromium).
# Not part of .ci/run (a browser is too heavy for every run); run it after touching the docs.
#
#   openapi/check-docs-offline.sh            # builds and runs `inbox serve --demo`
#   INBOX_BIN=target/release/inbox openapi/check-docs-offline.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PORT=${DOCS_CHECK_PORT:-18099}
readonly BASE="http://127.0.0.1:${PORT}"
WORK=$(mktemp -d)
readonly WORK
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "docs check: FAILED: $*" >&2
    exit 1
}

command -v chromium >/dev/null || fail "chromium is not installed (apt-get install chromium)"

inbox=${INBOX_BIN:-}
if [[ -z "$inbox" ]]; then
    cargo build --quiet -p api --bin inbox
    inbox="${CARGO_TARGET_DIR:-target}/debug/inbox"
fi

"$inbox" serve --demo --database-url "$WORK/docs-check.db" --bind "127.0.0.1:${PORT}" \
    >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
    curl -sf "$BASE/healthz" >/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server stopped: $(cat "$WORK/server.log")"
    sleep 0.2
done
curl -sf "$BASE/healthz" >/dev/null || fail "the server did not come up on $BASE"

# The page and everything it loads come from the server itself.
curl -sfL "$BASE/docs/" >"$WORK/index.html" || fail "GET /docs/ failed"
if grep -Eo '(src|href)="https?://[^"]*' "$WORK/index.html" | grep -v "^[a-z]*=\"${BASE}"; then
    fail "/docs/ loads assets from another host (above)"
fi

# No internet: every host but the server's address fails to resolve, and Chromium's own
# background traffic is off.
browser=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
    --disable-component-update --disable-default-apps --no-first-run
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    --user-data-dir="$WORK/profile" --virtual-time-budget=15000)
"${browser[@]}" --dump-dom "$BASE/docs/" >"$WORK/dom.html" 2>"$WORK/chromium.log" ||
    fail "chromium failed: $(tail -5 "$WORK/chromium.log")"
"${browser[@]}" --window-size=1280,2400 --screenshot="${DOCS_SCREENSHOT:-$WORK/docs.png}" \
    "$BASE/docs/" >/dev/null 2>&1 || true

# Swagger UI rendered the document: its title, the tags and the operations are in the DOM.
expect_in_dom() {
    grep -qF -- "$1" "$WORK/dom.html" || fail "the rendered /docs/ lacks $2"
}
expect_in_dom 'class="swagger-ui' "the Swagger UI root"
expect_in_dom 'Messages inbox API' "the API's title"
for tag in auth "patient app" inbox "conversation actions" handoff routing admin health; do
    expect_in_dom "data-tag=\"${tag}\"" "the tag \`${tag}\`"
done
for path in /v1/auth/token /v1/conversations /v1/conversations/{id}/claim /v1/patient/conversations; do
    expect_in_dom "$path" "the operation $path"
done
operations=$(grep -o 'class="opblock opblock-[a-z]*' "$WORK/dom.html" | wc -l)
documented=$(curl -sf "$BASE/openapi.json" | grep -o '"operationId"' | wc -l)
[[ "$operations" -eq "$documented" ]] ||
    fail "/docs/ shows ${operations} operations, the spec has ${documented}"

echo "docs check: /docs/ rendered offline with all ${operations} operations of the spec"
if [[ -n "${DOCS_SCREENSHOT:-}" ]]; then
    echo "screenshot: ${DOCS_SCREENSHOT}"
fi
