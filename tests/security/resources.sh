#!/bin/bash
# Attack: exhaust the machine from inside a sandbox created with
# memory_mb=128, pids=64, file_size_mb=16.
#   1. fork bomb  :(){ :|:& };:  -- bounded by the pids limit while it
#      runs (the host still spawns processes, the bystander answers), and
#      gone when the command times out or the sandbox is destroyed;
#   2. memory bomb: python allocating 1 GiB, four processes at once, and
#      150 MiB written into the tmpfs at /dev/shm -- killed or refused at
#      the sandbox's 128 MiB; the host is fine;
#   3. disk filler: dd of 100 MiB, python ignoring SIGXFSZ, truncate and
#      fallocate past the limit -- every file stops at 16 MiB, as `info`
#      says the limit is enforced.
#
# Not limited by the local provider (its `info` claims no such limit, and
# this test does not try it): the TOTAL disk a sandbox uses across many
# files in /workspace, /tmp and /home/sandbox, which are directories on
# the host's disk.  Each file is capped at file_size_mb; their number is
# not (nor are inodes).  A disk filler that writes many 16 MiB files fills
# the host's disk.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

MiB=$((1024 * 1024))

# info_limit ID KEY: the value of metadata "limit.KEY" (e.g. cgroup1:64).
info_limit() {
    csdk --json info "$1" 2>/dev/null | "$PYTHON" -c '
import json, sys
print(json.load(sys.stdin).get("metadata", {}).get("limit." + sys.argv[1], ""))' "$2"
}

# enforced CLAIM: the claim names a mechanism other than "none".
enforced() {
    case $1 in "" | none*) return 1 ;; *) return 0 ;; esac
}

