#!/bin/bash
# Attacks on the host's files, and on containers csdk did not make,
# through a docker sandbox with the provider's default settings
# (attack_common.sh), on a private Docker Engine.  Each must fail:
#   1. host files: the host's /etc/shadow, /root and the engine's run
#      directory (its sockets included) cannot be seen, from a command or
#      through the file API, directly or through a symlink made inside;
#      a write through such a symlink lands in the sandbox, not the host;
#      no host block device is in /dev;
#   2. read-only places: /usr (the bind) cannot be written by a command
#      or the file API; /proc/sys/kernel/core_pattern, /proc/sysrq-trigger
#      and the sandbox's own cgroup limits cannot be written;
#   3. names that try to inject commands through the file API
#      ('a;touch /tmp/pwned1', '$(touch ...)', '`touch ...`', quotes, a
#      newline, '-rf', '*'): fs write/read/exists/ls/mkdir/rm treat each
#      as one literal name, and no payload runs (no marker inside or on
#      the host);
#   4. a container started through the engine without csdk's labels
#      cannot be destroyed (PERMISSION), exec'd into, read, written or
#      listed through csdk (NOT_FOUND), and keeps running.
# After each group the bystander sandbox, the engine and the host are
# checked (healthy).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/docker/attack_common.sh"

t=P$$x$RANDOM            # payload marker suffix: a payload creates pwnedN-$t
nl=$'\n'
new_sandbox a

# ------------------------------------------------------------------
# 1. Host files
# ------------------------------------------------------------------
run csdk exec "$a" -- cat /etc/shadow
expect_fail "host files: cat /etc/shadow"
run csdk fs read "$a" /etc/shadow
expect_fail "host files: fs read /etc/shadow"
run csdk fs read "$a" ../../../../etc/shadow
expect_fail "host files: fs read ../../../../etc/shadow"
hs=$(sha256sum </etc/shadow | cut -c1-64)
run csdk exec "$a" -- sh -c 'for f in /etc/shadow /proc/1/root/etc/shadow; do
    [ -r "$f" ] && sha256sum <"$f"; done; true'
if grep -q "$hs" "$tmp/out"; then
    bad "host files: THE HOST'S /etc/shadow IS READABLE INSIDE"
else
    ok "host files: no file inside has the host's /etc/shadow content"
fi
host_root=$(ls -A /root | head -n 20)
run csdk exec "$a" -- ls -A /root
if [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]; then
    ok "host files: /root inside is the image's empty one (the host's holds $(echo "$host_root" | grep -c .) entries)"
else
    bad "host files: /root inside lists: $(tr '\n' ' ' <"$tmp/out" | cut -c1-200) (exit $rc)"
fi
run csdk --json fs ls "$a" /root
if [ -n "$host_root" ] && grep -qF "\"$(echo "$host_root" | head -n 1)\"" "$tmp/out"; then
    bad "host files: fs ls /root SHOWS THE HOST'S /root"
else
    ok "host files: fs ls /root does not show the host's /root"
fi
run csdk exec "$a" -- sh -c 'for p in "$@"; do
    [ -e "$p" ] || [ -L "$p" ] && echo "VISIBLE $p"; done; true' sh \
    "$ENGINE_RUNDIR" "$ENGINE_SOCK" "$ENGINE_RUNDIR/exec" /var/run/docker.sock \
    /run/docker.sock /run/containerd/containerd.sock /run/containerd
if [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]; then
    ok "host files: the engine's run directory and sockets are not visible inside"
else
    bad "host files: $(tr '\n' ' ' <"$tmp/out") (exit $rc)"
fi
run csdk fs exists "$a" "$ENGINE_SOCK"
if [ "$rc" = 1 ]; then
    ok "host files: fs exists of the engine's socket says no"
else
    bad "host files: fs exists $ENGINE_SOCK: exit $rc, expected 1"
fi
run csdk fs ls "$a" "$ENGINE_RUNDIR"
expect_fail "host files: fs ls of the engine's run directory"
run csdk exec "$a" -- sh -c 'find /dev -type b 2>/dev/null'
if [ ! -s "$tmp/out" ]; then
    ok "host files: no block device in the sandbox's /dev"
else
    bad "host files: block devices inside: $(tr '\n' ' ' <"$tmp/out")"
