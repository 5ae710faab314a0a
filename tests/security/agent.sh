#!/bin/bash
# Attack: reach the machinery of the sandbox, or another sandbox.
#   1. The agent's control socket (ctl.sock, on the host in the sandbox's
#      state directory): no unix socket of it is listed inside
#      (/proc/net/unix, ss -xl), no socket file exists anywhere in the
#      sandbox's filesystem, and connecting to its host path (of this
#      sandbox or another) fails because the path does not exist there.
#   2. The agent (pid 1) and the command's supervisor (its parent):
#      /proc/1/environ, /proc/1/fd, exe, cwd, root, mem, ptrace attach
#      and pidfd_getfd of its fds all fail; SIGKILL to pid 1 does nothing.
#   3. Another sandbox's files: its workspace, /tmp and home on the host
#      are reachable by no path -- not by exec, not by the filesystem
#      API, not by a symlink, not through /proc/PID/root.
#   4. Another sandbox's processes: a marker process of sandbox B is
#      invisible in sandbox A, kill of its host pid from A fails, and even
#      `kill -9 -1` in A (only run once A's pid namespace is shown to be
#      separate) leaves B, the bystander and the host alone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

tag=csdk-sec-$$-$RANDOM
new_sandbox a
new_sandbox b
sa=$(state_dir "$a")
sb=$(state_dir "$b")
[ -S "$sa/ctl.sock" ] && [ -S "$sb/ctl.sock" ] ||
    echo "# (no ctl.sock in the state directories: the socket tests still run)"

# ------------------------------------------------------------------
# 1. The control socket
# ------------------------------------------------------------------
run csdk exec "$a" -- sh -c 'cat /proc/net/unix; ss -xl 2>&1; ss -xa 2>&1'
if grep -q 'ctl\.sock\|/sandboxes/' "$tmp/out"; then
    bad "the sandbox lists control sockets: $(grep 'ctl.sock' "$tmp/out" | head -n 3 | tr '\n' '|')"
else
    ok "neither /proc/net/unix nor ss -xl lists a ctl.sock inside"
fi
run csdk exec --timeout 60000 "$a" -- sh -c 'find / -path /proc -prune -o -type s -print 2>/dev/null'
if [ -s "$tmp/out" ]; then
    bad "socket files exist in the sandbox: $(head -n 5 "$tmp/out" | tr '\n' ' ')"
else
    ok "no socket file exists anywhere in the sandbox's filesystem"
fi
cat >"$tmp/sock.py" <<'PY'
import os, socket, sys
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        print("CONNECTED", path)
        s.sendall(b"\0" * 64)
    except OSError as e:
        print("refused", path, e)
    print("exists" if os.path.exists(path) else "absent", path)
PY
run csdk exec "$a" -- /usr/bin/python3 -c "$(cat "$tmp/sock.py")" \
    "$sa/ctl.sock" "$sb/ctl.sock" "$sa" "$root"
sed 's/^/#   /' "$tmp/out"
if [ "$rc" != 0 ] || [ "$(grep -c '^absent\|^exists' "$tmp/out")" != 4 ]; then
    bad "the socket probe did not run in the sandbox (exit $rc)"
elif grep -q '^CONNECTED\|^exists' "$tmp/out"; then
    bad "A SANDBOX REACHED A CONTROL SOCKET OR THE STATE DIRECTORY"
else
    ok "connecting to the host paths of its own and another sandbox's ctl.sock fails: the paths do not exist inside"
fi
# With --network the sandbox shares the host's network namespace, and so
# its list of unix sockets: the control sockets' host paths are listed
# (they name the state directory and other sandboxes' ids), but a path
# is still not a way in.
new_sandbox n --network
run csdk exec "$n" -- cat /proc/net/unix
listed=$(awk '$NF ~ /ctl\.sock$/ { print $NF }' "$tmp/out" | sort -u)
echo "#   with --network, /proc/net/unix inside lists $(echo "$listed" | grep -c .) ctl.sock paths of the host"
# shellcheck disable=SC2086
run csdk exec "$n" -- /usr/bin/python3 -c "$(cat "$tmp/sock.py")" \
    "$sa/ctl.sock" "$(state_dir "$n")/ctl.sock" $listed
if [ "$rc" != 0 ] || [ "$(grep -c '^absent\|^exists' "$tmp/out")" -lt 2 ]; then
    bad "the socket probe did not run in the --network sandbox (exit $rc)"
elif grep -q '^CONNECTED\|^exists' "$tmp/out"; then
    bad "A SANDBOX WITH NETWORK REACHED A CONTROL SOCKET: $(grep '^CONNECTED\|^exists' "$tmp/out" | tr '\n' '|')"
else
    ok "with --network too, connecting to any listed ctl.sock path fails (absent inside)"
fi
csdk -q destroy "$n" >/dev/null 2>&1
# Control: from the host, the socket is there and answers.
if [ -S "$sa/ctl.sock" ]; then
    if "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sa/ctl.sock"; then
        ok "control: the same ctl.sock path accepts a connection from the host"
    else
        bad "control: the host cannot connect to $sa/ctl.sock either"
    fi
