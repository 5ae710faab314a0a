#!/bin/bash
# Attack: commands that will not end, and commands that drown the caller.
#   1. A command that ignores SIGTERM and double-forks a grandchild into
#      its own session (setsid), which also ignores SIGTERM/SIGHUP and
#      writes its pid to /tmp, runs past its --timeout: the CLI exits 124
#      and by then the grandchild is gone (kill -0 from a later exec, and
#      pgrep -f of a unique marker on the host).  Variants: a grandchild
#      that keeps re-forking itself (its pid changes all the time); a
#      command that stops (SIGSTOP) its own supervisor.
#   2. A command that kills its own supervisor (the agent's per-command
#      shepherd, its parent) after double-forking: the grandchild must
#      still not outlive the command, and the call returns at once with
#      the command reported killed (137), with or without a --timeout.
#   3. Output flooding with the default output cap (16 MiB per stream):
#      `yes`, one endless line without a newline, and a writer on both
#      stdout and stderr.  The call returns by itself, what the CLI prints
#      is cut at the cap, and the csdk process's memory stays bounded
#      (its max RSS, from getrusage of the child).  csdk says on stderr,
#      on a line of its own, that the output was truncated.
#   4. The process limit used up by a background command: a new command
#      cannot start, and the error names the limit (pids=16) -- whether
#      the agent cannot fork the command's supervisor or the supervisor
#      cannot fork the command.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

MiB=$((1024 * 1024))
new_sandbox a

# gone MARKER: no process with MARKER in its command line on the host,
# within a second (the sandbox's processes are visible from the host).
gone() {
    for _ in $(seq 10); do
        pgrep -f -- "$1" >/dev/null || return 0
        sleep 0.1
    done
    return 1
}

# pid_dead_inside PIDFILE: a later exec in the sandbox cannot signal the
# pid recorded in PIDFILE (a path inside the sandbox).
pid_dead_inside() {
    run csdk exec "$a" -- sh -c "p=\$(cat $1) && [ -n \"\$p\" ] && ! kill -0 \"\$p\" 2>/dev/null"
    [ "$rc" = 0 ]
}

# ------------------------------------------------------------------
# 1. Ignores SIGTERM, double-forks, runs past its timeout
# ------------------------------------------------------------------
m1=csdk-sec-gc-$$-$RANDOM
start=$SECONDS
run csdk exec --timeout 1500 "$a" -- bash -c '
trap "" TERM HUP
( setsid bash -c "trap \"\" TERM HUP; echo \$\$ >/tmp/gc1.pid; exec -a $1 sleep 1000" \
    </dev/null >/dev/null 2>&1 & )
sleep 0.3
echo started
sleep 1000' bash "$m1"
took=$((SECONDS - start))
if [ "$rc" = 124 ] && grep -q 'timed out' "$tmp/err"; then
    ok "the command ran past its timeout: exit 124 after ${took}s, '$(head -n 1 "$tmp/err")'"
else
    bad "the command past its timeout: exit $rc after ${took}s"
fi
if gone "$m1"; then
    ok "the setsid grandchild is gone when exec returns (pgrep -f on the host)"
else
    bad "THE GRANDCHILD OUTLIVED ITS TIMED-OUT COMMAND: $(pgrep -af -- "$m1")"
fi
if pid_dead_inside /tmp/gc1.pid; then
    ok "a later exec cannot signal the grandchild's pid (kill -0 fails)"
else
    bad "a later exec still sees the grandchild (kill -0 succeeds, exit $rc)"
fi

# A grandchild that re-forks itself all the time: its pid never holds
# still long enough to be killed by pid.
m2=csdk-sec-hop-$$-$RANDOM
run csdk exec --timeout 1500 "$a" -- /usr/bin/python3 -c '
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sys.argv[0] = sys.argv[1]
        while True:                       # each generation forks the next
            if os.fork():                 # and exits at once
                os._exit(0)
            os.execv("/usr/bin/python3", ["/usr/bin/python3", "-c",
                "import os,time\nwhile True:\n if os.fork(): os._exit(0)\n time.sleep(0.001)",
                sys.argv[1]])
    os._exit(0)
time.sleep(1000)' "$m2"
if [ "$rc" = 124 ]; then
    ok "a self-re-forking grandchild: the command timed out (exit 124)"
else
    bad "a self-re-forking grandchild: exit $rc, expected 124"
fi
if gone "$m2"; then
    ok "the self-re-forking grandchild is gone when exec returns"
else
    bad "THE SELF-RE-FORKING GRANDCHILD SURVIVED: $(pgrep -af -- "$m2" | head -n 3 | tr '\n' '|')"
fi

# A command that stops its supervisor (its parent) and then hangs.
m3=csdk-sec-stop-$$-$RANDOM
start=$SECONDS
run timeout -s KILL 60 "$CSDK_BIN" --config "$tmp/csdk.ini" exec --timeout 1500 "$a" -- bash -c '
kill -STOP $PPID
exec -a "$1" sleep 1000' bash "$m3"
took=$((SECONDS - start))
if [ "$rc" = 124 ] && [ "$took" -le 30 ]; then
    ok "a command that stops its supervisor still ends at its timeout (exit 124 after ${took}s)"