fi

# Symlinks made inside, then used through the file API: the engine
# resolves them in the container's root.
run csdk exec "$a" -- sh -c "ln -s /etc /workspace/etc-link &&
    ln -s '$ENGINE_SOCK' /workspace/sock-link &&
    ln -s / /workspace/root-link &&
    ln -s /tmp/host-only-$t /workspace/out-link"
[ "$rc" = 0 ] || bad "host files: could not make the symlinks inside (exit $rc)"
run csdk fs read "$a" /workspace/etc-link/shadow
expect_fail "host files: fs read through a symlink to /etc: shadow"
run csdk fs read "$a" /workspace/root-link/root-link/../etc/shadow
expect_fail "host files: fs read root-link/root-link/../etc/shadow"
run csdk fs read "$a" /workspace/sock-link
expect_fail "host files: fs read through a symlink to the engine's socket"
run sh -c "echo written-$t | timeout -s KILL 60 '$CSDK_BIN' --config '$cfg' fs write '$a' /workspace/out-link"
if [ -e "/tmp/host-only-$t" ]; then
    bad "host files: A WRITE THROUGH A SYMLINK CREATED /tmp/host-only-$t ON THE HOST"
    rm -f "/tmp/host-only-$t"
else
    run csdk exec "$a" -- sh -c "grep -l written-$t /tmp/host-only-$t /workspace/out-link 2>/dev/null; true"
    ok "host files: fs write through a symlink to the host's /tmp stays in the sandbox (in: $(tr '\n' ' ' <"$tmp/out"))"
fi
healthy "reading the host's files"

# ------------------------------------------------------------------
# 2. Read-only places
# ------------------------------------------------------------------
run csdk exec "$a" -- touch "/usr/csdk-$t"
expect_fail "read-only: touch /usr/csdk-... as root"
grep -q 'Read-only' "$tmp/err" || echo "#   (the error does not say Read-only: $(head -n 1 "$tmp/err"))"
run csdk exec "$a" -- sh -c "echo x >>/usr/lib/os-release"
expect_fail "read-only: append to /usr/lib/os-release as root"
run sh -c "echo x | timeout -s KILL 60 '$CSDK_BIN' --config '$cfg' fs write '$a' '/usr/csdk-api-$t'"
expect_fail "read-only: fs write /usr/csdk-api-..."
run csdk fs mkdir "$a" "/usr/csdk-dir-$t"
expect_fail "read-only: fs mkdir /usr/csdk-dir-..."
run csdk fs rm "$a" /usr/bin/python3
expect_fail "read-only: fs rm /usr/bin/python3"
if [ -e "/usr/csdk-$t" ] || [ -e "/usr/csdk-api-$t" ] || [ -e "/usr/csdk-dir-$t" ] ||
    [ ! -x /usr/bin/python3 ]; then
    bad "read-only: THE HOST'S /usr CHANGED"
    rm -rf "/usr/csdk-$t" "/usr/csdk-api-$t" "/usr/csdk-dir-$t"
else
    ok "read-only: the host's /usr is unchanged"
fi
cp_before=$(cat /proc/sys/kernel/core_pattern)
run csdk exec "$a" -- sh -c "echo '|/tmp/evil-$t' >/proc/sys/kernel/core_pattern"
expect_fail "read-only: write /proc/sys/kernel/core_pattern"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$cp_before" ] ||
    bad "read-only: THE HOST'S core_pattern CHANGED: $(cat /proc/sys/kernel/core_pattern)"
[ -e /proc/sysrq-trigger ] || echo "#   (this kernel has no /proc/sysrq-trigger)"
run csdk exec "$a" -- sh -c 'echo m >/proc/sysrq-trigger'
expect_fail "read-only: write /proc/sysrq-trigger"
run csdk exec "$a" -- sh -c 'for f in /sys/fs/cgroup/memory/memory.limit_in_bytes \
    /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; do
    [ -e "$f" ] || continue; echo "tried $f"; echo max >"$f" && echo "WROTE $f"; done'
if grep -q tried "$tmp/out" && ! grep -q WROTE "$tmp/out"; then
    ok "read-only: the sandbox cannot raise its own cgroup limits"
else
    bad "read-only: cgroup limits from inside: $(tr '\n' ' ' <"$tmp/out") (exit $rc)"