# pid namespace of a sandbox (to find its processes once it is gone).
sandbox_ns() {
    local ap
    ap=$(agent_host_pid "$1")
    [ -n "$ap" ] && readlink "/proc/$ap/ns/pid"
}
procs_in_ns() {
    local p n=0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$1" ] && n=$((n + 1))
    done
    echo "$n"
}
# ns_emptied NS: within 5 s, no process is left in pid namespace NS.
# (Once it is empty its inode number may be reused by a new sandbox, so
# seeing zero once is the answer.)
ns_emptied() {
    [ -n "$1" ] || return 1
    for _ in $(seq 50); do
        [ "$(procs_in_ns "$1")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
# dir_gone DIR: within 5 s, DIR does not exist.
dir_gone() {
    for _ in $(seq 50); do
        [ -d "$1" ] || return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------
# 1. Fork bomb
# ------------------------------------------------------------------
new_sandbox fb
pids_claim=$(info_limit "$fb" pids)
echo "# info: limit.pids=$pids_claim"
if ! enforced "$pids_claim"; then
    # Without a process limit a fork bomb would take the machine down:
    # do not run it, and fail, since the sandbox offers no defence.
    bad "info says the process limit is not enforced ($pids_claim): a fork bomb would reach the host (not run)"
else
    ok "info says the process limit is enforced: $pids_claim"

    # (a) A bomb whose command stays in the foreground: --timeout ends it.
    start=$SECONDS
    csdk exec --timeout 4000 "$fb" -- bash -c ':(){ :|:& };:; sleep 100' \
        >"$tmp/bomb.out" 2>"$tmp/bomb.err" &
    bomb=$!
    sleep 2
    n=$(sandbox_pids "$fb" | wc -l)
    if [ "$n" -le 64 ]; then
        ok "during the fork bomb the sandbox holds $n processes (limit 64)"
    else
        bad "during the fork bomb the sandbox holds $n processes (limit 64)"
    fi
    if host_can_spawn; then
        ok "during the fork bomb the host still spawns processes"
    else
        bad "during the fork bomb the host cannot spawn processes"
    fi
    out=$(timeout 30 "$CSDK_BIN" --config "$tmp/csdk.ini" -q exec \
        --timeout 10000 "$bystander" -- echo ok 2>&1)
    if [ "$out" = ok ]; then
        ok "during the fork bomb the bystander sandbox runs 'echo ok'"
    else
        bad "during the fork bomb the bystander answered '$out'"
    fi
    if wait "$bomb"; then rc=0; else rc=$?; fi
    took=$((SECONDS - start))
    if [ "$rc" = 124 ] && [ "$took" -le 20 ]; then
        ok "the fork bomb's command was killed at its timeout (exit 124 after ${took}s)"
    else
        bad "the fork bomb's command: exit $rc after ${took}s, expected 124 at ~4s"
    fi
    left=
    for _ in $(seq 50); do
        left=$(sandbox_pids "$fb" | wc -l)
        [ "$left" -le 1 ] && break
        sleep 0.1
    done
    if [ "$left" -le 1 ]; then
        ok "after the timeout no bomb process is left (the agent alone)"
    else
        bad "after the timeout $left processes are left in the sandbox"
    fi
    run csdk exec --timeout 10000 "$fb" -- echo ok
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = ok ]; then
        ok "the bombed sandbox runs commands again"
    else
        bad "the bombed sandbox does not recover (exit $rc)"
    fi
    healthy "a fork bomb killed at its timeout"

    # (b) The classic bomb: its command returns at once and the bomb goes
    # on in the sandbox until the sandbox is destroyed.
    new_sandbox fb2
    ns=$(sandbox_ns "$fb2")
    cgp=$(meta_get "$fb2" cgroup.pids)
    run csdk exec --timeout 20000 "$fb2" -- bash -c ':(){ :|:& };:'
    echo "#   the classic bomb's command returned: exit $rc"
    sleep 2
    n=$(sandbox_pids "$fb2" | wc -l)
    if [ "$n" -le 64 ]; then
        ok "the classic bomb holds $n processes (limit 64)"
    else
        bad "the classic bomb holds $n processes (limit 64)"
    fi
    if [ -n "$cgp" ] && [ -r "$cgp/pids.events" ]; then
        echo "#   $cgp/pids.events: $(tr '\n' ' ' <"$cgp/pids.events")"
    fi
    if host_can_spawn; then
        ok "while the classic bomb runs the host still spawns processes"
    else
        bad "while the classic bomb runs the host cannot spawn processes"
    fi
    run csdk destroy "$fb2"
    expect_rc 0 "destroy the sandbox with the running bomb"
    if ns_emptied "$ns"; then
        ok "after destroy no process of the bombed sandbox is left"
    else
        bad "after destroy $(procs_in_ns "$ns") processes of the bombed sandbox are left ($ns)"
    fi
    if [ -n "$cgp" ] && ! dir_gone "$cgp"; then
        bad "the destroyed sandbox's cgroup $cgp is still there"
    fi
    healthy "a fork bomb ended by destroy"
fi

# ------------------------------------------------------------------
# 2. Memory bomb
# ------------------------------------------------------------------
new_sandbox mb
mem_claim=$(info_limit "$mb" memory)
echo "# info: limit.memory=$mem_claim"
if enforced "$mem_claim"; then
    ok "info says the memory limit is enforced: $mem_claim"
else
    bad "info says the memory limit is not enforced: $mem_claim"
fi
cgm=$(meta_get "$mb" cgroup.memory)
# peak: the sandbox cgroup's peak memory use in bytes, or empty.
peak() {
    if [ -n "$cgm" ] && [ -r "$cgm/memory.max_usage_in_bytes" ]; then
        cat "$cgm/memory.max_usage_in_bytes"
    elif [ -n "$cgm" ] && [ -r "$cgm/memory.peak" ]; then
        cat "$cgm/memory.peak"
    fi
}
check_peak() {
    local p
    p=$(peak)
    if [ -z "$p" ]; then
        echo "#   (no cgroup peak to read: $mem_claim)"
    elif [ "$p" -le $((128 * MiB + 4 * MiB)) ]; then
        ok "$1: the sandbox's peak memory was $((p / MiB)) MiB (limit 128)"
    else
        bad "$1: the sandbox's peak memory was $((p / MiB)) MiB, over 128"
    fi
}

start=$SECONDS
run csdk exec --timeout 60000 "$mb" -- /usr/bin/python3 -c '
b = bytearray(1 << 30)
for i in range(0, len(b), 4096):
    b[i] = 1
print("ALLOCATED 1 GiB")'
if [ "$rc" != 0 ] && out_lacks ALLOCATED; then
    ok "a 1 GiB allocation in a 128 MiB sandbox fails (exit $rc after $((SECONDS - start))s)"
else
    bad "a 1 GiB allocation in a 128 MiB sandbox: exit $rc, $(cat "$tmp/out")"
fi
check_peak "1 GiB allocation"
run csdk exec --timeout 60000 "$mb" -- bash -c '
for i in 1 2 3 4; do
    /usr/bin/python3 -c "
import time
b = b\"x\" * (100 << 20)
print(\"HELD 100 MiB\", flush=True)
time.sleep(3)" &
done
wait'
held=$(grep -c HELD "$tmp/out")
if [ "$held" -le 1 ]; then
    ok "four processes of 100 MiB each: only $held held its memory (the limit is per sandbox)"
else
    bad "four processes of 100 MiB each: $held held 100 MiB at once in a 128 MiB sandbox"
fi
check_peak "four 100 MiB processes"
run csdk exec --timeout 10000 "$mb" -- echo ok
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = ok ]; then
    ok "the sandbox runs commands again after the memory bombs"
else
    bad "the sandbox does not recover from the memory bombs (exit $rc)"
fi
healthy "memory bombs"

# /dev is a tmpfs in the sandbox: files there are memory.  150 MiB in
# 15 MB files (each under the 16 MiB file limit) must not fit in 128 MiB.
new_sandbox tm
cgm=$(meta_get "$tm" cgroup.memory)
tns=$(sandbox_ns "$tm")
run csdk exec --timeout 60000 "$tm" -- sh -c '
for i in 1 2 3 4 5 6 7 8 9 10; do
    head -c 15000000 /dev/zero >/dev/shm/f$i || break
done
echo STORED $(cat /dev/shm/f* | wc -c)'
stored=$(sed -n 's/^STORED //p' "$tmp/out")
if [ -z "$stored" ] || [ "$stored" -le $((128 * MiB)) ]; then
    ok "150 MiB written to the tmpfs /dev/shm: stopped (exit $rc, stored ${stored:-?} bytes)"
else
    bad "150 MiB written to the tmpfs /dev/shm: $stored bytes stored, over the 128 MiB limit"
fi
check_peak "a tmpfs filler"
# Its memory stays charged to the sandbox (tmpfs pages have no owner
# process to kill): the sandbox may be unusable until destroyed, but
# destroy gives the memory back.
run csdk exec --timeout 10000 "$tm" -- echo ok
echo "#   after filling /dev/shm the sandbox answers: exit $rc '$(cat "$tmp/out")' $(head -n 1 "$tmp/err" | cut -c1-160)"
run csdk destroy "$tm"
expect_rc 0 "destroy the sandbox whose tmpfs is full"
if ns_emptied "$tns"; then
    ok "destroy ended every process of the sandbox whose tmpfs is full"
else
    bad "the sandbox whose tmpfs is full left $(procs_in_ns "$tns") processes behind"
fi
if [ -z "$cgm" ] || dir_gone "$cgm"; then
    ok "destroy removed the memory cgroup of the sandbox whose tmpfs is full"
else
    bad "the memory cgroup $cgm of the destroyed sandbox is still there"
fi
healthy "a tmpfs memory filler"

# ------------------------------------------------------------------
# 3. Disk filler
# ------------------------------------------------------------------
new_sandbox df
fs_claim=$(info_limit "$df" file_size)
echo "# info: limit.file_size=$fs_claim"
case $fs_claim in
*16MiB*) ok "info says how file size is enforced: $fs_claim" ;;
*) bad "info does not claim the 16 MiB file size limit: '$fs_claim'" ;;
esac
for k in disk workspace disk_mb storage; do
    claim=$(info_limit "$df" "$k")
    [ -z "$claim" ] || echo "# info: limit.$k=$claim (not tested)"
