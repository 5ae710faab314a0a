#!/bin/sh
# The local provider's sandbox lifecycle across csdk processes: create in
# one, use in the next; state that persists; destroy that leaves nothing;
# expiry and reaping; named sandboxes; configuration errors.
set -eu
. "$top_srcdir/tests/local/local_common.sh"

marker="csdk-life-marker-$$"

# Create in one process, use it from the next ones.
new_sandbox
sb=$id
dir=$(state_dir "$sb")
[ -d "$dir/ws" ] || fail "no state directory $dir"
expect 3 csdk exec "$sb" -- sh -c 'echo hello; echo oops >&2; exit 3'
out_is "hello"
err_has "oops"
expect 0 csdk exec "$sb" -- pwd
out_is "/workspace"
expect 0 csdk exec "$sb" -- id -un
out_is "sandbox"
expect 0 csdk exec "$sb" -- sh -c 'echo "$HOME $USER $LANG"'
out_is "/home/sandbox sandbox C.UTF-8"
expect 0 csdk --json info "$sb"
json_check 'd["status"] == "running" and d["id"] == "'"$sb"'"'
expect 0 csdk list
out_has "$sb"

# /tmp, $HOME and the workspace persist between commands.
expect 0 csdk exec "$sb" -- sh -c 'echo t > /tmp/t; echo h > ~/h; echo w > w'
expect 0 csdk exec "$sb" -- cat /tmp/t /home/sandbox/h /workspace/w
out_is "t
h
w"
expect 0 csdk fs read "$sb" /tmp/t
out_is "t"

# The sandbox's environment and the call's (the call wins).
new_sandbox --env GREETING=hi --env WHO=all
envsb=$id
expect 0 csdk exec --env WHO=you "$envsb" -- sh -c 'echo "$GREETING $WHO"'
out_is "hi you"
expect 0 csdk exec "$envsb" -- sh -c 'echo "${NODE_EXTRA_CA_CERTS:-clean}"'
out_is "clean"

# A background server started by one command is visible to the next and
# can be killed by it; a background child does not hold a command up.
expect 0 csdk exec --background "$sb" -- python3 -c 'import time; time.sleep(300)' "$marker-bg"
bgpid=$(cat "$tmp/out")
[ "$bgpid" -gt 1 ] 2>/dev/null || fail "background pid '$bgpid'"
# (the pattern "[c]sdk..." does not match the command line holding it)
pat="[c]${marker#c}"
expect 0 csdk exec "$sb" -- sh -c "ps -eo args | grep -c '$pat-bg'"
out_is "1"
expect 0 csdk exec "$sb" -- kill "$bgpid"
expect 0 csdk exec "$sb" -- sh -c "sleep 0.2; ps -eo args | grep -c '$pat-bg' || :"
out_is "0"
start=$(now_ms)
expect 0 csdk exec "$sb" -- sh -c "sleep 301 & echo started"
out_is "started"
[ $(($(now_ms) - start)) -lt 5000 ] || fail "a background child held exec up"
expect 0 csdk exec "$sb" -- sh -c "ps -eo args | grep -c '^[s]leep 301'"
out_is "1"

# destroy kills every process of the sandbox and removes its state;
# destroying again is fine.
expect 0 csdk exec --background "$sb" -- sh -c "(sleep 400; : $marker-deep) & sleep 500; : $marker"
pgrep -f -- "$marker" >/dev/null || fail "the sandbox's processes are not visible from the host"
expect 0 csdk destroy "$sb"
no_process "$marker"
[ ! -e "$dir" ] || fail "destroy left $dir"
expect 66 csdk info "$sb"
err_one_line
expect 0 csdk destroy "$sb"
expect 0 csdk destroy local:lc-0000000000000000
expect 0 csdk list
out_lacks "$sb"

# An expired sandbox is reaped by the next command: its agent shuts it
# down at expiry, and the next csdk process removes the state.
new_sandbox --timeout 1000
short=$id
sdir=$(state_dir "$short")
expect 0 csdk exec --background "$short" -- sh -c "sleep 300; : $marker-exp"
sleep 1.5
expect 0 csdk list
out_lacks "$short"
[ ! -e "$sdir" ] || fail "the expired sandbox's state $sdir is still there"
no_process "$marker-exp"
expect 66 csdk exec "$short" -- true

