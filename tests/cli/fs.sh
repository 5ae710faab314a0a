#!/bin/sh
# csdk fs: binary-safe read and write, exists, and the methods the example
# plugin leaves out (ls, mkdir) answered as NOT_SUPPORTED.
set -eu
. "$top_srcdir/tests/cli/common.sh"

expect 0 csdk create
id=$(cat "$tmp/out")

# A file holding every byte value, NULs included, twice.
i=0
while [ $i -lt 256 ]; do
    printf "\\$(printf '%03o' $i)"
    i=$((i + 1))
done >"$tmp/bytes"
cat "$tmp/bytes" "$tmp/bytes" >"$tmp/blob"
printf '\000\000tail without newline' >>"$tmp/blob"
[ "$(wc -c <"$tmp/blob")" -eq 534 ] || fail "test file is not 534 bytes"

expect 0 csdk fs write "$id" /data/blob.bin <"$tmp/blob"
out_is ""
# A separate process reads it back byte for byte.
csdk fs read "$id" /data/blob.bin >"$tmp/back" || fail "fs read exited $?"
cmp "$tmp/blob" "$tmp/back" || fail "fs read returned different bytes"

# Relative paths, an empty file, and --json reading.
expect 0 csdk fs write "$id" empty.txt </dev/null
csdk fs read "$id" empty.txt >"$tmp/back" || fail "fs read of an empty file"
[ ! -s "$tmp/back" ] || fail "an empty file read back non-empty"
printf 'plain text\n' | csdk fs write "$id" notes.txt
expect 0 csdk --json fs read "$id" notes.txt
json_check 'd["content"] == "plain text\n" and d["encoding"] == "utf-8"'
expect 0 csdk fs read --json "$id" /data/blob.bin
"$PYTHON" -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert d["encoding"] == "base64", d["encoding"]
assert base64.b64decode(d["content"]) == open(sys.argv[2], "rb").read()
' "$tmp/out" "$tmp/blob" || fail "--json fs read of binary data"

# exists: 0 if it does, 1 if not, silent unless --json.
expect 0 csdk fs exists "$id" /data/blob.bin
out_is ""
err_empty
expect 0 csdk fs exists "$id" /data
expect 1 csdk fs exists "$id" /data/nothing-here
out_is ""
err_empty
expect 1 csdk --json fs exists "$id" /nope
json_check 'd["exists"] is False'

# rm, then it is gone; removing again is fine.
expect 0 csdk fs rm "$id" /data/blob.bin
expect 1 csdk fs exists "$id" /data/blob.bin
expect 0 csdk fs rm "$id" /data/blob.bin
expect 66 csdk fs read "$id" /data/blob.bin
err_one_line
err_has "csdk: fs read: "

# The example plugin leaves readdir and mkdir out on purpose.
expect 69 csdk fs ls "$id" /
err_one_line
err_has "Filesystem operations are not supported by example's sandbox environment."
expect 69 csdk fs mkdir "$id" /data/dir
err_has "Filesystem operations are not supported by example's sandbox environment."

# Files of a sandbox that does not exist.
expect 66 csdk fs exists example:no-such-sandbox /x

expect 0 csdk destroy "$id"
exit 0
