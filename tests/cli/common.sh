# Sourced by the tests/cli scripts.  Sets up a temporary directory with a
# configuration that loads the example plugin, and helpers that run csdk
# and check what a user would see.

: "${CSDK_BIN:?run through make check}"
: "${CSDK_TEST_PLUGIN_DIR:?run through make check}"
PYTHON=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/csdk.ini" <<INI
[host]
plugin_dir = $CSDK_TEST_PLUGIN_DIR
default_provider = example

[provider.example]
plugin = example
state_file = $tmp/state
INI

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
# $tmp/err (stdin as given) and check its exit status.
expect() {
    want=$1
    shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then got=0; else got=$?; fi
    [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}

# out_is TEXT / err_has TEXT / out_has TEXT: check the last expect's output.
out_is() {
    [ "$(cat "$tmp/out")" = "$1" ] ||
        fail "stdout is '$(cat "$tmp/out")', expected '$1'"
}
out_has() {
    grep -F -- "$1" "$tmp/out" >/dev/null || fail "stdout lacks '$1'"
}
err_has() {
    grep -F -- "$1" "$tmp/err" >/dev/null || fail "stderr lacks '$1'"
}
err_empty() {
    [ ! -s "$tmp/err" ] || fail "stderr is not empty"
}
# err_one_line: errors are exactly one line.
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