fi
mcg=$(cgroup_dir memory "$a")
lim=$(cat "$mcg/memory.limit_in_bytes" 2>/dev/null || cat "$mcg/memory.max" 2>/dev/null)
[ "$lim" = $((512 << 20)) ] || bad "read-only: the memory limit is now '$lim'"
healthy "writing read-only places"

# ------------------------------------------------------------------
# 3. Names that try to inject commands through the file API
# ------------------------------------------------------------------
names=(
    "a;touch /tmp/pwned1-$t"
    "\$(touch /tmp/pwned2-$t)"
    "\`touch /tmp/pwned3-$t\`"
    "name'with\"quotes"
    "new${nl}line"
    "a|touch pwned4-$t"
    "a&&touch pwned5-$t"
    "-rf"
    "*"
    " lead and trail "
    "%s%n%x"
)
# in_dir DIR NAME: NAME is an entry of DIR, as python's os.listdir sees
# it inside the sandbox and as `fs ls` reports it.
in_dir() {
    csdk exec "$a" -- /usr/bin/python3 -c '
import os, sys
sys.exit(0 if sys.argv[2] in os.listdir(sys.argv[1]) else 1)' "$1" "$2" &&
        csdk --json fs ls "$a" -- "$1" 2>/dev/null | "$PYTHON" -c '
import json, sys
sys.exit(0 if sys.argv[1] in [e["name"] for e in json.load(sys.stdin)] else 1)' "$2"
}
i=0
for name in "${names[@]}"; do
    i=$((i + 1))
    shown=$(printf '%q' "$name")
    p=/workspace/$name
    dir=${p%/*} base=${p##*/}
    want="LITERAL-$i"
    run sh -c "printf '%s' '$want' | timeout -s KILL 60 \"\$0\" --config '$cfg' fs write '$a' -- \"\$1\"" \
        "$CSDK_BIN" "$name"
    if [ "$rc" != 0 ]; then
        bad "names: fs write $shown failed (exit $rc)"
        continue
    fi
    run csdk fs read "$a" -- "$name"
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = "$want" ]; then
        ok "names: fs write/read $shown round-trips"
    else
        bad "names: fs read $shown (exit $rc)"
    fi
    before=$failures
    run csdk fs exists "$a" -- "$name"
    [ "$rc" = 0 ] || bad "names: fs exists $shown: exit $rc"
    if in_dir "$dir" "$base"; then :; else
        bad "names: $(printf '%q' "$base") is not a literal entry of $(printf '%q' "$dir") (inside and fs ls)"
    fi
    run csdk fs mkdir "$a" -- "$name.d/sub"
    [ "$rc" = 0 ] && in_dir "$p.d" sub || bad "names: fs mkdir $shown.d/sub (exit $rc)"
    run csdk fs rm "$a" -- "$name.d"
    if [ "$rc" = 0 ] && ! csdk fs exists "$a" -- "$name.d" 2>/dev/null &&
        csdk fs exists "$a" -- "$name" 2>/dev/null; then :; else
        bad "names: fs rm $shown.d (exit $rc) removed the wrong thing"
    fi
    [ "$failures" != "$before" ] ||
        ok "names: fs exists, ls (and ls inside), mkdir $shown.d/sub and rm $shown.d take it literally"
done
# rm of '*' and '-rf' removes the file of that name and nothing else.
run csdk fs rm "$a" -- '*'
if [ "$rc" = 0 ] && ! csdk fs exists "$a" -- '*' 2>/dev/null &&
    csdk fs exists "$a" -- '-rf' 2>/dev/null && csdk fs exists "$a" -- "name'with\"quotes" 2>/dev/null; then
    ok "names: fs rm '*' removed the file named '*' and nothing else"
else
    bad "names: fs rm '*' (exit $rc) removed more or less than the file named '*'"
fi
run csdk fs rm "$a" -- -rf
if [ "$rc" = 0 ] && ! csdk fs exists "$a" -- -rf 2>/dev/null &&
    csdk fs exists "$a" -- "new${nl}line" 2>/dev/null; then
    ok "names: fs rm -rf removed the file named '-rf' and nothing else"
else
    bad "names: fs rm -rf (exit $rc)"
