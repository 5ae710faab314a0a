# Sourced by tests/local/local_*.sh: the local provider through the csdk
# command, with real bubblewrap.  Sets up a temporary ROOT and a
# configuration that loads the built plugin and agent, helpers to run csdk
# and check what a user sees, and a cleanup that destroys every sandbox
# the test made.  Skips (77) when bwrap cannot create namespaces here.

: "${CSDK_BIN:?run through make check}"
: "${top_builddir:?run through make check}"
PYTHON=/usr/bin/python3
AGENT=$top_builddir/plugins/local/agent/csdk-local-agent
PLUGIN_DIR=$top_builddir/plugins/local/.libs

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

command -v bwrap >/dev/null 2>&1 ||
    skip "bubblewrap is not installed (apt-get install bubblewrap)"
if ! why=$(bwrap --unshare-user --unshare-pid --unshare-net --as-pid-1 \
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
    --symlink usr/lib64 /lib64 --proc /proc --dev /dev \
    -- /usr/bin/true 2>&1); then
    skip "bwrap cannot create namespaces on this machine: $why"
fi
[ -x "$AGENT" ] || { echo "FAIL: no agent at $AGENT (build first)" >&2; exit 1; }
[ -e "$PLUGIN_DIR/local.so" ] ||
    { echo "FAIL: no plugin at $PLUGIN_DIR/local.so (build first)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-local.XXXXXX")
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

# Destroy whatever the test left, even when it failed half-way, so no
# sandbox outlives the test.
local_cleanup() {
    if [ -d "$root/sandboxes" ]; then
        for d in "$root"/sandboxes/lc-*; do
            [ -d "$d" ] || continue
            "$CSDK_BIN" --config "$tmp/csdk.ini" destroy \
                "local:$(basename "$d")" >/dev/null 2>&1 || :
        done
    fi
    rm -rf "$tmp"
}
trap local_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp/out" "$tmp/err"; do
        if [ -s "$f" ]; then
            echo "--- $(basename "$f"):" >&2
            head -c 2000 "$f" >&2
            echo >&2
        fi
    done
    exit 1
}

# csdk ARGS...: the command with the test configuration.
csdk() {
    "$CSDK_BIN" --config "$tmp/csdk.ini" "$@"
}

# expect STATUS CMD...: run CMD with stdout in $tmp/out and stderr in
# $tmp/err and check its exit status.
expect() {
    want=$1
    shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then got=0; else got=$?; fi
    [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}

out_is() {
    [ "$(cat "$tmp/out")" = "$1" ] ||
        fail "stdout is '$(cat "$tmp/out")', expected '$1'"
}
out_has() {
    grep -F -- "$1" "$tmp/out" >/dev/null || fail "stdout lacks '$1'"
}
out_lacks() {
    ! grep -F -- "$1" "$tmp/out" >/dev/null || fail "stdout has '$1'"
}
err_has() {
    grep -F -- "$1" "$tmp/err" >/dev/null || fail "stderr lacks '$1'"
}
err_one_line() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
        fail "stderr has $(wc -l <"$tmp/err") lines, expected 1"
}

# json_check EXPR: stdout parses as JSON and EXPR (Python, on `d`) holds.
json_check() {
    "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit("JSON check failed: " + sys.argv[2] + "\n" + json.dumps(d))
' "$tmp/out" "${1:-True}" || fail "--json output check '${1:-True}'"
}

# new_sandbox [CREATE OPTIONS]: create a sandbox, its id in $id.
new_sandbox() {
    expect 0 csdk create "$@"
    id=$(cat "$tmp/out")
    case $id in
    local:lc-*) ;;
    *) fail "create printed '$id', expected local:lc-..." ;;
    esac
}

# The state directory of sandbox $1.
state_dir() {
    echo "$root/sandboxes/${1#local:}"
}

# now_ms: wall clock in milliseconds.
now_ms() {
    "$PYTHON" -c 'import time; print(int(time.time() * 1000))'
}

# no_process MARKER: nothing on this machine has MARKER in its command
# line (the sandbox's processes are visible from here).
no_process() {
    if pgrep -f -- "$1" >/dev/null 2>&1; then
        fail "a process with '$1' is still running: $(pgrep -af -- "$1")"
    fi
}
