#!/bin/bash
# Attack: see or use what the host has, from inside a sandbox.
#   1. Host fds: the test shell opens extra fds (a unique host file on
#      fd 7, a writable file on fd 8) before calling csdk; inside, a
#      command's /proc/self/fd lists only 0, 1, 2 (and ls's own), fd 7
#      cannot be read, and no process of the sandbox -- the agent
#      included, seen from the host -- holds either file.
#   2. Host processes: /proc inside holds only the sandbox's own few
#      pids, pid 1 is the agent, a marker process started on the host is
#      in neither ps nor /proc/*/cmdline, and probing every pid with
#      kill(pid, 0) finds only the sandbox's processes.
#   3. setuid: setuid binaries inside (/usr/bin/su, /usr/bin/passwd from
#      the host's /usr, and a probe made setuid by the sandbox) gain
#      nothing: the uid stays the sandbox's, NoNewPrivs is 1, CapEff is 0.
#      A setuid file the sandbox makes in its workspace belongs to the
#      host user running csdk (root here): no other host user can reach
#      it to run it.
#   4. The host kernel's global settings (/proc/sys: core_pattern,
#      pid_max, drop_caches...): none is writable from inside.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

tag=csdk-sec-$$-$RANDOM

# ------------------------------------------------------------------
# 1. Host fds
# ------------------------------------------------------------------
fdfile=$tmp/host-fd-secret-$tag
echo "HOST-FD-SECRET-$tag" >"$fdfile"
sink=$tmp/host-fd-sink-$tag
: >"$sink"
exec 7<"$fdfile" 8>>"$sink"
new_sandbox a                 # bwrap and the agent start with fds 7, 8 open here
run csdk exec "$a" -- ls /proc/self/fd
got=$(tr '\n' ' ' <"$tmp/out")
if [ "$rc" = 0 ] && [ "$got" = "0 1 2 3 " ]; then
    ok "/proc/self/fd in a command lists only 0 1 2 (and 3, ls's own)"
else
    bad "/proc/self/fd in a command lists: $got (exit $rc)"
fi
run csdk exec "$a" -- sh -c 'cat /proc/self/fd/7; cat <&7; echo x >&8; cat /proc/1/fd/7'
if grep -q "HOST-FD-SECRET" "$tmp/out" || [ -s "$sink" ]; then
    bad "A HOST FD WAS USED FROM THE SANDBOX"
else
    ok "fd 7 and fd 8 of the caller cannot be read or written inside"
fi
run csdk exec --background "$a" -- sh -c 'ls /proc/self/fd >/tmp/bg-fds'
sleep 0.5
run csdk exec "$a" -- cat /tmp/bg-fds
got=$(tr '\n' ' ' <"$tmp/out")
if [ "$got" = "0 1 2 3 " ]; then
    ok "a background command's /proc/self/fd lists only 0 1 2 (and 3)"
else
    bad "a background command's /proc/self/fd lists: $got"
fi
held=
for p in $(sandbox_pids "$a") $(meta_get "$a" bwrap_pid); do
    for f in /proc/"$p"/fd/*; do
        case $(readlink "$f" 2>/dev/null) in
        "$fdfile" | "$sink") held="$held $p:${f##*/}" ;;
        esac
    done
done
if [ -z "$held" ]; then
    ok "no process of the sandbox (agent and bwrap included) holds the caller's fds"
else
    bad "SANDBOX PROCESSES HOLD THE CALLER'S FILES (pid:fd):$held"
fi
exec 7<&- 8>&-
healthy "host fd probes"

# ------------------------------------------------------------------
# 2. Host processes
# ------------------------------------------------------------------
marker=csdk-sec-hostmarker-$tag
bash -c 'exec -a "$0" sleep 300' "$marker" &
mpid=$!
host_pids="$host_pids $mpid"
sleep 0.2
pgrep -f -- "$marker" >/dev/null || bad "the host marker did not start"

run csdk exec "$a" -- sh -c 'cd /proc && ls -d [0-9]*'
inside_pids=$(tr '\n' ' ' <"$tmp/out")
n=$(wc -l <"$tmp/out")
if [ "$rc" = 0 ] && [ "$n" -le 8 ] && grep -qx 1 "$tmp/out"; then
    ok "/proc inside holds only $n pids: $inside_pids"
