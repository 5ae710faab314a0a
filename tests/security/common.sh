# Sourced by the tests/security scripts.  Each script is a set of attacks
# on the local (bubblewrap) provider that must FAIL: it runs the attack
# inside a csdk sandbox, checks what a user sees, and after every attack
# checks that the machine and a bystander sandbox are still healthy.
#
# The attacks only ever run inside sandboxes created with small limits
# (128 MiB memory, 64 processes, 16 MiB files), so a defence that fails
# cannot hurt the machine the tests run on.
#
# Provides:
#   csdk ARGS...          the csdk command with this test's configuration
#   run CMD...            run CMD: stdout in $tmp/out, stderr in $tmp/err,
#                         exit status in $rc
#   ok TEXT / bad TEXT    record a passed / failed check (a failed check
#                         does not stop the script: every attack is tried)
#   check TEXT CMD...     ok if CMD succeeds, else bad
#   new_sandbox VAR [OPTS]  create a sandbox (small limits), id in $VAR
#   healthy AFTER         the bystander answers, the host can create a
#                         sandbox and spawn processes
#   finish                exit 1 if any check failed, else 0
#
# Skips (77) only when bwrap cannot create namespaces here or the local
# provider or its agent is not built.

: "${CSDK_BIN:?run through make check (CSDK_BIN is not set)}"
: "${top_builddir:?run through make check (top_builddir is not set)}"

PYTHON=/usr/bin/python3
AGENT=$top_builddir/plugins/local/agent/csdk-local-agent
PLUGIN_DIR=$top_builddir/plugins/local/.libs
# Every sandbox these tests create: an attack that beats a defence still
# cannot take more than this from the machine.
SMALL="--opt memory_mb=128 --opt pids=64 --opt file_size_mb=16"

skip() {
    echo "SKIP: $*"
    exit 77
}

command -v bwrap >/dev/null 2>&1 ||
    skip "bwrap is not installed (apt-get install bubblewrap)"
if ! why=$(bwrap --unshare-user --unshare-pid --unshare-net \
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
    --symlink usr/lib64 /lib64 --proc /proc --dev /dev \
    -- /usr/bin/true 2>&1); then
    skip "bwrap cannot create namespaces on this machine: $why"
fi
[ -f "$PLUGIN_DIR/local.so" ] ||
    skip "the local provider is not built ($PLUGIN_DIR/local.so missing; run make)"
[ -x "$AGENT" ] ||
    skip "the local provider's agent is not built ($AGENT missing; run make)"
[ -x "$CSDK_BIN" ] || { echo "FAIL: $CSDK_BIN is not built" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "FAIL: $PYTHON is missing (the attacks use it)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/csdk-security.XXXXXX) || exit 1
chmod 755 "$tmp"
root=$tmp/root
cat >"$tmp/csdk.ini" <<INI
[host]
plugin_dir = $PLUGIN_DIR
default_provider = local

[provider.local]
plugin = local
root = $root
agent = $AGENT
INI

# Host processes this script started (listeners, markers), killed by pid.
host_pids=
failures=0
checks=0

security_cleanup() {
    for p in $host_pids; do
        kill "$p" 2>/dev/null || :
    done
    if [ -d "$root/sandboxes" ]; then
        for d in "$root"/sandboxes/lc-*; do
            [ -d "$d" ] || continue
            "$CSDK_BIN" --config "$tmp/csdk.ini" -q destroy \
                "local:$(basename "$d")" >/dev/null 2>&1 || :
        done
    fi
    rm -rf "$tmp"
}
trap security_cleanup EXIT
trap 'exit 130' INT TERM

csdk() {
    "$CSDK_BIN" --config "$tmp/csdk.ini" "$@"
}

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
    if "$@" >"$tmp/out" 2>"$tmp/err"; then rc=0; else rc=$?; fi
}

ok() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

bad() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "not ok $checks - $*"
    for f in "$tmp/out" "$tmp/err"; do
        if [ -s "$f" ]; then
            echo "#   $(basename "$f"): $(head -c 600 "$f" | tr '\n' '|')"
        fi
    done
}

