#!/bin/bash
# Attacks on the docker provider's isolation with its default settings
# (attack_common.sh), on a private Docker Engine.  Each must fail:
#   1. network: only lo inside; a listener on the host's 127.0.0.1 (and
#      the host's other addresses) cannot be reached;
#   2. capabilities: mount, mknod, sethostname, init_module, raw sockets
#      (ping) and user namespaces are refused; CapEff/CapPrm/CapBnd are
#      exactly the seven documented capabilities; NoNewPrivs is 1;
#   3. setuid (user = 65534:65534): a setuid-root binary in the sandbox
#      gives no root (no-new-privileges; a control container without it
#      shows the binary would); the user cannot write /usr or /etc;
#   4. fork bombs are held at pids_limit (256): one run with --timeout
#      ends there, the classic one ends with destroy;
#   5. a 2 GiB memory bomb in the default 512 MiB is killed;
#   6. a command that kills its parent (the provider's wrapper, when it
#      has one) and double-forks -- into its own session, with a cleared
#      environment, or then killing itself -- leaves no process behind
#      once the call (--timeout 1000) returns;
#   7. killing the keep-alive (pid 1) from inside stops the sandbox; the
#      provider then says it is stopped, not a hang.
# After each attack the bystander sandbox, the engine and the host are
# checked (healthy).  The attacks on files and on containers csdk did not
# make are in attack_docker_fs.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/docker/attack_common.sh"

tag=csdk-atk-$$-$RANDOM

# ------------------------------------------------------------------
# 1. Network
# ------------------------------------------------------------------
new_sandbox a
run csdk exec "$a" -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = lo ]; then
    ok "network: /proc/net/dev in the sandbox lists only lo"
else
    bad "network: /proc/net/dev in the sandbox lists: $(tr '\n' ' ' <"$tmp/out") (exit $rc)"
fi

mkdir "$tmp/www"
(cd "$tmp/www" && exec "$PYTHON" -u -m http.server --bind 127.0.0.1 0) \
    >"$tmp/http.out" 2>"$tmp/http.log" &
host_pids="$host_pids $!"
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$tmp/http.out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
done
host_ips=$(ip -o -4 addr show 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' |
    grep -v '^127\.' | tr '\n' ' ')
if [ -z "$port" ]; then
    bad "network: the host listener (python3 -m http.server) did not start"
else
    echo "# host listener on 127.0.0.1:$port; host addresses: ${host_ips:-none}"
    # shellcheck disable=SC2086
    run csdk exec --timeout 30000 "$a" -- /usr/bin/python3 -c '
import socket, sys
port = int(sys.argv[1])
for host in ["127.0.0.1", "172.17.0.1"] + sys.argv[2:]:
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port))
        s.sendall(b"GET /from-sandbox HTTP/1.0\r\n\r\n")
        print("CONNECTED %s:%d %r" % (host, port, s.recv(64)))
    except OSError as e:
        print("refused %s:%d: %s" % (host, port, e))
    s.close()' "$port" $host_ips
    sed 's/^/#   /' "$tmp/out"
    if [ "$rc" != 0 ] || ! grep -q '^refused 127.0.0.1' "$tmp/out"; then
        bad "network: the probe did not run in the sandbox (exit $rc)"
    elif grep -q CONNECTED "$tmp/out"; then
        bad "network: A CONNECTION FROM THE SANDBOX REACHED THE HOST: $(grep CONNECTED "$tmp/out" | tr '\n' '|')"
    else
        ok "network: connecting to the host's 127.0.0.1:$port and its addresses fails"
    fi
    run csdk exec --timeout 30000 "$a" -- curl -sS --max-time 3 "http://127.0.0.1:$port/"
    expect_fail "network: curl http://127.0.0.1:$port/ from the sandbox"
    sleep 0.3
    if grep -q 'GET' "$tmp/http.log"; then
        bad "network: THE HOST LISTENER RECEIVED: $(tr '\n' '|' <"$tmp/http.log")"
    else
        ok "network: the host listener received nothing from the sandbox"
    fi
    # Control: the listener answers the host, so "nothing" above means something.
    if curl -sf --max-time 5 "http://127.0.0.1:$port/" >/dev/null &&
        grep -q 'GET / ' "$tmp/http.log"; then
        ok "network: control: the host itself reaches the listener"
    else
        bad "network: control: the listener does not answer the host"
    fi
fi
healthy "the network attacks"