else
    bad "/proc inside holds $n pids (exit $rc): $inside_pids"
fi
run csdk exec "$a" -- cat /proc/1/cmdline
if tr '\0' ' ' <"$tmp/out" | grep -q '^/run/csdk/agent '; then
    ok "pid 1 inside is the agent ($(tr '\0' ' ' <"$tmp/out" | cut -c1-40))"
else
    bad "pid 1 inside is: $(tr '\0' ' ' <"$tmp/out")"
fi
run csdk exec "$a" -- sh -c 'ps -eo pid,args; cat /proc/[0-9]*/cmdline | tr "\0" " "'
if grep -qF -- "$marker" "$tmp/out"; then
    bad "THE HOST'S MARKER PROCESS IS VISIBLE INSIDE"
else
    ok "the host's marker process is in neither ps nor /proc/*/cmdline inside"
fi
if grep -qE 'csdk-security|/sbin/init|systemd|sshd|dockerd|bash -c exec -a' "$tmp/out"; then
    bad "host processes are visible inside: $(grep -E 'init|systemd|sshd' "$tmp/out" | head -n 3)"
else
    ok "no other host process is visible inside"
fi
run csdk exec "$a" -- sh -c "[ ! -e /proc/$mpid ] && ! kill -0 $mpid 2>/dev/null"
if [ "$rc" = 0 ] && kill -0 "$mpid" 2>/dev/null; then
    ok "the marker's host pid ($mpid) does not exist inside; it still runs on the host"
else
    bad "the marker's host pid $mpid is reachable inside (exit $rc)"
fi
# Every pid, the slow way: kill(pid, 0) is ESRCH for whatever is not ours.
run csdk exec --timeout 120000 "$a" -- /usr/bin/python3 -c '
import os
mx = int(open("/proc/sys/kernel/pid_max").read())
found = []
for p in range(1, mx + 1):
    try:
        os.kill(p, 0)
        found.append(p)
    except ProcessLookupError:
        pass
    except PermissionError:
        found.append(p)
print(len(found), mx, " ".join(map(str, found)))'
read -r nfound pidmax _ <"$tmp/out"
if [ "$rc" = 0 ] && [ -n "$nfound" ] && [ "$nfound" -le 8 ]; then
    ok "kill(pid, 0) over all $pidmax pids finds only $nfound: $(cut -d' ' -f3- "$tmp/out")"
else
    bad "kill(pid, 0) over every pid finds: $(head -c 300 "$tmp/out") (exit $rc)"
fi
healthy "host process probes"

# ------------------------------------------------------------------
# 3. setuid
# ------------------------------------------------------------------
cat >"$tmp/probe.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("ruid=%u euid=%u suid=%u\n", (unsigned)r, (unsigned)e, (unsigned)s);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "CapEff", 6))
            fputs(line, stdout);
    printf("setuid0=%s\n", setuid(0) == 0 ? "OK" : "refused");
    return 0;
}
C
sd=$(state_dir "$a")
if ${CC:-cc} -o "$tmp/probe" "$tmp/probe.c" 2>"$tmp/cc.err"; then
    csdk fs write "$a" probe <"$tmp/probe" >/dev/null 2>&1
    run csdk exec "$a" -- sh -c 'chmod 4755 probe && ls -ln probe && ./probe && id -u'
    cat "$tmp/out" | sed 's/^/#   /'
    if [ "$rc" = 0 ] && grep -q '^-rwsr-xr-x' "$tmp/out" &&
        grep -q '^ruid=1000 euid=1000 suid=1000$' "$tmp/out" &&
        grep -qP '^NoNewPrivs:\t1$' "$tmp/out" &&
        grep -qP '^CapEff:\t0000000000000000$' "$tmp/out" &&
        grep -q '^setuid0=refused$' "$tmp/out" && [ "$(tail -n 1 "$tmp/out")" = 1000 ]; then
        ok "a setuid probe inside gains nothing: uid 1000, NoNewPrivs 1, CapEff 0, setuid(0) refused"
    else
        bad "the setuid probe inside: $(tr '\n' '|' <"$tmp/out")"
    fi
    # On the host the file belongs to whoever runs csdk, setuid.  No
    # other user may reach it: the sandbox's state directory is private.
    echo "#   on the host: $(stat -c '%A %U %n' "$sd/ws/probe")"
    perm=$(stat -c %a "$sd")
    if [ "$(id -u)" = 0 ]; then
        # Become nobody for good (every uid, no capabilities kept), then
        # try to run the file.
        if "$PYTHON" -c '
