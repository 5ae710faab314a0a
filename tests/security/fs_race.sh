#!/bin/bash
# Attack: a name swapped DURING a filesystem call.  Sandboxed code swaps,
# as fast as it can, names in its workspace between something of its own
# and a symlink out of it (to /etc, /etc/passwd and a canary directory on
# the host), while the host reads, lists, tests, writes, makes
# directories and removes through those names thousands of times
# (fs_race, through the C API).  No read may ever return host content,
# no listing may show a host name, and no write, mkdir or remove may
# touch the canary.  Then the same race with the csdk command, as a user
# would meet it.
#
# Swaps: renameat2(RENAME_EXCHANGE) between a real directory or file and
# a symlink (no instant where the name is missing), and `ln -sfn`-style
# replacement of one symlink by another.
#
# CSDK_SECURITY_RACE_SECONDS (default 6) sets how long each half runs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

race=$top_builddir/tests/security/fs_race
[ -x "$race" ] || { echo "FAIL: $race is not built (make check builds it)"; exit 1; }
seconds=${CSDK_SECURITY_RACE_SECONDS:-6}

new_sandbox a
sd=$(state_dir "$a")
tag=csdk-sec-$$-$RANDOM
canary=$tmp/canary
mkdir -p "$canary"
echo "HOST-CANARY-$tag" >"$canary/keep"
echo "HOST-VICTIM-$tag" >"$canary/victim"
echo "HOST-ONLY-$tag" >"$canary/canary-only"
canary_state() {
    (cd "$canary" && find . -printf '%p %y %s\n' | sort && cat keep victim)
}
canary_before=$(canary_state)

# The swapper, in the sandbox: runs in the background until it has swapped
# for its time, or the sandbox is destroyed.
cat >"$tmp/swapper.py" <<'PY'
import ctypes, os, sys, time
canary, seconds = sys.argv[1], float(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
def xchg(a, b):
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2 %r %r" % (a, b))
os.chdir("/workspace")
def fill(d, names):
    os.makedirs(d, exist_ok=True)
    for n in names:
        with open(os.path.join(d, n), "w") as f:
            f.write("SANDBOX-DATA\n")
names = ["secret", "passwd", "shadow", "hostname"]
fill("rswap", names)                      # a directory ...
os.symlink("/etc", "rswap.alt")           # ... exchanged with a link out
fill("real2", names)
os.symlink("real2", "lswap")              # a link flipped to /etc and back
with open("fswap", "w") as f:             # a file ...
    f.write("SANDBOX-DATA\n")
os.symlink("/etc/passwd", "fswap.alt")    # ... exchanged with a link out
fill("cswap", ["victim"])                 # a directory ...
os.symlink(canary, "cswap.alt")           # ... exchanged with the canary
with open("ready", "w") as f:
    f.write("ready\n")
pairs = [(b"rswap", b"rswap.alt"), (b"fswap", b"fswap.alt"),
         (b"cswap", b"cswap.alt")]
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    for a, b in pairs:
        xchg(a, b)
    # ln -sfn real2 lswap / ln -sfn /etc lswap
    os.symlink("/etc" if n % 2 else "real2", "lswap.tmp")
    os.rename("lswap.tmp", "lswap")
    # kswap: a file of ours, then a link to the host's canary/keep
    if n % 2:
        os.symlink(canary + "/keep", "kswap.tmp")
    else:
        with open("kswap.tmp", "w") as f:
            f.write("SANDBOX-DATA\n")
    os.rename("kswap.tmp", "kswap")
    n += 1
with open("swaps", "w") as f:
    f.write("%d\n" % n)
PY
run csdk fs write "$a" swapper.py <"$tmp/swapper.py"
[ "$rc" = 0 ] || { bad "cannot write the swapper"; finish; }
run csdk exec --background "$a" -- /usr/bin/python3 swapper.py "$canary" \
    $((seconds * 2 + 20))
[ "$rc" = 0 ] || { bad "cannot start the swapper (exit $rc)"; finish; }
for _ in $(seq 100); do
    [ -e "$sd/ws/ready" ] && break
    sleep 0.1
done
[ -e "$sd/ws/ready" ] || { bad "the swapper did not start"; finish; }

# ------------------------------------------------------------------
# 1. The C API, as fast as it goes
# ------------------------------------------------------------------
if "$race" "$tmp/csdk.ini" "$a" "$seconds" >"$tmp/race.out" 2>&1; then
    rrc=0
else
    rrc=$?
fi
sed 's/^/#   /' "$tmp/race.out"
case $rrc in
0) ok "C API: no read, listing or exists crossed a swapped name" ;;
1) bad "C API: THE FILESYSTEM API CROSSED A SWAPPED SYMLINK (see ESCAPE lines)" ;;
3) bad "C API: the race was not observed; the test proved nothing" ;;
*) bad "C API: fs_race failed (exit $rrc)" ;;
esac
if [ "$(canary_state)" = "$canary_before" ]; then
    ok "C API: no write, mkdir or remove through a swapped name touched the canary"
else
    bad "C API: THE HOST CANARY CHANGED: $(diff <(echo "$canary_before") \
        <(canary_state) | tr '\n' '|')"
fi
healthy "the C API race"

# ------------------------------------------------------------------
# 2. The same race through the csdk command
# ------------------------------------------------------------------
reads_ok=0 reads_refused=0 leaks=0
end=$((SECONDS + seconds))
i=0
while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    for p in rswap/passwd lswap/passwd fswap rswap/shadow; do
        if csdk -q fs read "$a" "$p" >"$tmp/out" 2>/dev/null; then
            if [ "$(cat "$tmp/out")" = SANDBOX-DATA ]; then
                reads_ok=$((reads_ok + 1))
            else
                leaks=$((leaks + 1))
                echo "#   LEAK through $p: $(head -c 80 "$tmp/out")"
            fi
        else
            reads_refused=$((reads_refused + 1))
        fi
    done
    if csdk -q fs ls "$a" rswap >"$tmp/out" 2>/dev/null; then
        if awk 'NR > 1 { print $1 }' "$tmp/out" |
            grep -qvxE 'secret|passwd|shadow|hostname'; then
            leaks=$((leaks + 1))
            echo "#   LEAK through fs ls rswap: $(tr '\n' '|' <"$tmp/out" | head -c 200)"
        fi
    fi
    echo x | csdk -q fs write "$a" "cswap/cli-$i" >/dev/null 2>&1
    echo x | csdk -q fs write "$a" kswap >/dev/null 2>&1
    csdk -q fs mkdir "$a" "cswap/cli-d-$i" >/dev/null 2>&1
    csdk -q fs rm "$a" cswap/victim >/dev/null 2>&1
done
echo "#   csdk: $i rounds, $reads_ok reads of sandbox data, $reads_refused refused"
if [ "$leaks" -eq 0 ]; then
    ok "csdk fs: no read or listing through a swapped name showed host content"
else
    bad "csdk fs: $leaks READS OR LISTINGS SHOWED HOST CONTENT"
fi
if [ "$(canary_state)" = "$canary_before" ]; then
    ok "csdk fs: no write, mkdir or rm through a swapped name touched the canary"
else
    bad "csdk fs: THE HOST CANARY CHANGED: $(diff <(echo "$canary_before") \
        <(canary_state) | tr '\n' '|')"
fi
# The writes that went through landed in the sandbox's own directory.
run csdk exec "$a" -- sh -c 'ls cswap cswap.alt 2>/dev/null | grep -c "^w-\|^cli-"'
echo "#   $(cat "$tmp/out") writes landed inside the workspace"
healthy "the csdk command race"
finish
