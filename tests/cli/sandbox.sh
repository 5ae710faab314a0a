#!/bin/sh
# Sandbox lifecycle through separate csdk processes: create, info, exec,
# list, named sandboxes, destroy.
set -eu
. "$top_srcdir/tests/cli/common.sh"

# create prints the id alone, so id=$(csdk create) works.
expect 0 csdk create
id=$(cat "$tmp/out")
case $id in
example:?*) ;;
*) fail "create printed '$id', expected example:<id>" ;;
esac
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "create printed more than the id"

# A later process finds it (the example plugin keeps state in state_file).
expect 0 csdk info "$id"
out_has "$id"
out_has "example"
expect 0 csdk --json info "$id"
json_check 'd["id"] == "'"$id"'" and d["provider"] == "example"'

expect 0 csdk list
out_has "$id"
expect 0 csdk list -p example
out_has "$id"
expect 0 csdk --json list
json_check 'any(s["id"] == "'"$id"'" for s in d["sandboxes"])'

# exec streams the command's output and passes its exit status through.
expect 0 csdk exec "$id" -- echo hello world
out_is "hello world"
err_empty
expect 1 csdk exec "$id" -- false
expect 7 csdk exec "$id" -- exit 7
expect 127 csdk exec "$id" -- no-such-command
[ -s "$tmp/err" ] || fail "an unknown command printed nothing on stderr"
# Options after ID, and without "--" the command starts at its first word.
expect 0 csdk exec "$id" --env GREETING=hi -- env
out_has "GREETING=hi"
expect 0 csdk exec "$id" echo -n x
# stdin is forwarded only with -i.
printf 'from stdin\n' >"$tmp/in"
expect 0 csdk exec -i "$id" -- cat <"$tmp/in"
out_is "from stdin"
expect 0 csdk exec "$id" -- cat <"$tmp/in"
out_is ""

# --json buffers the result.
expect 0 csdk --json exec "$id" -- echo hi
json_check 'd["exit_code"] == 0 and d["stdout"] == "hi\n" and d["timed_out"] is False'
expect 3 csdk exec --json "$id" -- exit 3
json_check 'd["exit_code"] == 3'

# A command killed at its --timeout exits 124 with one line on stderr.
start=$(date +%s)
expect 124 csdk exec --timeout 100 "$id" -- sleep 5
err_one_line
err_has "timed out"
[ $(($(date +%s) - start)) -lt 4 ] || fail "--timeout 100 did not stop sleep 5"

# Named sandboxes: find is not supported by the example plugin;
# find-or-create is, and returns the same sandbox twice.
expect 69 csdk find ns1 box
err_one_line
err_has "Provider 'example' does not support find."
expect 0 csdk find-or-create ns1 box
named=$(cat "$tmp/out")
expect 0 csdk find-or-create ns1 box
out_is "$named"
expect 0 csdk --json find-or-create ns1 box
json_check 'd["id"] == "'"$named"'" and d["created"] is False'

# Unknown sandboxes are NOT_FOUND (66) with one line naming the id.
expect 66 csdk info example:no-such-sandbox
err_one_line
err_has "csdk: info: "
expect 66 csdk exec example:no-such-sandbox -- true

# destroy is idempotent.
expect 0 csdk destroy "$id"
err_empty
expect 0 csdk destroy "$id"
expect 66 csdk info "$id"
expect 0 csdk destroy "$named"

# gc counts what is left alive (here: nothing).
expect 0 csdk gc
out_is "0 live sandboxes left"
expect 0 csdk --json gc
json_check 'd["live"] == 0'
exit 0