# ------------------------------------------------------------------
# 2. Capabilities
# ------------------------------------------------------------------
run csdk exec "$a" -- sh -c 'mkdir -p /mnt && busybox mount -t tmpfs none /mnt'
expect_fail "caps: mount -t tmpfs none /mnt"
run csdk exec "$a" -- sh -c 'grep " /mnt " /proc/mounts'
[ ! -s "$tmp/out" ] || bad "caps: a tmpfs IS MOUNTED on /mnt"
run csdk exec "$a" -- busybox mknod /tmp/null-$tag c 1 3
expect_fail "caps: mknod /tmp/null c 1 3"
run csdk exec "$a" -- busybox hostname "evil-$$"
expect_fail "caps: hostname evil"
run csdk exec "$a" -- hostname
if grep -q "evil-$$" "$tmp/out"; then bad "caps: THE HOSTNAME CHANGED"; fi
[ "$(hostname)" != "evil-$$" ] || bad "caps: THE HOST'S HOSTNAME CHANGED"
run csdk exec "$a" -- /usr/bin/python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.init_module(None, ctypes.c_ulong(0), b"")
e = ctypes.get_errno()
print("init_module:", r, os.strerror(e))
sys.exit(0 if r == 0 or e != 1 else 3)'
if [ "$rc" = 3 ]; then
    ok "caps: init_module (load a kernel module) refused: $(cat "$tmp/out")"
else
    bad "caps: init_module was not refused with EPERM (exit $rc)"
fi
run csdk exec "$a" -- /usr/bin/python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("RAW SOCKET")'
expect_fail "caps: a raw ICMP socket"
run csdk exec "$a" -- busybox ping -c 1 -W 1 127.0.0.1
expect_fail "caps: busybox ping 127.0.0.1"
run csdk exec "$a" -- unshare --user --map-root-user --mount true
expect_fail "caps: unshare --user --map-root-user --mount (a user namespace)"
run csdk exec "$a" -- sh -c 'grep -E "^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status'
sed 's/^/#   /' "$tmp/out"
# CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7.
kept=00000000000000fb
for f in CapPrm CapEff CapBnd; do
    v=$(awk -v f="$f:" '$1 == f { print $2 }' "$tmp/out")
    if [ "$v" = "$kept" ]; then
        ok "caps: $f is $v: only CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID"
    else
        bad "caps: $f is '$v', the documented kept set is $kept"
    fi
done
v=$(awk '$1 == "CapAmb:" { print $2 }' "$tmp/out")
[ "$v" = 0000000000000000 ] || bad "caps: CapAmb is '$v', expected none"
if grep -qx 'NoNewPrivs:[[:space:]]*1' "$tmp/out"; then
    ok "caps: NoNewPrivs is 1"
else
    bad "caps: NoNewPrivs is not 1"
fi
healthy "the capability attacks"

# ------------------------------------------------------------------
# 3. Setuid, as user 65534:65534
# ------------------------------------------------------------------
new_sandbox n nobody
run csdk exec "$n" -- id -u
[ "$(cat "$tmp/out")" = 65534 ] || bad "setuid: the nobody sandbox runs as '$(cat "$tmp/out")', not 65534"
# A setuid-root binary in the sandbox, as an image may ship one: a copy of
# id made setuid root by root through the engine (the sandbox's user
# cannot make one itself).
engine_exec "${n#*:}" '["/bin/sh","-c","cp /usr/bin/id /tmp/suid-id && chmod 4755 /tmp/suid-id"]' \
    '"User":"0"' >/dev/null 2>&1 || bad "setuid: could not place the setuid-root probe"
run csdk exec "$n" -- sh -c 'ls -ln /tmp/suid-id; /tmp/suid-id -u'
sed 's/^/#   /' "$tmp/out"
if [ "$rc" = 0 ] && grep -q '^-rws.* 0 ' "$tmp/out" && [ "$(tail -n 1 "$tmp/out")" = 65534 ]; then
    ok "setuid: a setuid-root binary run as 65534 stays euid 65534"
else
    bad "setuid: the setuid-root binary ran with euid '$(tail -n 1 "$tmp/out")' (exit $rc)"
fi
run csdk exec "$n" -- sh -c 'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status'
if grep -qx 'CapEff:[[:space:]]*0000000000000000' "$tmp/out" &&
    grep -qx 'NoNewPrivs:[[:space:]]*1' "$tmp/out"; then
    ok "setuid: as 65534 CapEff is 0 and NoNewPrivs is 1"