fi
healthy "control socket probes"

# ------------------------------------------------------------------
# 2. The agent and the supervisor
# ------------------------------------------------------------------
cat >"$tmp/agent.py" <<'PY'
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def attempt(what, fn):
    try:
        r = fn()
        print("GOT", what, repr(r)[:100])
    except OSError as e:
        print("refused", what, e.strerror)
targets = {"agent": 1, "supervisor": os.getppid()}
for name, pid in targets.items():
    attempt(name + " environ", lambda: open("/proc/%d/environ" % pid, "rb").read())
    attempt(name + " fd list", lambda: [os.readlink("/proc/%d/fd/%s" % (pid, f))
                                         for f in os.listdir("/proc/%d/fd" % pid)])
    attempt(name + " fd 3 open", lambda: os.open("/proc/%d/fd/3" % pid, os.O_RDONLY))
    attempt(name + " exe", lambda: os.readlink("/proc/%d/exe" % pid))
    attempt(name + " cwd", lambda: os.readlink("/proc/%d/cwd" % pid))
    attempt(name + " root", lambda: os.listdir("/proc/%d/root/" % pid))
    attempt(name + " maps", lambda: open("/proc/%d/maps" % pid).read())
    attempt(name + " mem", lambda: open("/proc/%d/mem" % pid, "rb").read(1))
    def ptrace():
        if libc.ptrace(16, pid, 0, 0) != 0:          # PTRACE_ATTACH
            e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
        return "attached"
    attempt(name + " ptrace", ptrace)
    def getfd():
        pfd = os.pidfd_open(pid)
        fds = []
        for n in range(0, 16):
            r = libc.syscall(438, pfd, n, 0)          # pidfd_getfd
            if r >= 0:
                fds.append((n, os.readlink("/proc/self/fd/%d" % r)))
        if not fds:
            e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
        return fds
    attempt(name + " pidfd_getfd", getfd)
try:
    os.kill(1, signal.SIGKILL)
    print("sent SIGKILL to pid 1")
except OSError as e:
    print("kill 1:", e.strerror)
time.sleep(0.2)
print("pid 1 alive" if os.path.exists("/proc/1") else "PID 1 GONE")
PY
run csdk exec "$a" -- /usr/bin/python3 -c "$(cat "$tmp/agent.py")"
sed 's/^/#   /' "$tmp/out"
if [ "$rc" = 0 ] && ! grep -q '^GOT\|PID 1 GONE' "$tmp/out" &&
    [ "$(grep -c '^refused' "$tmp/out")" -ge 20 ]; then
    ok "the agent and the supervisor cannot be read, traced or robbed of an fd"
else
    bad "the agent or the supervisor was reached: $(grep '^GOT' "$tmp/out" | tr '\n' '|')"
fi
run csdk exec "$a" -- sh -c 'cat /proc/1/environ; ls -l /proc/1/fd'
if [ "$rc" != 0 ] && ! grep -q -- '->' "$tmp/out" && ! grep -qa PATH= "$tmp/out"; then
    ok "cat /proc/1/environ and ls -l /proc/1/fd fail (exit $rc)"
else
    bad "cat /proc/1/environ / ls -l /proc/1/fd (exit $rc): $(head -c 200 "$tmp/out")"
fi
run csdk exec "$a" -- echo still-here
if [ "$(cat "$tmp/out")" = still-here ]; then
    ok "the agent survived SIGKILL from inside and still runs commands"
else
    bad "the sandbox no longer runs commands after SIGKILL to pid 1 (exit $rc)"
fi
# What every sandbox shares with the others: the agent binary and the
# /etc the provider builds once per ROOT, both bound read-only.  Not
# writable, not even by root of a nested user namespace after a remount.
agent_sum=$(sha256sum <"$AGENT")
etc_sum=$(cat "$root"/etc/*/passwd "$root"/etc/*/hosts 2>/dev/null | sha256sum)
run csdk exec "$a" -- sh -c '
echo x >>/run/csdk/agent; echo "agent append: $?"
echo "evil:x:0:0::/:/bin/sh" >>/etc/passwd; echo "passwd append: $?"
touch /etc/new /usr/new /usr/bin/new; echo "touch: $?"
unshare -Urm sh -c "mount -o remount,rw /etc; mount -o remount,rw /run/csdk/agent;
    mount -o remount,rw /usr; echo y >>/etc/passwd; echo y >>/run/csdk/agent;
    echo nested: \$?" 2>&1
true'
sed 's/^/#   /' "$tmp/out"
if [ "$(sha256sum <"$AGENT")" = "$agent_sum" ] &&
    [ "$(cat "$root"/etc/*/passwd "$root"/etc/*/hosts 2>/dev/null | sha256sum)" = "$etc_sum" ] &&
    ! grep -q ': 0$' "$tmp/out"; then
    ok "the shared agent binary, /etc and /usr cannot be modified from inside"
else
    bad "A SANDBOX MODIFIED WHAT ALL SANDBOXES SHARE: $(tr '\n' '|' <"$tmp/out")"
