# Sourced by tests/docker/attack_docker.sh and attack_docker_fs.sh: attacks
# on the docker provider with its DEFAULT security settings, run against a
# private Docker Engine (tests/docker/engine.sh) that this script starts
# and stops.  Each attack must fail; after each one the host, the engine
# and a bystander sandbox must still be healthy.
#
# The provider is configured with nothing but what the test image needs:
#   image = csdk-test/hostusr, binds = /usr:/usr:ro, pull_policy = never
# so every limit is the provider's default: network_mode none, cap_drop
# ALL with seven capabilities kept, no-new-privileges, memory_mb 512,
# pids_limit 256.  A second instance, [provider.nobody], adds only
# user = 65534:65534.
#
# Provides:
#   csdk ARGS...          the csdk command on this configuration (60 s cap:
#                         a hang is a failure, not a stuck test)
#   run CMD...            run CMD: stdout in $tmp/out, stderr in $tmp/err,
#                         exit status in $rc
#   ok TEXT / bad TEXT    record a passed / failed check (a failed check
#                         does not stop the script: every attack is tried)
#   expect_fail TEXT      ok if the last run failed
#   new_sandbox VAR [INSTANCE]  create a sandbox (docker or nobody)
#   full_id ID            the engine's full id of a sandbox or container
#   cgroup_dir CTRL ID    the container's cgroup directory for CTRL
#   healthy AFTER         the bystander answers, the engine answers, the
#                         host creates a new sandbox and spawns processes
#   finish                exit 1 if any check failed, else 0
#
# Skips (77) only through engine_skip_unless_available (not root, or the
# engine's programs are missing).
: "${top_builddir:?run through make check (top_builddir is not set)}"
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
: "${CSDK_BIN:?run through make check (CSDK_BIN is not set)}"

. "$top_srcdir/tests/docker/engine.sh"

PLUGIN_DIR=$top_builddir/plugins/docker/.libs
PYTHON=/usr/bin/python3

engine_skip_unless_available docker
[ -x "$CSDK_BIN" ] || { echo "FAIL: $CSDK_BIN is not built" >&2; exit 1; }
[ -f "$PLUGIN_DIR/docker.so" ] ||
    { echo "FAIL: the docker provider is not built ($PLUGIN_DIR/docker.so)" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "FAIL: $PYTHON is missing (the attacks use it)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/csdk-attack.XXXXXX) || exit 1
# Host processes this script started (listeners), killed by pid.
host_pids=
failures=0
checks=0

attack_cleanup() {
    for p in $host_pids; do
        kill "$p" 2>/dev/null || :
    done
    engine_stop
    rm -rf "$tmp"
}
trap attack_cleanup EXIT
trap 'exit 130' INT TERM
engine_start docker || exit 1
engine_images || exit 1

cfg=$tmp/csdk.ini
cat >"$cfg" <<INI
[host]
plugin_dir = $PLUGIN_DIR
default_provider = docker

[provider.docker]
plugin = docker
host = $ENGINE_HOST
image = csdk-test/hostusr
pull_policy = never
binds = /usr:/usr:ro

[provider.nobody]
plugin = docker
host = $ENGINE_HOST
image = csdk-test/hostusr
pull_policy = never
binds = /usr:/usr:ro
user = 65534:65534
INI

csdk() {
    timeout -s KILL 60 "$CSDK_BIN" --config "$cfg" "$@"
}

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
    if "$@" >"$tmp/out" 2>"$tmp/err"; then rc=0; else rc=$?; fi
}

ok() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

# known WHAT: an attack that succeeds against a gap the documentation
# states (docs/docker-provider.md, "Known gaps"): reported on every run,
# not counted as a failure, so that the day it stops succeeding shows.
known() {
    checks=$((checks + 1))
    echo "KNOWN GAP $checks - $*"
}

bad() {
    local f
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "FAIL $checks - $*"
    for f in "$tmp/out" "$tmp/err"; do
        if [ -s "$f" ]; then
            echo "#   $(basename "$f"): $(head -c 600 "$f" | tr '\n' '|')"
        fi
    done
}

# expect_fail TEXT: the last run exited non-zero.
expect_fail() {
    if [ "$rc" != 0 ]; then
        ok "$1 (refused, exit $rc: $(grep -v '^$' "$tmp/err" "$tmp/out" | head -n 1 | cut -d: -f2- | cut -c1-140))"
    else
        bad "$1: succeeded"
    fi
}

finish() {
    echo "# $checks checks, $failures failed"
    [ "$failures" -eq 0 ] || exit 1
    exit 0
}

# new_sandbox VAR [INSTANCE]: create a sandbox, its id (INSTANCE:HEX) in VAR.
new_sandbox() {
    local var=$1 inst=${2:-docker} out
    if ! out=$(csdk -q create --provider "$inst" 2>"$tmp/create.err"); then
        echo "FAIL: cannot create a sandbox: $(cat "$tmp/create.err")" >&2
        exit 1
    fi
    case $out in
    "$inst":[0-9a-f]*) ;;
    *) echo "FAIL: create printed '$out'" >&2; exit 1 ;;
    esac
    printf -v "$var" '%s' "$out"
}

# full_id ID: the engine's full id of a sandbox (INSTANCE:HEX) or container.
full_id() {
    engine_api GET "/containers/${1#*:}/json" 2>/dev/null |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Id"])'
}

# running ID: the engine says the container runs.
running() {
    engine_api GET "/containers/${1#*:}/json" 2>/dev/null |
        "$PYTHON" -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["State"]["Running"] else 1)' 2>/dev/null
}

# cgroup_dir CONTROLLER ID: the container's cgroup directory on the host
# for CONTROLLER (pids, memory), from its main process's /proc/PID/cgroup
# (cgroup v1 or v2).
cgroup_dir() {
    local pid line
    pid=$(engine_container_pid "${2#*:}") || return 1
    [ -n "$pid" ] && [ "$pid" != 0 ] || return 1
    line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" "/proc/$pid/cgroup")
    if [ -n "$line" ]; then
        echo "/sys/fs/cgroup/$1${line#*:*:}"
    else
        line=$(grep '^0::' "/proc/$pid/cgroup") || return 1
        echo "/sys/fs/cgroup${line#0::}"
    fi
}

# host_can_spawn: this machine can still start 50 processes in 10 s.
host_can_spawn() {
    timeout 10 bash -c 'for i in $(seq 50); do /bin/true || exit 1; done'
}

# The bystander: a sandbox created before the attacks.
new_sandbox bystander

# bystander_ok: the bystander runs `echo ok`.
bystander_ok() {
    [ "$(csdk -q exec --timeout 20000 "$bystander" -- echo ok 2>&1)" = ok ]
}

# healthy AFTER: after an attack, the bystander still runs `echo ok`, the
# engine answers, the host creates, uses and destroys a new sandbox, and
# spawns processes.
healthy() {
    local what=$1 fresh out
    if bystander_ok; then
        ok "after $what: the bystander sandbox still runs 'echo ok'"
    else
        bad "after $what: the bystander sandbox does not answer 'echo ok'"
    fi
    if [ "$(engine_api GET /_ping 2>&1)" = OK ]; then :; else
        bad "after $what: the engine does not answer /_ping"
    fi
    fresh=$(csdk -q create 2>&1)
    case $fresh in
    docker:[0-9a-f]*)
        out=$(csdk -q exec --timeout 20000 "$fresh" -- echo ok 2>&1)
        csdk -q destroy "$fresh" >/dev/null 2>&1
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