else
    bad "setuid: as 65534: $(tr '\n' ' ' <"$tmp/out")"
fi
# Control: without no-new-privileges the same binary does give root, so
# the check above tests the defence.
cid=$(engine_run csdk-test/hostusr '["/usr/bin/sleep","600"]' '"Binds":["/usr:/usr:ro"]') &&
    engine_exec "$cid" '["/bin/sh","-c","cp /usr/bin/id /tmp/suid-id && chmod 4755 /tmp/suid-id"]' >/dev/null 2>&1
ctl=$(engine_exec "$cid" '["/tmp/suid-id","-u"]' '"User":"65534:65534"' 2>&1)
if [ "$ctl" = 0 ]; then
    ok "setuid: control: without no-new-privileges the probe gives euid 0"
else
    bad "setuid: control: the probe gave '$ctl' without no-new-privileges (expected 0)"
fi
[ -z "$cid" ] || engine_rm "$cid" >/dev/null 2>&1
run csdk exec "$n" -- touch /usr/csdk-$tag
expect_fail "setuid: 65534 writes /usr"
run csdk exec "$n" -- sh -c 'echo evil::0:0::/:/bin/sh >>/etc/passwd'
expect_fail "setuid: 65534 appends to /etc/passwd"
[ ! -e "/usr/csdk-$tag" ] || bad "setuid: /usr/csdk-$tag APPEARED ON THE HOST"
csdk -q destroy "$n" >/dev/null 2>&1
healthy "the setuid attacks"

# ------------------------------------------------------------------
# 4. Fork bomb
# ------------------------------------------------------------------
# bomb_contained WHAT PIDS_DIR: while a bomb runs, the sandbox holds at
# most 256 processes, the host spawns and the bystander answers.
bomb_contained() {
    local n
    : >"$tmp/out"
    : >"$tmp/err"
    n=$(cat "$2/pids.current" 2>/dev/null)
    echo "#   $1: pids.current=$n; pids.events: $(tr '\n' ' ' <"$2/pids.events" 2>/dev/null)"
    if [ -n "$n" ] && [ "$n" -le 256 ]; then
        ok "fork bomb: $1: the sandbox holds $n processes (limit 256)"
    else
        bad "fork bomb: $1: the sandbox holds '$n' processes (limit 256)"
    fi
    if host_can_spawn; then
        ok "fork bomb: $1: the host still spawns processes"
    else
        bad "fork bomb: $1: the host cannot spawn 50 processes in 10 s"
    fi
    if bystander_ok; then
        ok "fork bomb: $1: the bystander runs 'echo ok'"
    else
        bad "fork bomb: $1: the bystander does not answer"
    fi
}

# (a) A bomb whose command stays in the foreground: --timeout ends it.
new_sandbox fb
pcg=$(cgroup_dir pids "$fb")
pmax=$(cat "$pcg/pids.max" 2>/dev/null)
if [ "$pmax" = 256 ]; then
    ok "fork bomb: the sandbox's pids.max is 256 ($pcg)"
else
    bad "fork bomb: the sandbox's pids.max is '$pmax', expected 256 ($pcg)"
fi
start=$SECONDS
csdk exec --timeout 5000 "$fb" -- sh -c 'f() { f & f & wait; }; sleep 100 & f & wait' \
    >"$tmp/bomb.out" 2>"$tmp/bomb.err" &
bomb=$!
sleep 2.5
bomb_contained "during a bomb run with --timeout 5000" "$pcg"
if wait "$bomb"; then rc=0; else rc=$?; fi
took=$((SECONDS - start))
if [ "$rc" = 124 ] && [ "$took" -le 30 ]; then
    ok "fork bomb: its command was killed at its timeout (exit 124 after ${took}s)"
else
    bad "fork bomb: its command: exit $rc after ${took}s, expected 124 at ~5s ($(grep -v 'Cannot fork' "$tmp/bomb.err" | head -c 200 | tr '\n' '|'))"
fi
n=
for _ in $(seq 150); do
    n=$(cat "$pcg/pids.current" 2>/dev/null)
    [ -n "$n" ] && [ "$n" -le 2 ] && break
    sleep 0.1
done
: >"$tmp/out"
: >"$tmp/err"
if [ -n "$n" ] && [ "$n" -le 2 ]; then
    ok "fork bomb: within $((SECONDS - start - took))s of the call's return only the keep-alive is left ($n processes)"
