#!/bin/sh
# The command line itself: help, usage errors (exit 2, two lines on
# stderr), configuration errors (exit 78 naming the file), and the
# providers listing.
set -eu
. "$top_srcdir/tests/cli/common.sh"

# usage_error ARGS...: exit 2, "csdk: ..." then "Try 'csdk --help'.", and
# nothing on stdout.  A missing config proves usage is checked first.
usage_error() {
    expect 2 "$CSDK_BIN" --config "$tmp/does-not-exist.ini" "$@"
    out_is ""
    [ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "'$*': stderr is not 2 lines"
    [ "$(sed -n 1p "$tmp/err" | cut -c1-6)" = "csdk: " ] ||
        fail "'$*': stderr does not start with 'csdk: '"
    [ "$(sed -n 2p "$tmp/err")" = "Try 'csdk --help'." ] ||
        fail "'$*': no \"Try 'csdk --help'.\" line"
}

expect 2 "$CSDK_BIN"
err_has "no command"
usage_error bogus
err_has "unknown command 'bogus'"
usage_error --bogus providers
err_has "'--bogus'"
usage_error providers extra
usage_error create --bogus
err_has "'--bogus'"
usage_error create -p
err_has "needs a value"
usage_error create --env NOEQUALS
err_has "'NOEQUALS' is not KEY=VALUE"
usage_error create --meta =v
usage_error create --timeout soon
err_has "'soon' is not a non-negative number"
usage_error create --network=yes
usage_error exec
usage_error exec example:x
err_has "missing command"
usage_error exec --timeout -5 example:x -- true
usage_error exec --timeout 1x example:x -- true
usage_error exec -- true
usage_error exec --shell 'echo hi' example:x -- echo
usage_error info
usage_error info a b
usage_error destroy
usage_error url example:x
usage_error url example:x 99999
usage_error url example:x http
usage_error extend example:x forever
usage_error find onlyone
usage_error find-or-create ns
usage_error run-code
usage_error run extra-file other-file
usage_error run a.py -- echo
usage_error fs
usage_error fs frob example:x /p
usage_error fs read example:x
usage_error fs exists example:x /a /b
usage_error help bogus
expect 2 "$CSDK_BIN" --config
err_has "Try 'csdk --help'."

# Help goes to stdout and exits 0, without any configuration.
expect 0 "$CSDK_BIN" --config "$tmp/does-not-exist.ini" --help
out_has "Usage: csdk"
out_has "find-or-create"
out_has "Exit status:"
out_has "78"
out_has "124"
err_empty
expect 0 "$CSDK_BIN" -h
out_has "Usage: csdk"
for c in providers create list info exec run-code fs url destroy find \
    find-or-create extend run; do
    expect 0 "$CSDK_BIN" --config "$tmp/does-not-exist.ini" $c --help
    out_has "Usage: csdk $c"
    err_empty
done
expect 0 "$CSDK_BIN" fs read --help
out_has "csdk fs read ID PATH"
expect 0 "$CSDK_BIN" help exec
out_has "Usage: csdk exec"
expect 0 "$CSDK_BIN" --version
out_has "csdk "

# Configuration errors: 78, one line naming the file (and the line).
expect 78 "$CSDK_BIN" --config "$tmp/missing.ini" providers
err_one_line
err_has "$tmp/missing.ini"
printf '[host]\nplugin_dir = %s\nthis line is not ini\n' \
    "$CSDK_TEST_PLUGIN_DIR" >"$tmp/syntax.ini"
expect 78 "$CSDK_BIN" --config "$tmp/syntax.ini" providers
err_one_line
err_has "$tmp/syntax.ini"
err_has ":3"
# $CSDK_CONFIG is searched when there is no --config.
CSDK_CONFIG="$tmp/csdk.ini" expect 0 "$CSDK_BIN" providers
out_has "example"

# providers: one line per instance, and the JSON form.
expect 0 csdk providers
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "providers printed more than 1 line"
out_has "example"
out_has "ready"
out_has "read_file"
expect 0 csdk --json providers
json_check '[p["name"] for p in d["providers"]] == ["example"] and d["default"] == "example"'
json_check 'd["providers"][0]["loaded"] is True and d["providers"][0]["abi"] == "1.0" and d["providers"][0]["error"] is None'
json_check '"read_file" in d["providers"][0]["capabilities"] and "readdir" not in d["providers"][0]["capabilities"]'

# A provider that cannot load is listed as refused, with the reason.
cat >"$tmp/refused.ini" <<INI
[host]
plugin_dir = $CSDK_TEST_PLUGIN_DIR
default_provider = example

[provider.example]
plugin = example

[provider.ghost]
plugin = $tmp/no-such-plugin.so
INI
expect 0 "$CSDK_BIN" -q --config "$tmp/refused.ini" providers
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "providers did not print 2 lines"
grep '^ghost  *refused .*no-such-plugin' "$tmp/out" >/dev/null ||
    fail "the missing plugin is not listed as refused with its path"
expect 0 "$CSDK_BIN" -q --config "$tmp/refused.ini" --json providers
json_check '[p["loaded"] for p in d["providers"]] == [True, False] and d["providers"][1]["error"]'
expect 78 "$CSDK_BIN" -q --config "$tmp/refused.ini" create -p ghost
err_one_line
err_has "ghost"

# Every --json output parses, also for commands that print nothing else.
expect 0 csdk --json create --meta owner=test --env A=1
json_check 'd["metadata"] == {"owner": "test"} and d["status"]'
id=$("$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <"$tmp/out")
for args in "list" "info $id" "fs exists $id /" "destroy $id"; do
    # shellcheck disable=SC2086
    expect 0 csdk --json $args
    json_check
done
exit 0