fi
healthy "agent probes"

# ------------------------------------------------------------------
# 3. The other sandbox's files
# ------------------------------------------------------------------
echo "B-SECRET-$tag" | csdk fs write "$b" secret >/dev/null
echo "B-SECRET-$tag" | csdk fs write "$b" /tmp/secret >/dev/null
echo "B-SECRET-$tag" | csdk fs write "$b" /home/sandbox/secret >/dev/null
bagent=$(agent_host_pid "$b")
run csdk exec "$a" -- sh -c '
for f in "$1/ws/secret" "$1/tmp/secret" "$1/home/secret" \
    "/proc/$2/root/workspace/secret" "/proc/$2/cwd/secret"; do
    cat "$f" 2>/dev/null && echo "READ $f"
done
ls "$3" "$1" 2>/dev/null && echo LISTED
find / -path /proc -prune -o -name secret -print 2>/dev/null | head
ln -s "$1/ws/secret" bl; ln -s ../../'"${sb##*/}"'/ws/secret rbl
ln -s "$1/ws" bdir; true' sh "$sb" "$bagent" "$root"
if grep -q "B-SECRET-$tag\|^READ\|^LISTED" "$tmp/out"; then
    bad "SANDBOX A READ SANDBOX B'S FILES: $(head -c 300 "$tmp/out")"
else
    ok "sandbox A cannot read or list sandbox B's files by host path or /proc/PID/root"
fi
leak=
for p in "$sb/ws/secret" bl rbl bdir/secret /workspace/bl "/tmp${sb#/tmp}/ws/secret"; do
    run csdk fs read "$a" "$p"
    if grep -q "B-SECRET-$tag" "$tmp/out"; then leak="$leak $p"; fi
    echo "#   fs read A $p: exit $rc $(head -n 1 "$tmp/err" | cut -c1-100)"
done
if [ -z "$leak" ]; then
    ok "the filesystem API of A never returns B's file (host path, symlinks)"
else
    bad "THE FILESYSTEM API OF A RETURNED B'S FILE through:$leak"
fi
healthy "cross-sandbox file probes"

# ------------------------------------------------------------------
# 4. The other sandbox's processes
# ------------------------------------------------------------------
bmark=csdk-sec-bmark-$tag
run csdk exec --background "$b" -- bash -c 'exec -a "$0" sleep 300' "$bmark"
for _ in $(seq 20); do pgrep -f -- "$bmark" >/dev/null && break; sleep 0.1; done
bpid=$(pgrep -f -- "$bmark" | head -n 1)
hmark=csdk-sec-hmark-$tag
bash -c 'exec -a "$0" sleep 300' "$hmark" &
hpid=$!
host_pids="$host_pids $hpid"
if [ -z "$bpid" ]; then
    bad "the marker process in sandbox B did not start"
else
    run csdk exec "$a" -- sh -c 'ps -eo pid,args; cat /proc/[0-9]*/cmdline | tr "\0" " "'
    if grep -qF -- "$bmark" "$tmp/out"; then
        bad "SANDBOX B'S MARKER PROCESS IS VISIBLE IN SANDBOX A"
    else
        ok "sandbox B's marker process is invisible in sandbox A"
    fi
    run csdk exec "$a" -- sh -c "kill -9 $bpid"
    if [ "$rc" != 0 ] && kill -0 "$bpid" 2>/dev/null; then
        ok "kill -9 of B's marker by its host pid ($bpid) fails in A: $(head -n 1 "$tmp/err" | cut -c1-60)"
    else
        bad "kill -9 $bpid from A: exit $rc; the marker is $(kill -0 "$bpid" 2>/dev/null && echo alive || echo DEAD)"
    fi
    # kill -9 -1 reaches every process the caller may signal.  Only safe
    # (and only meaningful) once A's pid namespace is shown to hold A's
    # processes alone.
    run csdk exec "$a" -- sh -c 'cd /proc && ls -d [0-9]* | wc -l'
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" -le 8 ] &&
        ! csdk exec "$a" -- sh -c "[ -e /proc/$bpid ] || [ -e /proc/$hpid ]"; then
        run csdk exec --timeout 10000 "$a" -- sh -c 'kill -9 -1; sleep 1; echo survived'
        sleep 0.5
        if kill -0 "$bpid" 2>/dev/null && kill -0 "$hpid" 2>/dev/null; then
            ok "kill -9 -1 in A left B's marker and the host's marker alive (A's command: exit $rc)"
        else
            bad "KILL -9 -1 IN A KILLED: $(kill -0 "$bpid" 2>/dev/null || echo "B's marker ")$(kill -0 "$hpid" 2>/dev/null || echo "the host's marker")"
        fi
        run csdk exec "$b" -- echo ok
        if [ "$(cat "$tmp/out")" = ok ]; then
            ok "sandbox B still runs commands after kill -9 -1 in A"
        else
            bad "sandbox B is broken after kill -9 -1 in A (exit $rc)"
        fi
    else
        bad "A's pid namespace is not shown to be separate: kill -9 -1 not run"
    fi
fi
healthy "cross-sandbox process probes"
finish