else
    known "fork bomb: 15 s after the timeout $n processes are left in the sandbox (the bomb can take the process slot the timeout's watchdog needs)"
fi
run csdk exec --timeout 20000 "$fb" -- echo ok
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = ok ]; then
    ok "fork bomb: the bombed sandbox runs commands again"
else
    known "fork bomb: the bombed sandbox does not recover while the bomb lives (exit $rc); destroy ends it"
fi
csdk -q destroy "$fb" >/dev/null 2>&1
healthy "a fork bomb killed at its timeout"

# (b) The classic bomb: its command returns at once and the bomb goes on
# in the sandbox until the sandbox is destroyed.
new_sandbox fb2
pcg=$(cgroup_dir pids "$fb2")
run csdk exec --timeout 20000 "$fb2" -- bash -c ':(){ :|:& };:'
echo "#   the classic bomb's command returned: exit $rc"
sleep 2
bomb_contained "the classic bomb :(){ :|:& };:" "$pcg"
run csdk destroy "$fb2"
if [ "$rc" = 0 ]; then
    ok "fork bomb: destroy of the sandbox with the running bomb succeeds"
else
    bad "fork bomb: destroy of the sandbox with the running bomb: exit $rc"
fi
for _ in $(seq 50); do
    [ -d "$pcg" ] || break
    sleep 0.1
done
if [ ! -d "$pcg" ] && ! running "$fb2"; then
    ok "fork bomb: after destroy the container and its pids cgroup are gone"
else
    bad "fork bomb: after destroy $pcg or the container is still there"
fi
healthy "a fork bomb ended by destroy"

# ------------------------------------------------------------------
# 5. Memory bomb
# ------------------------------------------------------------------
new_sandbox mb
mcg=$(cgroup_dir memory "$mb")
lim=$(cat "$mcg/memory.limit_in_bytes" 2>/dev/null || cat "$mcg/memory.max" 2>/dev/null)
if [ "$lim" = $((512 << 20)) ]; then
    ok "memory bomb: the sandbox's memory limit is 512 MiB"
else
    bad "memory bomb: the sandbox's memory limit is '$lim', expected $((512 << 20))"
fi
start=$SECONDS
run csdk exec --timeout 60000 "$mb" -- /usr/bin/python3 -c '
b = bytearray(2 << 30)
for i in range(0, len(b), 4096):
    b[i] = 1
print("ALLOCATED 2 GiB")'
if { [ "$rc" = 137 ] || grep -q MemoryError "$tmp/err"; } && ! grep -q ALLOCATED "$tmp/out"; then
    ok "memory bomb: 2 GiB in a 512 MiB sandbox fails (exit $rc after $((SECONDS - start))s)"
else
    bad "memory bomb: 2 GiB in a 512 MiB sandbox: exit $rc"
fi
peak=$(cat "$mcg/memory.max_usage_in_bytes" 2>/dev/null || cat "$mcg/memory.peak" 2>/dev/null)
if [ -n "$peak" ] && [ "$peak" -le $(((512 + 4) << 20)) ]; then
    ok "memory bomb: the sandbox's peak memory was $((peak >> 20)) MiB (limit 512)"
else
    bad "memory bomb: the sandbox's peak memory was '$peak' bytes"
fi
run csdk exec --timeout 20000 "$mb" -- echo ok
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = ok ]; then
    ok "memory bomb: the sandbox runs commands again"
else
    bad "memory bomb: the sandbox does not recover (exit $rc)"
fi
csdk -q destroy "$mb" >/dev/null 2>&1
healthy "a memory bomb"