fi
run csdk fs rm "$a" -- "new${nl}line"
if [ "$rc" = 0 ] && ! csdk fs exists "$a" -- "new${nl}line" 2>/dev/null; then
    ok "names: fs rm of a name with a newline removed it"
else
    bad "names: fs rm of a name with a newline (exit $rc)"
fi
# Nothing ran: no payload marker anywhere but the literal paths written.
run csdk exec "$a" -- sh -c "find / -xdev -name 'pwned*-$t*' 2>/dev/null; true"
inside=$(grep -v '^/workspace/' "$tmp/out")
found=$(find /tmp "$tmp" -maxdepth 3 -name "pwned*-$t*" 2>/dev/null)
if [ -z "$inside" ] && [ -z "$found" ]; then
    ok "names: no payload ran: no pwned marker outside /workspace in the sandbox, none on the host"
else
    bad "names: A PAYLOAD RAN: sandbox: $(echo "$inside" | tr '\n' ' '); host: $found"
fi
run csdk exec "$a" -- sh -c 'ls -A /tmp'
if ! grep -q pwned "$tmp/out"; then
    ok "names: the sandbox's /tmp holds no pwned file"
else
    bad "names: the sandbox's /tmp holds: $(grep pwned "$tmp/out" | tr '\n' ' ')"
fi
healthy "names that try to inject commands"

# ------------------------------------------------------------------
# 4. Containers csdk did not make
# ------------------------------------------------------------------
fid=$(engine_run csdk-test/hostusr '["/usr/bin/sleep","600"]' '"Binds":["/usr:/usr:ro"]')
f=docker:${fid:0:12}
run csdk destroy "$f"
if [ "$rc" = 77 ] && grep -q 'not made by csdk' "$tmp/err"; then
    ok "foreign: destroy is refused as PERMISSION (exit 77: $(cut -c1-120 "$tmp/err"))"
else
    bad "foreign: destroy of a container csdk did not make: exit $rc"
fi
run csdk destroy "docker:$fid"
[ "$rc" = 77 ] || bad "foreign: destroy by its full id: exit $rc, expected 77"
for what in "exec $f -- sh -c 'echo csdk >/tmp/was-here-exec'" \
    "exec --background $f -- sh -c 'echo csdk >/tmp/was-here-bg'" \
    "info $f" "url $f 8080" "fs read $f /etc/passwd" "fs ls $f /" \
    "fs exists $f /etc/passwd" "fs mkdir $f /tmp/was-here-mkdir" \
    "fs rm $f /etc/passwd"; do
    eval "run csdk $what"
    if [ "$rc" = 66 ]; then
        ok "foreign: $what: not found (exit 66)"
    else
        bad "foreign: $what: exit $rc, expected 66 (NOT_FOUND)"
    fi
done
run sh -c "echo csdk | timeout -s KILL 60 '$CSDK_BIN' --config '$cfg' fs write $f /tmp/was-here-write"
[ "$rc" = 66 ] && ok "foreign: fs write: not found (exit 66)" ||
    bad "foreign: fs write: exit $rc, expected 66 (NOT_FOUND)"
run sh -c "echo 'open(\"/tmp/was-here-code\", \"w\")' | timeout -s KILL 60 '$CSDK_BIN' --config '$cfg' run-code -l python $f"
[ "$rc" = 66 ] && ok "foreign: run-code: not found (exit 66)" ||
    bad "foreign: run-code: exit $rc, expected 66 (NOT_FOUND)"
run csdk list
if grep -q "${fid:0:12}" "$tmp/out"; then
    bad "foreign: list shows the foreign container"
else
    ok "foreign: list does not show it"
fi
: >"$tmp/out"
: >"$tmp/err"
left=$(engine_exec "$fid" '["/bin/sh","-c","ls /tmp/was-here-* 2>/dev/null; test -f /etc/passwd && echo passwd-intact"]' 2>&1)
if [ "$left" = passwd-intact ]; then
    ok "foreign: nothing csdk ran or wrote reached it"
else
    bad "foreign: CSDK REACHED THE FOREIGN CONTAINER: $(echo "$left" | tr '\n' ' ')"
fi
if running "$fid"; then
    ok "foreign: it still runs"
else
    bad "foreign: it no longer runs"
fi
engine_rm "$fid" >/dev/null 2>&1
healthy "the foreign-container attacks"
finish
