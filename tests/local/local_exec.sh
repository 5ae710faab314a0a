#!/bin/sh
# Commands in a local sandbox: exit codes, streams, stdin, cwd, shell,
# timeouts, the output cap, and servers reached through url.
set -eu
. "$top_srcdir/tests/local/local_common.sh"

new_sandbox
sb=$id

# Exit codes are the command's; a missing program is 127.
expect 0 csdk exec "$sb" -- true
expect 1 csdk exec "$sb" -- false
expect 42 csdk exec "$sb" -- sh -c 'exit 42'
expect 127 csdk exec "$sb" -- no-such-program
err_has "no-such-program"
expect 0 csdk --json exec "$sb" -- sh -c 'printf out; printf err >&2'
json_check 'd["stdout"] == "out" and d["stderr"] == "err" and d["exit_code"] == 0'

# --shell, --cwd (relative to /workspace), stdin.
expect 0 csdk exec --shell 'echo "$((6 * 7))" | tr 4 X' "$sb"
out_is "X2"
expect 0 csdk exec "$sb" -- mkdir -p sub/dir
expect 0 csdk exec --cwd sub/dir "$sb" -- pwd
out_is "/workspace/sub/dir"
expect 0 csdk exec --cwd /tmp "$sb" -- pwd
out_is "/tmp"
printf 'line one\nline two\n' >"$tmp/in"
expect 0 csdk exec -i "$sb" -- wc -l <"$tmp/in"
out_is "2"
# A command that does not read its (large) stdin still finishes.
head -c 3000000 /dev/zero >"$tmp/big"
expect 0 csdk exec -i "$sb" -- true <"$tmp/big"

# Output is streamed as it arrives: the first line is out before the
# command ends.
csdk exec "$sb" -- sh -c 'echo first; sleep 2; echo second' >"$tmp/stream" 2>&1 &
pid=$!
sleep 1
[ "$(cat "$tmp/stream")" = "first" ] || fail "output was not streamed: '$(cat "$tmp/stream")'"
wait $pid

# A timeout kills the command early: 124 from the CLI, and no sleep left.
start=$(now_ms)
expect 124 csdk exec --timeout 500 "$sb" -- sh -c 'sleep 60; : csdk-timeout-mark'
err_has "timed out"
[ $(($(now_ms) - start)) -lt 5000 ] || fail "--timeout 500 did not stop sleep 60 early"
expect 0 csdk exec "$sb" -- sh -c 'ps -eo args | grep -c "[c]sdk-timeout-mark" || :'
out_is "0"
# Its whole tree, double-forked children too.
expect 124 csdk exec --timeout 500 "$sb" -- sh -c '(sh -c "sleep 60; : csdk-tree-mark" &) ; sleep 60'
expect 0 csdk exec "$sb" -- sh -c 'sleep 0.2; ps -eo args | grep -c "[c]sdk-tree-mark" || :'
out_is "0"

# The output cap: past output_max_mb the rest is dropped, the result is
# marked truncated and the command killed (137: a flood does not run on).
new_sandbox --opt output_max_mb=1
capped=$id
start=$(now_ms)
expect 137 csdk --json exec "$capped" -- sh -c 'yes flood; : csdk-flood-mark'
json_check 'd["truncated"] is True and len(d["stdout"]) == 1048576'
[ $(($(now_ms) - start)) -lt 10000 ] || fail "the flood was not stopped"
expect 0 csdk exec "$capped" -- sh -c 'ps -eo args | grep -c "[c]sdk-flood-mark" || :'
out_is "0"
# Under the cap, nothing is lost.
expect 0 csdk exec "$capped" -- head -c 1000000 /dev/zero
[ "$(wc -c <"$tmp/out")" -eq 1000000 ] || fail "lost output under the cap"

# Binary output passes unchanged.
expect 0 csdk exec "$sb" -- printf 'a\000b\377c'
[ "$(od -An -tx1 "$tmp/out" | tr -d ' \n')" = "610062ff63" ] ||
    fail "binary output changed: $(od -An -tx1 "$tmp/out")"

# No network: url says how to get one (69); there is no interface but lo.
expect 69 csdk url "$sb" 8000
err_one_line
err_has "was created without network; create it with network on (csdk create --network) to reach port 8000"
expect 1 csdk exec "$sb" -- python3 -c '
import socket, sys
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1)
except OSError:
    sys.exit(1)'

# With network: a server in the sandbox is reached at its url.
new_sandbox --network
net=$id
port=$((20000 + $$ % 20000))
expect 0 csdk exec --background "$net" -- python3 -m http.server "$port" --bind 127.0.0.1
expect 0 csdk exec "$net" -- sh -c 'echo served > index.txt'
expect 0 csdk url "$net" "$port"
url=$(cat "$tmp/out")
[ "$url" = "http://127.0.0.1:$port" ] || fail "url printed '$url'"
"$PYTHON" - "$url/index.txt" <<'PY' || fail "the sandbox's server was not reachable at $url"
import sys, time, urllib.request
for _ in range(100):
    try:
        body = urllib.request.urlopen(sys.argv[1], timeout=2).read()
        sys.exit(0 if body == b"served\n" else 1)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
expect 0 csdk exec "$net" -- sh -c 'test -s /etc/resolv.conf && test -d /etc/ssl/certs'

expect 0 csdk destroy "$sb" "$capped" "$net"
exit 0
