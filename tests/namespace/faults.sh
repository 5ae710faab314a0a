#!/bin/sh
# Faults a user of the namespace provider can meet, against the local fake
# of Namespace's API (tests/namespace/API.md, section 6 for the switches).
# Each case checks what the user sees: the csdk command's exit status (or
# the API's status and retry-after, through ns_faults) and the message,
# and, through the fake's request log, what was sent (retries, no retried
# create, no leaked instance).  Every command runs with debug logging, and
# at the end no output, log line or fake log holds the token.

: "${top_builddir:?run through make check (top_builddir is not set)}"
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
: "${CSDK_BIN:?run through make check (CSDK_BIN is not set)}"

plugin_dir=$top_builddir/plugins/namespace/.libs
helper=$top_builddir/tests/namespace/ns_faults
PY=/usr/bin/python3
[ -f "$plugin_dir/namespace.so" ] || {
    echo "FAIL: $plugin_dir/namespace.so is not built" >&2
    exit 1
}
[ -x "$helper" ] || {
    echo "FAIL: $helper is not built (make check builds it)" >&2
    exit 1
}

. "$top_srcdir/tests/namespace/fake_common.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-ns-faults.XXXXXX") || exit 1
cleanup() {
    fake_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$tmp/all"
unset NSC_TOKEN NSC_TOKEN_FILE
fake_start

checks=0
fail() {
    echo "FAIL: $*" >&2
    for f in out err; do
        if [ -s "$tmp/$f" ]; then
            echo "--- $f:" >&2
            tail -c 3000 "$tmp/$f" >&2
            echo >&2
        fi
    done
    exit 1
}
ok() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

# conf NAME [KEY = VALUE lines]: a configuration for the fake.
conf() {
    name=$1
    shift
    {
        printf '[host]\nplugin_dir = %s\ndefault_provider = ns\n' "$plugin_dir"
        printf 'log_level = debug\n\n[provider.ns]\nplugin = namespace\n'
        printf 'base_url = %s\ntoken_env = NS_FAKE_TOKEN\n' "$NS_FAKE_URL"
        for line in "$@"; do
            printf '%s\n' "$line"
        done
    } >"$tmp/$name.ini"
}
conf main
conf quick "timeout_ms = 1000"

now_ms() { date +%s%3N; }

# run WANT CMD...: run with stdout/stderr in $tmp/out and $tmp/err (both
# also kept in $tmp/all), check the exit status, time it in $took.
run() {
    want=$1
    shift
    t0=$(now_ms)
    if "$@" >"$tmp/out" 2>"$tmp/err"; then got=0; else got=$?; fi
    took=$(($(now_ms) - t0))
    cat "$tmp/out" "$tmp/err" >>"$tmp/all"
    [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}
csdk() { "$CSDK_BIN" --config "$tmp/main.ini" -v "$@"; }
csdk_with() {
    c=$1
    shift
    "$CSDK_BIN" --config "$tmp/$c.ini" -v "$@"
}
err_has() {
    grep -F -- "$1" "$tmp/err" >/dev/null || fail "stderr lacks '$1'"
}
out_has() {
    grep -F -- "$1" "$tmp/out" >/dev/null || fail "stdout lacks '$1'"
}

# fakectl METHOD PATH [BODY]: a request to the fake's control surface;
# prints the reply body, fails on an HTTP error.
fakectl() {
    $PY - "$NS_FAKE_URL$2" "$1" "${3:-}" <<'PYEOF'
import sys, urllib.request
url, method, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, method=method,
                             data=body.encode() if method == "POST" else None)
sys.stdout.write(urllib.request.urlopen(req, timeout=30).read().decode())
PYEOF
}
fault() {
    fakectl POST /_fake/fault "$1" >/dev/null ||
        fail "the fake refused the fault $1"
}
reset() {
    fakectl POST "/_fake/reset?requests=1" "{}" >/dev/null ||
        fail "the fake did not reset"
}
# statuses RPC: the HTTP statuses of the calls of RPC since the last reset.
statuses() {
    fakectl GET /_fake/requests | $PY -c '
import json, sys
print(" ".join(str(r["status"]) for r in json.load(sys.stdin)
               if r["rpc"] == sys.argv[1]))' "$1"
}
# live: how many instances the fake has that are not destroyed.
live() {
    fakectl GET /_fake/instances | $PY -c '
import json, sys
print(sum(1 for i in json.load(sys.stdin) if i["status"] != "DESTROYED"))'
}
# status_of ID: the fake's status of an instance ("" if unknown).
status_of() {
    fakectl GET /_fake/instances | $PY -c '
import json, sys
print("".join(i["status"] for i in json.load(sys.stdin)
              if i["instanceId"] == sys.argv[1]))' "$1"
}
# maxrss FILE CMD...: run CMD, write its peak RSS in KiB to FILE, exit as
# it did.
maxrss() {
    $PY -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
}
expect_statuses() {
    got_st=$(statuses "$1")
    [ "$got_st" = "$2" ] || fail "$1 calls answered '$got_st', expected '$2'"
}

# ------------------------------------------------------------------ setup
run 0 csdk create
id=$(cat "$tmp/out")
case $id in ns:?*) ;; *) fail "create printed '$id', not an id" ;; esac
native=${id#ns:}
ok "create against the fake: $id"

# ------------------------------------------------------------------ token
conf notoken
sed -i '/^token_env/d' "$tmp/notoken.ini"
run 78 env -u NS_FAKE_TOKEN "$CSDK_BIN" --config "$tmp/notoken.ini" create
err_has "no Namespace API token"
err_has "NSC_TOKEN_FILE"
err_has "bearer_token"
err_has "[provider.ns]"
ok "no token at all: exit 78 with the setup steps"

printf '{"token": "x"}\n' >"$tmp/token.json"
run 78 env NSC_TOKEN_FILE="$tmp/token.json" "$CSDK_BIN" \
    --config "$tmp/notoken.ini" create
err_has "$tmp/token.json"
err_has "has no bearer_token"
ok "a token file without bearer_token: exit 78 naming the file"

run 78 env NSC_TOKEN="two words" "$CSDK_BIN" --config "$tmp/notoken.ini" create
err_has "does not hold an API token"
ok "a malformed token: exit 78"

printf '{"bearer_token": "%s"}\n' "$NS_FAKE_TOKEN" >"$tmp/good.json"
run 0 env NSC_TOKEN_FILE="$tmp/good.json" "$CSDK_BIN" \
    --config "$tmp/notoken.ini" list
out_has "$id"
ok "a token file from NSC_TOKEN_FILE works"

conf wrong
sed -i 's/^token_env.*/token = wrong-token-123/' "$tmp/wrong.ini"
reset
run 77 csdk_with wrong list
err_has "unauthenticated"
err_has "NSC_TOKEN"
expect_statuses ListInstances "401"
ok "a wrong token: exit 77 (AUTH) with the fix, not retried"

# ------------------------------------------------------------------ 401/403
reset
fault '{"method": "DescribeInstance", "kind": "401"}'
run 77 csdk info "$id"
err_has "401 unauthenticated"
err_has "token"
ok "401 from the API: exit 77"

reset
fault '{"method": "DescribeInstance", "kind": "403"}'
run 77 csdk info "$id"
err_has "403 permission_denied"
err_has "role"
ok "403 from the API: exit 77 with the fix"

# ------------------------------------------------------------------ 429
reset
fault '{"method": "ListInstances", "kind": "429", "retry_after": 1}'
run 0 csdk list
out_has "$id"
expect_statuses ListInstances "429 200"
[ "$took" -ge 1000 ] || fail "the retry came after $took ms, before Retry-After"
err_has "retry 1 of"
ok "429 with Retry-After on list: retried by the host after ${took} ms"

reset
fault '{"method": "ListInstances", "kind": "429", "retry_after": 1, "count": 0}'
run 74 csdk list
err_has "rate limited"
err_has "retry after 1000 ms"
expect_statuses ListInstances "429 429 429"
ok "429 on every try: exit 74 (RATE_LIMITED) after 2 retries"

reset
n0=$(live)
fault '{"method": "CreateInstance", "kind": "429", "retry_after": 2}'
run 0 "$helper" "$tmp/main.ini" create
out_has "RATE_LIMITED retry_after=2000"
out_has "rate limited"
expect_statuses CreateInstance "429"
[ "$(live)" = "$n0" ] || fail "a refused create left an instance"
ok "429 on create: RATE_LIMITED, retry_after 2000 ms, never retried"

# ------------------------------------------------------------------ 5xx
reset
fault '{"method": "DescribeInstance", "kind": "500"}'
run 0 csdk info "$id"
out_has "running"
expect_statuses DescribeInstance "500 200"
ok "500 once on info: retried, succeeds"

reset
fault '{"method": "DescribeInstance", "kind": "503", "count": 0}'
run 74 csdk info "$id"
err_has "503 unavailable"
expect_statuses DescribeInstance "503 503 503"
ok "503 on every try: exit 74 (UNAVAILABLE)"

reset
n0=$(live)
fault '{"method": "CreateInstance", "kind": "503"}'
run 74 csdk create
err_has "503 unavailable"
expect_statuses CreateInstance "503"
expect_statuses ListInstances "200"
[ "$(live)" = "$n0" ] || fail "a failed create left an instance"
ok "503 on create: exit 74, not retried, looked for a lost instance"

# ------------------------------------------------------------------ slow
reset
fault '{"method": "DescribeInstance", "kind": "slow", "delay_ms": 3000}'
run 75 csdk_with quick info "$id"
err_has "deadline"
[ "$took" -lt 2500 ] || fail "a 1000 ms deadline returned after $took ms"
ok "a slow reply past the call's deadline: exit 75 (TIMEOUT) in $took ms"

reset
n0=$(live)
fault '{"method": "CreateInstance", "kind": "slow", "delay_ms": 2500}'
conf quickcreate "timeout_ms = 1000" "sandbox_timeout_ms = 600000"
t_create=$(now_ms)
run 75 csdk_with quickcreate create
sleep 2.5
# The fake made the instance after the reply was lost: the deadline every
# instance carries is what ends it (docs/namespace-provider.md).
leak=$(fakectl GET /_fake/instances | $PY -c '
import json, sys, datetime
t0 = int(sys.argv[1]) / 1000.0
for i in json.load(sys.stdin):
    if i["status"] == "DESTROYED" or not i.get("deadline"):
        continue
    d = datetime.datetime.fromisoformat(i["deadline"].replace("Z", "+00:00"))
    c = datetime.datetime.fromisoformat(i["createdAt"].replace("Z", "+00:00"))
    if c.timestamp() >= t0 - 1:
        print(i["instanceId"], int(d.timestamp() - t0))' "$t_create")
set -- $leak
[ $# = 2 ] || fail "expected the late instance, found '$leak'"
[ "$2" -ge 590 ] && [ "$2" -le 610 ] ||
    fail "the late instance's deadline is $2 s away, expected 600"
run 0 csdk destroy "ns:$1"
ok "create timing out at its deadline: exit 75; the late instance carries the 600 s deadline"

# ------------------------------------------------------------------ readiness
reset
fault '{"method": "CreateInstance", "kind": "not_ready", "ready_after_ms": 2000}'
run 0 csdk create
slow_id=$(cat "$tmp/out")
create_took=$took
[ "$took" -ge 1900 ] || fail "create returned after $took ms, before readiness"
[ "$(status_of "${slow_id#ns:}")" = RUNNING ] || fail "create returned a non-running instance"
[ -n "$(statuses WaitInstanceSync)" ] || fail "create did not wait (WaitInstanceSync)"
run 0 csdk exec "$slow_id" -- echo ready
out_has ready
run 0 csdk destroy "$slow_id"
ok "allocated but not ready for 2 s: create waits ($create_took ms) and succeeds"

reset
fault '{"method": "CreateInstance", "kind": "not_ready", "ready_after_ms": 20000}'
conf create2s "timeout_ms = 2000"
n0=$(live)
run 75 csdk_with create2s create
err_has "ready"
[ "$(live)" = "$n0" ] || fail "a create that timed out left its instance alive"
expect_statuses DestroyInstance "200"
ok "never ready within the deadline: exit 75, the half-made instance destroyed"

# ------------------------------------------------------------------ bodies
reset
fault '{"method": "DescribeInstance", "kind": "truncated"}'
run 0 csdk info "$id"
expect_statuses DescribeInstance "200 200"
ok "a truncated reply once: retried (the connection broke), succeeds"

reset
fault '{"method": "DescribeInstance", "kind": "truncated", "count": 0}'
run 68 csdk info "$id"
err_has "cut short"
ok "a truncated reply every time: exit 68 (CONNECTION)"

reset
n0=$(live)
fault '{"method": "CreateInstance", "kind": "truncated"}'
run 68 csdk create
expect_statuses CreateInstance "200"
expect_statuses ListInstances "200"
[ "$(live)" = "$n0" ] || fail "a create with a cut reply left an instance"
ok "a truncated create reply: exit 68, searched for the instance, none leaked"

reset
fault '{"method": "DescribeInstance", "kind": "nonjson"}'
run 64 csdk info "$id"
err_has "malformed reply"
err_has "text/html"
err_has "<!DOCTYPE html>"
expect_statuses DescribeInstance "200"
ok "an HTML reply: exit 64 (PROTOCOL) with an excerpt, not retried"

reset
fault '{"method": "DescribeInstance", "kind": "badjson"}'
run 64 csdk info "$id"
err_has "malformed reply"
err_has "not JSON"
err_has '{"metadata":{"instanceId":"badjson"'
expect_statuses DescribeInstance "200"
ok "a whole reply whose JSON stops mid-object: exit 64 (PROTOCOL) with an excerpt, not retried"

reset
fault '{"method": "ExtendInstance", "kind": "badjson"}'
run 64 csdk extend "$id" 60000
err_has "ExtendInstance"
err_has '{"metadata":{"instanceId":"badjson"'
expect_statuses ExtendInstance "200"
ok "a cut-off JSON reply to extend: exit 64 (PROTOCOL), not retried (extend adds)"

reset
fault '{"method": "DescribeInstance", "kind": "huge"}'
run 64 maxrss "$tmp/rss" "$CSDK_BIN" --config "$tmp/main.ini" -v info "$id"
err_has "larger than"
rss=$(cat "$tmp/rss")
[ "$rss" -lt 100000 ] || fail "reading a 64 MiB reply took $rss KiB"
ok "a 64 MiB reply: exit 64 (PROTOCOL), $rss KiB at most"

reset
fault '{"method": "RunCommandSync", "kind": "nonjson", "count": 0}'
run 64 csdk exec "$id" -- echo hi
err_has "malformed reply"
reset
ok "an HTML reply to a command: exit 64"

# ------------------------------------------------------------------ reach
conf closed
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s|^base_url.*|base_url = http://127.0.0.1:$port|" "$tmp/closed.ini"
run 68 csdk_with closed list
err_has "connection refused"
err_has "base_url"
ok "nothing listening at base_url: exit 68 (CONNECTION) naming base_url"

conf notapi
sed -i "s|^base_url.*|base_url = $NS_FAKE_URL/no/such/prefix|" "$tmp/notapi.ini"
run 69 csdk_with notapi list
err_has "base_url"
ok "base_url that is not the API: exit 69 naming base_url"

# ------------------------------------------------------------------ gone
run 66 csdk info ns:nosuchinstance1
err_has "no sandbox 'nosuchinstance1'"
ok "info of an unknown id: exit 66 (NOT_FOUND)"

run 66 csdk extend ns:nosuchinstance1 60000
err_has "no sandbox 'nosuchinstance1'"
ok "extend of an unknown id: exit 66 (NOT_FOUND)"

run 0 csdk destroy "$id"
run 0 csdk destroy "$id"
run 66 csdk exec "$id" -- echo hi
err_has "destroyed"
run 66 "$CSDK_BIN" --config "$tmp/main.ini" -v fs read "$id" /etc/hostname
run 66 csdk extend "$id" 60000
err_has "destroyed"
ok "a destroyed instance: destroy again 0, exec, fs and extend 66"

# ------------------------------------------------------------------ secrets
cat "$NS_FAKE_LOG" >>"$tmp/all"
if grep -F -- "$NS_FAKE_TOKEN" "$tmp/all" >/dev/null; then
    grep -n -F -- "$NS_FAKE_TOKEN" "$tmp/all" | head -3 >&2
    fail "the token appears in an output or log"
fi
if grep -F -- "wrong-token-123" "$tmp/all" >/dev/null; then
    fail "the wrong token appears in an output or log"
fi
grep -F "POST " "$tmp/all" >/dev/null ||
    fail "no debug log of requests was captured"
ok "the token is in no output, debug log or server log ($(wc -l <"$tmp/all") lines)"

# ------------------------------------------------------------------ ARG_MAX
# A sandbox that refuses long command lines (exec fails with E2BIG): here
# a fake whose stack limit makes ARG_MAX 128 KiB.  write_file halves its
# chunks until they fit.
fake_stop
printf '#!/bin/sh\nulimit -s 256 || exit 1\nexec /usr/bin/python3 "$@"\n' \
    >"$tmp/python-small-stack"
chmod +x "$tmp/python-small-stack"
NS_FAKE_PYTHON=$tmp/python-small-stack
fake_start
conf small
run 0 csdk_with small create
small_id=$(cat "$tmp/out")
head -c 1048576 /dev/urandom >"$tmp/m1"
run 0 csdk_with small fs write "$small_id" m1 <"$tmp/m1"
err_has "writing in chunks of 49152 bytes"
run 0 csdk_with small fs read "$small_id" m1
cmp -s "$tmp/out" "$tmp/m1" || fail "the file read back differs"
ok "a sandbox with a small ARG_MAX: write_file shrinks its chunks, 1 MiB round-trips"

echo "PASS: $checks checks"