else
    bad "a command that stops its supervisor: exit $rc after ${took}s"
fi
if [ "$took" -le 4 ]; then
    ok "the agent holds it to its 1.5 s timeout itself: it returned after ${took}s"
else
    bad "a command that stops its supervisor returned only after ${took}s (timeout 1.5 s)"
fi
if gone "$m3"; then
    ok "the command that stopped its supervisor is gone"
else
    bad "the command that stopped its supervisor survived: $(pgrep -af -- "$m3")"
fi
healthy "commands past their timeout"

# ------------------------------------------------------------------
# 2. Kills its own supervisor, after double-forking
# ------------------------------------------------------------------
m4=csdk-sec-orphan-$$-$RANDOM
t4=$(date +%s%N)
run csdk exec --timeout 3000 "$a" -- bash -c '
trap "" TERM HUP
( setsid bash -c "trap \"\" TERM HUP; echo \$\$ >/tmp/gc4.pid; exec -a $1 sleep 1000" \
    </dev/null >/dev/null 2>&1 & )
sleep 0.3
kill -KILL $PPID
sleep 1000' bash "$m4"
echo "#   exec returned: exit $rc: $(head -n 1 "$tmp/err")"
took4=$((($(date +%s%N) - t4) / 1000000))
if [ "$rc" = 137 ] && [ "$took4" -lt 2500 ]; then
    ok "the command that killed its supervisor is reported killed (exit 137) after ${took4} ms"
else
    bad "the command that killed its supervisor: exit $rc after ${took4} ms, expected 137 at once"
fi
if gone "$m4"; then
    ok "killing its supervisor does not let the grandchild outlive the command"
else
    bad "THE GRANDCHILD OUTLIVED ITS COMMAND after the command killed its supervisor (the agent's shepherd): exec exit $rc '$(head -n 1 "$tmp/err")', still running on the host: $(pgrep -af -- "$m4" | tr '\n' '|')"
fi
if pid_dead_inside /tmp/gc4.pid; then
    ok "a later exec cannot signal the orphaned grandchild"
else
    run csdk exec "$a" -- ps -o pid,ppid,args -e
    bad "a later exec still sees the orphaned grandchild: $(grep -F -- "$m4" "$tmp/out" | tr '\n' '|')"
fi
# The same without a --timeout: nothing but the agent ends it.
m5=csdk-sec-orphan-nt-$$-$RANDOM
t5=$(date +%s%N)
run timeout -s KILL 60 "$CSDK_BIN" --config "$tmp/csdk.ini" exec "$a" -- bash -c '
( setsid bash -c "exec -a $1 sleep 1000" </dev/null >/dev/null 2>&1 & )
sleep 0.3
kill -KILL $PPID
exec -a "$1" sleep 1000' bash "$m5"
took5=$((($(date +%s%N) - t5) / 1000000))
if [ "$rc" = 137 ] && [ "$took5" -lt 2500 ] && gone "$m5"; then
    ok "without a --timeout too: exit 137 after ${took5} ms, nothing left running"
else
    bad "a command that killed its supervisor, no --timeout: exit $rc after ${took5} ms, left: $(pgrep -af -- "$m5" | tr '\n' '|')"
fi
healthy "a command that killed its supervisor"

# ------------------------------------------------------------------
# 3. Output flooding
# ------------------------------------------------------------------
# measure OUT ERR CMD...: run CMD with stdout/stderr to files; sets rc,
# maxrss_kb (the child's max RSS) and secs.  Killed after 120 s.
measure() {
    local o=$1 e=$2
    shift 2
    read -r rc maxrss_kb secs < <("$PYTHON" -c '
import resource, subprocess, sys, time
o, e, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
t = time.monotonic()
try:
    p = subprocess.run(argv, stdout=open(o, "wb"), stderr=open(e, "wb"),
                       timeout=120)
    rc = p.returncode
except subprocess.TimeoutExpired:
    rc = "hung"
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, r.ru_maxrss, "%.1f" % (time.monotonic() - t))' "$o" "$e" "$@")
}