import os, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
os.execv(sys.argv[1], [sys.argv[1]])' "$sd/ws/probe" >"$tmp/out" 2>"$tmp/err"; then
            bad "AN UNPRIVILEGED HOST USER RAN THE SANDBOX'S SETUID FILE: $(tr '\n' '|' <"$tmp/out")"
        else
            ok "an unprivileged host user cannot run the sandbox's setuid file ($(tail -n 1 "$tmp/err" | cut -c1-80))"
        fi
    fi
    case $perm in
    700) ok "the sandbox's state directory is private to its owner (mode $perm)" ;;
    *) bad "the sandbox's state directory has mode $perm: other host users reach its setuid files" ;;
    esac
else
    echo "#   no C compiler ($(head -n 1 "$tmp/cc.err")): the compiled probe is not tried"
fi
run csdk exec "$a" -- sh -c '
ls -l /usr/bin/su /usr/bin/passwd 2>/dev/null
/usr/bin/su -c "id -u" root </dev/null; echo "su exit $?"
/usr/bin/passwd -S root </dev/null; echo "passwd exit $?"
id -u'
sed 's/^/#   /' "$tmp/out" "$tmp/err"
if [ "$(tail -n 1 "$tmp/out")" = 1000 ] && ! grep -qx 0 "$tmp/out" &&
    grep -q 'su exit [1-9]' "$tmp/out" && grep -q 'passwd exit [1-9]' "$tmp/out"; then
    ok "/usr/bin/su and /usr/bin/passwd (setuid on the host) gain nothing inside"
else
    bad "setuid su/passwd inside: $(tr '\n' '|' <"$tmp/out")"
fi
# Root in a user namespace of its own is still nobody to the agent.
run csdk exec "$a" -- sh -c 'unshare -Ur sh -c "id -u; cat /proc/1/environ" 2>&1'
echo "#   unshare -Ur inside: $(tr '\n\0' '| ' <"$tmp/out" | cut -c1-200)"
if grep -q '^csdk\|PATH=\|HOME=' "$tmp/out"; then
    bad "root of a nested user namespace reads the agent's environment"
else
    ok "root of a nested user namespace still cannot read the agent's environment"
fi
healthy "setuid probes"

# ------------------------------------------------------------------
# 4. The host kernel's global settings
# ------------------------------------------------------------------
# /proc/sys holds settings of the whole machine (not of the sandbox's
# namespaces): kernel.core_pattern names a program the kernel runs as
# root on the host at the next core dump, kernel.pid_max or fs.file-max
# set low stop the host from starting processes or opening files.  The
# sandbox must not be able to write any of them.  Probed with test -w
# (access(2), which makes the same permission check as a write and sees
# a read-only mount), so a failed defence changes nothing here.
run csdk exec "$a" -- sh -c '
cat /proc/self/uid_map
for s in kernel/core_pattern kernel/poweroff_cmd kernel/modprobe \
    kernel/pid_max kernel/panic kernel/panic_on_oops kernel/randomize_va_space \
    kernel/kptr_restrict kernel/sysrq fs/file-max fs/suid_dumpable \
    fs/protected_symlinks vm/drop_caches vm/nr_hugepages vm/min_free_kbytes \
    vm/overcommit_memory; do
    [ -e "/proc/sys/$s" ] || continue
    if [ -w "/proc/sys/$s" ]; then echo "WRITABLE $s"; else echo "read-only $s"; fi
done'
echo "#   uid_map inside (sandbox uid, host uid, count): $(head -n 1 "$tmp/out")"
writable=$(sed -n 's/^WRITABLE //p' "$tmp/out" | tr '\n' ' ')
if [ "$rc" = 0 ] && grep -q '^read-only\|^WRITABLE' "$tmp/out" && [ -z "$writable" ]; then
    ok "no host-global kernel setting in /proc/sys is writable inside"
else
    bad "SANDBOXED CODE CAN WRITE HOST-GLOBAL KERNEL SETTINGS in /proc/sys: $writable(exit $rc)"
fi
healthy "kernel setting probes"
finish