# extend adds to the lifetime.
new_sandbox --timeout 60000
ext=$id
expect 0 csdk --json info "$ext"
before=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["expires_ms"])' "$tmp/out")
expect 0 csdk extend "$ext" 30000
expect 0 csdk --json info "$ext"
json_check 'd["expires_ms"] >= '"$before"' + 30000'

# A sandbox whose agent died reports "stopped" at once and is reaped by
# the next csdk process.
new_sandbox
dead=$id
kill -KILL "$(sed -n 's/^bwrap_pid=//p' "$(state_dir "$dead")/meta")"
sleep 0.2
start=$(now_ms)
expect 0 csdk list
[ $(($(now_ms) - start)) -lt 3000 ] || fail "list hung on a dead sandbox"
out_lacks "$dead"
[ ! -e "$(state_dir "$dead")" ] || fail "a dead sandbox was not reaped"

# Named sandboxes: one sandbox per (namespace, name), across processes.
expect 66 csdk find ns1 box
expect 0 csdk --json find-or-create ns1 box
json_check 'd["created"] is True and d["name"] == "box" and d["namespace"] == "ns1"'
named=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/out")
expect 0 csdk --json find-or-create ns1 box
json_check 'd["created"] is False and d["id"] == "'"$named"'"'
expect 0 csdk find ns1 box
out_is "$named"
expect 0 csdk find-or-create ns2 box
[ "$(cat "$tmp/out")" != "$named" ] || fail "another namespace got the same sandbox"
# Concurrent find-or-create calls get one sandbox.
for i in 1 2 3 4; do
    csdk find-or-create race box >"$tmp/race.$i" 2>&1 &
done
wait
[ "$(cat "$tmp"/race.* | sort -u | wc -l)" -eq 1 ] ||
    fail "concurrent find-or-create made several sandboxes: $(cat "$tmp"/race.*)"
expect 0 csdk destroy "$named"
expect 66 csdk find ns1 box

# A long ROOT (past the 107 bytes of a unix socket path) still works.
long=$tmp/a-rather-long-directory-name-to-push-the-socket-path/past-the-limit-of-sun-path/root
cat >"$tmp/long.ini" <<INI
[provider.local]
plugin = local
root = $long
agent = $AGENT
[host]
plugin_dir = $PLUGIN_DIR
INI
expect 0 "$CSDK_BIN" --config "$tmp/long.ini" create
lid=$(cat "$tmp/out")
expect 0 "$CSDK_BIN" --config "$tmp/long.ini" exec "$lid" -- echo long
out_is "long"
expect 0 "$CSDK_BIN" --config "$tmp/long.ini" destroy "$lid"

# Configuration mistakes name the section and the key (78), create
# options the option (65); a failed create leaves nothing behind.
before=$(ls "$root/sandboxes" | wc -l)
cat >"$tmp/bad.ini" <<INI
[host]
plugin_dir = $PLUGIN_DIR
[provider.local]
plugin = local
root = $root
colour = blue
INI
expect 78 "$CSDK_BIN" --config "$tmp/bad.ini" create -p local
err_has "[provider.local] unknown key 'colour'"
sed -i 's/^colour = blue$/memory_mb = lots/' "$tmp/bad.ini"
expect 78 "$CSDK_BIN" --config "$tmp/bad.ini" create -p local
err_has "memory_mb = 'lots'"
err_has "whole number of MiB"
sed -i 's/^memory_mb = lots$/cpus = 1.2345/' "$tmp/bad.ini"
expect 78 "$CSDK_BIN" --config "$tmp/bad.ini" create -p local
err_has "cpus = '1.2345'"
expect 65 csdk create --opt colour=blue
err_has "unknown create option 'colour'"
expect 65 csdk create --opt pids=3
err_has "create option pids=3"
expect 65 csdk create --opt root=/elsewhere
err_has "per provider instance"
# The programs run on the host are not the creator's to choose.
expect 65 csdk create --opt agent=/nonexistent/csdk-local-agent
err_has "per provider instance"
expect 65 csdk create --opt bwrap=/bin/sh
err_has "per provider instance"
[ "$(ls "$root/sandboxes" | wc -l)" -eq "$before" ] ||
    fail "failed creates left state: $(ls "$root/sandboxes")"
exit 0