flood() { # flood TEXT CMD...: default cap, plain output
    local what=$1 so se
    shift
    measure "$tmp/fo" "$tmp/fe" "$CSDK_BIN" --config "$tmp/csdk.ini" exec "$a" -- "$@"
    so=$(stat -c %s "$tmp/fo")
    se=$(stat -c %s "$tmp/fe")
    echo "#   $what: exit $rc in ${secs}s, stdout $so bytes, stderr $se bytes, csdk max RSS ${maxrss_kb} KiB"
    if [ "$rc" = hung ]; then
        bad "$what: the call did not return in 120 s"
        return
    fi
    ok "$what: the call returns by itself (exit $rc in ${secs}s)"
    if [ "$so" -le $((16 * MiB)) ] && [ "$so" -ge $((1 * MiB)) ]; then
        ok "$what: stdout cut at the cap ($so bytes <= 16 MiB)"
    else
        bad "$what: stdout has $so bytes (cap 16 MiB)"
    fi
    # stderr: the flood's own share (cut at the cap) plus one line of csdk's.
    if [ "$se" -le $((16 * MiB + 4096)) ]; then :; else
        bad "$what: stderr has $se bytes (cap 16 MiB)"
    fi
    if [ "$maxrss_kb" -le $((64 * 1024)) ]; then
        ok "$what: the csdk process stayed small (max RSS ${maxrss_kb} KiB)"
    else
        bad "$what: the csdk process grew to ${maxrss_kb} KiB"
    fi
    note=$(tail -n 1 "$tmp/fe")
    if [ "$note" = "csdk: output truncated at $((16 * MiB)) bytes; the command was stopped" ]; then
        ok "$what: stderr ends with csdk's line: '$note'"
    else
        bad "$what: stderr does not end with a line saying the output was truncated: '$(printf '%s' "$note" | cut -c1-120)'"
    fi
}
flood "yes" yes
flood "one endless line" sh -c "head -c 1000000000 /dev/zero | tr '\\0' a"
if [ "$(head -c 1 "$tmp/fo")" = a ] && [ "$(tr -d a <"$tmp/fo" | wc -c)" = 0 ]; then
    ok "one endless line: the output is the line's first bytes, no newline added"
else
    bad "one endless line: the output is not a prefix of the line"
fi
flood "a writer on stdout and stderr" /usr/bin/python3 -c '
import os
buf = b"x" * 65536
while True:
    os.write(1, buf)
    os.write(2, buf)'
if [ "$(stat -c %s "$tmp/fe")" -ge $((1 * MiB)) ]; then
    ok "a writer on both streams: stderr is capped separately ($(stat -c %s "$tmp/fe") bytes)"
else
    bad "a writer on both streams: stderr has $(stat -c %s "$tmp/fe") bytes"
fi

# --json buffers the output to print one document: still bounded.
measure "$tmp/fo" "$tmp/fe" "$CSDK_BIN" --config "$tmp/csdk.ini" --json exec "$a" -- \
    sh -c "head -c 1000000000 /dev/zero | tr '\\0' a"
echo "#   --json endless line: exit $rc in ${secs}s, $(stat -c %s "$tmp/fo") bytes, max RSS ${maxrss_kb} KiB"
if [ "$rc" != hung ] && [ "$maxrss_kb" -le $((256 * 1024)) ] &&
    "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d.get("truncated") and len(d.get("stdout") or "") <= 16 << 20 else 1)' "$tmp/fo"; then
    ok "--json: the call returns, says truncated, holds <= 16 MiB, RSS ${maxrss_kb} KiB"
else
    bad "--json endless line: exit $rc, RSS ${maxrss_kb} KiB, truncation not reported"
fi
healthy "output floods"

# ------------------------------------------------------------------
# 4. The process limit used up
# ------------------------------------------------------------------
new_sandbox p --opt pids=16
claim=$(csdk --json info "$p" 2>/dev/null | "$PYTHON" -c '
import json, sys
print(json.load(sys.stdin).get("metadata", {}).get("limit.pids", ""))')
case $claim in
"" | none*) echo "#   the process limit is not enforced here ($claim): section 4 is not tried" ;;
*)
    # A background command takes every process slot with sleeps (and
    # reaps any that dies, so a killed one frees its slot).
    run csdk exec --background "$p" -- /usr/bin/python3 -c '
import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execv("/bin/sleep", ["sleep", "1000"])
time.sleep(1000)'
    n=0
    for _ in $(seq 50); do
        sleep 0.1
        n=$(sandbox_pids "$p" | wc -l)
        [ "$n" -ge 16 ] && break
    done
    echo "#   $n processes in the sandbox (pids=16)"
    run csdk exec --timeout 10000 "$p" -- echo started
    if [ "$rc" = 74 ] &&
        grep -q "cannot start the command: the sandbox's process limit (pids=16) is reached" "$tmp/err"; then
        ok "no slot for a supervisor: exit 74, '$(head -n 1 "$tmp/err" | sed 's/.*: cannot/cannot/')'"
    else
        bad "no slot for a supervisor: exit $rc, '$(head -n 1 "$tmp/err")'"
    fi
    # Free one slot (a sleep, killed from the host): the supervisor starts
    # and then cannot fork the command.
    for q in $(sandbox_pids "$p"); do
        if [ "$(cat "/proc/$q/comm" 2>/dev/null)" = sleep ]; then
            kill -KILL "$q"
            break
        fi
    done
    sleep 0.3
    run csdk exec --timeout 10000 "$p" -- echo started
    if [ "$rc" = 74 ] &&
        grep -q "cannot start the command: the sandbox's process limit (pids=16) is reached" "$tmp/err"; then
        ok "one slot, taken by the supervisor: exit 74, the same message"
    else
        bad "one slot, taken by the supervisor: exit $rc, '$(head -n 1 "$tmp/err")'"
    fi
    ;;
esac
csdk -q destroy "$p" >/dev/null 2>&1
healthy "the process limit used up"
finish