check() {
    what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# expect_rc WANT TEXT: the last run exited WANT.
expect_rc() {
    if [ "$rc" = "$1" ]; then
        ok "$2 (exit $rc)"
    else
        bad "$2: exit $rc, expected $1"
    fi
}

# expect_fail TEXT: the last run exited non-zero.
expect_fail() {
    if [ "$rc" != 0 ]; then
        ok "$1 (refused, exit $rc: $(head -n 1 "$tmp/err" | cut -c1-160))"
    else
        bad "$1: succeeded"
    fi
}

out_lacks() {
    ! grep -qF -- "$1" "$tmp/out"
}

finish() {
    echo "# $checks checks, $failures failed"
    [ "$failures" -eq 0 ] || exit 1
    exit 0
}

# new_sandbox VAR [CREATE OPTIONS]: a sandbox with the small limits.
new_sandbox() {
    local var=$1 out
    shift
    # shellcheck disable=SC2086
    if ! out=$(csdk -q create $SMALL "$@" 2>"$tmp/create.err"); then
        echo "FAIL: cannot create a sandbox: $(cat "$tmp/create.err")" >&2
        exit 1
    fi
    case $out in
    local:lc-*) ;;
    *) echo "FAIL: create printed '$out'" >&2; exit 1 ;;
    esac
    printf -v "$var" '%s' "$out"
}

# The sandbox's state directory on the host.
state_dir() {
    echo "$root/sandboxes/${1#local:}"
}

meta_get() {
    sed -n "s/^$2=//p" "$(state_dir "$1")/meta"
}

# The host pid of the sandbox's init (the agent): bwrap's child.
agent_host_pid() {
    local bp
    bp=$(meta_get "$1" bwrap_pid)
    [ -n "$bp" ] && pgrep -P "$bp" | head -n 1
}

# Host pids of every process in the sandbox: its pids cgroup when it has
# one, else every process in the agent's pid namespace (and below it).
sandbox_pids() {
    local cg ap ns p
    cg=$(meta_get "$1" cgroup.pids)
    if [ -n "$cg" ] && [ -r "$cg/cgroup.procs" ]; then
        # As root the bwrap monitor joins the cgroups too (it starts in
        # them): it is csdk's supervisor outside the sandbox, not one of
        # the sandbox's processes.
        grep -vx "$(meta_get "$1" bwrap_pid)" "$cg/cgroup.procs" || true
        return
    fi
    ap=$(agent_host_pid "$1") || return 0
    [ -n "$ap" ] || return 0
    ns=$(readlink "/proc/$ap/ns/pid") || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
    done
}

# host_can_spawn: this machine can still start 50 processes in 10 s.
host_can_spawn() {
    timeout 10 bash -c 'for i in $(seq 50); do /bin/true || exit 1; done'
}

# The bystander: a sandbox created before the attacks.
new_sandbox bystander

# healthy AFTER: after an attack, the bystander still runs `echo ok`, the
# host can create, use and destroy a new sandbox, and spawn processes.
healthy() {
    local what=$1 fresh out
    out=$(timeout 30 "$CSDK_BIN" --config "$tmp/csdk.ini" -q exec \
        --timeout 10000 "$bystander" -- echo ok 2>&1)
    if [ "$out" = ok ]; then
        ok "after $what: the bystander sandbox still runs 'echo ok'"
    else
        bad "after $what: the bystander sandbox answered '$out'"
    fi
    fresh=$(timeout 30 "$CSDK_BIN" --config "$tmp/csdk.ini" -q create \
        $SMALL 2>&1)
    case $fresh in
    local:lc-*)
        out=$(timeout 30 "$CSDK_BIN" --config "$tmp/csdk.ini" -q exec \
            --timeout 10000 "$fresh" -- echo ok 2>&1)
        timeout 30 "$CSDK_BIN" --config "$tmp/csdk.ini" -q destroy \
            "$fresh" >/dev/null 2>&1
        if [ "$out" = ok ]; then
            ok "after $what: the host creates a new sandbox that runs 'echo ok'"
        else
            bad "after $what: a new sandbox answered '$out'"
        fi
        ;;
    *) bad "after $what: the host cannot create a sandbox: $fresh" ;;
    esac
    if host_can_spawn; then
        ok "after $what: the host still spawns processes"
    else
        bad "after $what: the host cannot spawn 50 processes in 10 s"
    fi
}
