#!/bin/sh
# Limits of local sandboxes: info says which are enforced and how, and the
# enforced ones hold (memory, processes, file size, open files).
set -eu
. "$top_srcdir/tests/local/local_common.sh"

new_sandbox --opt memory_mb=64 --opt pids=32 --opt cpus=0.5 \
    --opt file_size_mb=1 --opt open_files=64
sb=$id

# info lists every limit as HOW:VALUE.
expect 0 csdk info "$sb"
out_has "limit.file_size=rlimit:1MiB"
out_has "limit.open_files=rlimit:64"
out_has "limit.output=plugin:16MiB per stream"
out_has "network=off"
expect 0 csdk --json info "$sb"
json_check '__import__("re").fullmatch(r"(cgroup2|cgroup1|rlimit):64MiB.*", d["metadata"]["limit.memory"]) and __import__("re").fullmatch(r"(cgroup2|cgroup1|rlimit):0\.5.*", d["metadata"]["limit.cpus"]) and __import__("re").fullmatch(r"(cgroup2|cgroup1):32|none.*", d["metadata"]["limit.pids"])'
memory=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["limit.memory"].split(":")[0])' "$tmp/out")
pids=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["limit.pids"].split(":")[0])' "$tmp/out")
cpus=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["limit.cpus"].split(":")[0])' "$tmp/out")
echo "memory: $memory, pids: $pids, cpus: $cpus" >&2

# Where this machine has writable cgroups (as root on cgroup v1 or v2),
# they are used.
if [ "$(id -u)" = 0 ] && { [ -w /sys/fs/cgroup/memory ] ||
    grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }; then
    case $memory in
    cgroup*) ;;
    *) fail "memory is enforced by '$memory' although cgroups are writable" ;;
    esac
fi

# Memory: allocating past the limit fails or is killed.
expect_fail_alloc() {
    if csdk exec "$sb" -- python3 -c '
b = bytearray(200 * 1024 * 1024)
for i in range(0, len(b), 4096):
    b[i] = 1
print("allocated")' >"$tmp/out" 2>"$tmp/err"; then
        fail "200 MiB were allocated under memory_mb=64"
    fi
    out_lacks "allocated"
}
[ "$memory" = none ] || expect_fail_alloc
# A small allocation is fine.
expect 0 csdk exec "$sb" -- python3 -c 'b = bytearray(8 * 1024 * 1024); print(len(b))'
out_is "8388608"

# Processes: with a pids cgroup, forking past the limit fails (and the
# children are gone again before the next command needs a process).
if [ "$pids" != none ]; then
    expect 0 csdk exec "$sb" -- python3 -c '
import os, signal, sys
kids = []
try:
    for i in range(60):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        kids.append(pid)
except OSError as e:
    print("fork failed:", e, file=sys.stderr)
for k in kids:
    os.kill(k, signal.SIGKILL)
    os.waitpid(k, 0)
print(len(kids))'
    err_has "fork failed"
    [ "$(cat "$tmp/out")" -lt 32 ] || fail "$(cat "$tmp/out") processes were started under pids=32"
fi

# CPU: a busy loop for 1.5 s of wall-clock time gets about half of it.
case $cpus in
cgroup*)
    expect 0 csdk exec "$sb" -- python3 -c '
import time
end = time.time() + 1.5
while time.time() < end:
    pass
print(time.process_time())'
    "$PYTHON" -c 'import sys; sys.exit(float(sys.argv[1]) > 1.1)' "$(cat "$tmp/out")" ||
        fail "a busy loop used $(cat "$tmp/out") s of CPU in 1.5 s under cpus=0.5"
    ;;
esac

# File size: writing past file_size_mb fails (SIGXFSZ or EFBIG).
if csdk exec "$sb" -- sh -c 'head -c 2097152 /dev/zero > big' >"$tmp/out" 2>"$tmp/err"; then
    fail "a 2 MiB file was written under file_size_mb=1"
fi
expect 0 csdk exec "$sb" -- sh -c 'head -c 500000 /dev/zero > ok; wc -c < ok'
out_is "500000"

# Open files.
expect 0 csdk exec "$sb" -- sh -c 'ulimit -n'
out_is "64"

# Defaults: 512 MiB, 256 processes, 1 CPU.
new_sandbox
expect 0 csdk info "$id"
out_has "limit.memory="
out_has ":512MiB"
out_has "limit.cpus="
out_has ":1.0"
out_has "limit.open_files=rlimit:1024"

# Limits removed with the sandbox: no cgroup of it remains.
d1=${sb#local:}
expect 0 csdk destroy "$sb" "$id"
for c in /sys/fs/cgroup/*/csdk-local/"$d1" /sys/fs/cgroup/csdk-local/"$d1"; do
    [ ! -e "$c" ] || fail "destroy left cgroup $c"
done
exit 0