done
sdf=$(state_dir "$df")
run csdk exec --timeout 60000 "$df" -- dd if=/dev/zero of=/workspace/big bs=1M count=100
size=$(stat -c %s "$sdf/ws/big" 2>/dev/null || echo 0)
if [ "$rc" != 0 ] && [ "$size" -le $((16 * MiB)) ]; then
    ok "dd of 100 MiB stopped at the limit: exit $rc, the file has $size bytes (<= 16 MiB)"
else
    bad "dd of 100 MiB: exit $rc, the file has $size bytes"
fi
grep -q 'File size limit exceeded' "$tmp/err" &&
    echo "#   the user sees: $(head -n 1 "$tmp/err")"
run csdk exec --timeout 60000 "$df" -- /usr/bin/python3 -c '
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
with open("/tmp/big2", "wb", buffering=0) as f:
    try:
        for i in range(100):
            f.write(b"\0" * (1 << 20))
        print("WROTE 100 MiB")
    except OSError as e:
        print("stopped:", e)'
size=$(stat -c %s "$sdf/tmp/big2" 2>/dev/null || echo 0)
if out_lacks "WROTE 100" && [ "$size" -le $((16 * MiB)) ]; then
    ok "ignoring SIGXFSZ: write fails ($(cat "$tmp/out")), the file has $size bytes"
else
    bad "ignoring SIGXFSZ the file grew to $size bytes: $(cat "$tmp/out")"
fi
run csdk exec --timeout 60000 "$df" -- sh -c '
truncate -s 1G /home/sandbox/sparse; echo truncate=$?
fallocate -l 100M /workspace/falloc; echo fallocate=$?
ls -l /home/sandbox/sparse /workspace/falloc' 
s1=$(stat -c %s "$sdf/home/sparse" 2>/dev/null || echo 0)
s2=$(stat -c %s "$sdf/ws/falloc" 2>/dev/null || echo 0)
if [ "$s1" -le $((16 * MiB)) ] && [ "$s2" -le $((16 * MiB)) ]; then
    ok "truncate -s 1G and fallocate -l 100M stay within 16 MiB ($s1, $s2 bytes)"
else
    bad "truncate/fallocate made files of $s1 and $s2 bytes"
fi
healthy "disk fillers"
finish