# ------------------------------------------------------------------
# 6. A command that kills its parent and double-forks
# ------------------------------------------------------------------
# survivors MARK: the processes in $a whose command line holds MARK (the
# mark is passed in two pieces so the search does not find itself).
survivors() {
    csdk -q exec "$a" -- sh -c 'for p in /proc/[0-9]*; do
        c=$(tr "\0" " " <"$p/cmdline" 2>/dev/null)
        case $c in *"$1$2"*) echo "${p#/proc/} $c" ;; esac
    done' sh "${1%%-*}-" "${1#*-}"
}
# no_survivor MARK TEXT: within 5 s no process of MARK is left in $a
# (time for a watchdog inside the sandbox to act after the call returns).
no_survivor() {
    local s
    for _ in $(seq 50); do
        s=$(survivors "$1")
        [ -z "$s" ] && { ok "$2"; return; }
        sleep 0.1
    done
    bad "$2: SURVIVORS: $(echo "$s" | tr '\n' '|' | cut -c1-300)"
}
# The grandchild: python ignoring TERM and HUP, its mark as an argument.
gc='import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
time.sleep(600)'
variant() {
    local mark=$1 what=$2 script=$3 start took
    start=$SECONDS
    run csdk exec --timeout 1000 "$a" -- sh -c "$script" sh "$gc" "$mark"
    took=$((SECONDS - start))
    echo "#   $what: exit $rc after ${took}s"
    [ "$took" -le 20 ] || bad "tree: $what: the call took ${took}s (timeout 1 s)"
    no_survivor "$mark" "tree: $what: no process of it is left when the call returns"
}
# The parent, when it is inside the sandbox, is the provider's wrapper.
kp='[ "$PPID" -gt 1 ] && kill -KILL "$PPID"'
variant "tree1-$tag" "a child and a grandchild past the timeout" \
    '/usr/bin/python3 -c "$1" "$2" & sleep 600'
variant "tree2-$tag" "kills its parent, double-forks, keeps running" \
    '(/usr/bin/python3 -c "$1" "$2" </dev/null >/dev/null 2>&1 &); sleep 0.3
'"$kp"'; sleep 600'
variant "tree3-$tag" "kills its parent, double-forks with setsid, keeps running" \
    '(setsid /usr/bin/python3 -c "$1" "$2" </dev/null >/dev/null 2>&1 &); sleep 0.3
'"$kp"'; sleep 600'
variant "tree4-$tag" "kills its parent, double-forks with setsid and env -i, keeps running" \
    '(setsid env -i /usr/bin/python3 -c "$1" "$2" </dev/null >/dev/null 2>&1 &); sleep 0.3
'"$kp"'; sleep 600'
variant "tree5-$tag" "double-forks with setsid, kills its parent, then itself (SIGKILL)" \
    '(setsid /usr/bin/python3 -c "$1" "$2" </dev/null >/dev/null 2>&1 &); sleep 0.3
'"$kp"'; kill -KILL $$'
csdk -q destroy "$a" >/dev/null 2>&1
healthy "the tree-kill attacks"

# ------------------------------------------------------------------
# 7. Killing the keep-alive (pid 1) from inside
# ------------------------------------------------------------------
new_sandbox k
start=$SECONDS
run csdk exec --timeout 20000 "$k" -- sh -c 'kill -KILL 1; kill -TERM 1; sleep 30'
took=$((SECONDS - start))
if [ "$rc" != 0 ] && [ "$took" -le 25 ]; then
    ok "pid 1: 'kill 1' inside returned after ${took}s (exit $rc)"
else
    bad "pid 1: 'kill 1' inside: exit $rc after ${took}s"
fi
st=
for _ in $(seq 30); do
    run csdk info "$k"
    st=$(sed -n 's/^status: *//p' "$tmp/out")
    [ "$rc" = 66 ] && st=gone
    case $st in stopped | exited | gone) break ;; esac
    sleep 0.5
done
case $st in
stopped | exited | gone) ok "pid 1: info then reports the sandbox as $st" ;;
*) bad "pid 1: info reports '$st' (exit $rc), expected stopped or gone" ;;
esac
if running "$k"; then bad "pid 1: the engine still runs the container"; fi
start=$SECONDS
run csdk exec --timeout 10000 "$k" -- echo hi
took=$((SECONDS - start))
if { [ "$rc" = 73 ] || [ "$rc" = 66 ]; } && [ "$took" -le 20 ]; then
    ok "pid 1: a command in it is refused at once (exit $rc: $(cut -c1-120 "$tmp/err"))"
else
    bad "pid 1: a command in the stopped sandbox: exit $rc after ${took}s"
fi
run csdk list
ln=$(grep -F "$k " "$tmp/out")
case $ln in
"") ok "pid 1: list no longer shows it" ;;
*stopped* | *exited*) ok "pid 1: list shows it stopped" ;;
*) bad "pid 1: list shows '$ln'" ;;
esac
run csdk destroy "$k"
[ "$rc" = 0 ] || bad "pid 1: destroy of the stopped sandbox: exit $rc"
healthy "killing pid 1"
finish
