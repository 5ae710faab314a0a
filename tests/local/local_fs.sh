#!/bin/sh
# The filesystem methods on a local sandbox: binary-safe round trips of
# any size, what commands see, listing, mkdir, rm, exists, and that no
# path or planted symlink reaches outside the sandbox.
set -eu
. "$top_srcdir/tests/local/local_common.sh"

new_sandbox
sb=$id

# Binary round trip: every byte value, NULs, 3 MiB.
"$PYTHON" -c '
import os, sys
sys.stdout.buffer.write(bytes(range(256)) * 16 + os.urandom(3 * 1024 * 1024))
' >"$tmp/blob"
expect 0 csdk fs write "$sb" data/blob.bin <"$tmp/blob"
expect 0 csdk fs read "$sb" data/blob.bin
cmp -s "$tmp/out" "$tmp/blob" || fail "fs read returned other bytes than fs write got"
expect 0 csdk fs read "$sb" /workspace/data/blob.bin
cmp -s "$tmp/out" "$tmp/blob" || fail "absolute /workspace path read other bytes"
# Commands see the same bytes, and files they write read back.
expect 0 csdk exec "$sb" -- sha256sum data/blob.bin
[ "$(cut -d' ' -f1 "$tmp/out")" = "$(sha256sum <"$tmp/blob" | cut -d' ' -f1)" ] ||
    fail "the sandbox sees other bytes"
expect 0 csdk exec "$sb" -- sh -c 'printf "x\000y" > made.bin'
expect 0 csdk fs read "$sb" made.bin
[ "$(od -An -tx1 "$tmp/out" | tr -d ' \n')" = "780079" ] || fail "made.bin read back wrong"
# Empty files, and replacing a file.
: | expect 0 csdk fs write "$sb" empty
expect 0 csdk fs read "$sb" empty
[ ! -s "$tmp/out" ] || fail "empty file read back non-empty"
printf 'new' | expect 0 csdk fs write "$sb" made.bin
expect 0 csdk fs read "$sb" made.bin
out_is "new"
# An executable stays executable when replaced.
expect 0 csdk exec "$sb" -- sh -c 'printf "#!/bin/sh\necho old\n" > run.sh; chmod 755 run.sh'
printf '#!/bin/sh\necho replaced\n' | expect 0 csdk fs write "$sb" run.sh
expect 0 csdk exec "$sb" -- ./run.sh
out_is "replaced"

# $HOME and /tmp are reachable too.
printf 'home' | expect 0 csdk fs write "$sb" /home/sandbox/.config/x
expect 0 csdk exec "$sb" -- cat /home/sandbox/.config/x
out_is "home"
expect 0 csdk exec "$sb" -- sh -c 'echo tmp > /tmp/t'
expect 0 csdk fs read "$sb" /tmp/t
out_is "tmp"

# ls, mkdir, exists, rm.
expect 0 csdk fs mkdir "$sb" a/b/c
expect 0 csdk fs mkdir "$sb" a/b/c
expect 0 csdk exec "$sb" -- test -d a/b/c
expect 0 csdk --json fs ls "$sb" data
json_check 'd == [e for e in d if e["name"] == "blob.bin" and e["type"] == "file" and e["size"] == '"$(wc -c <"$tmp/blob")"' and e["mtime_ms"] > 0] and len(d) == 1'
expect 0 csdk --json fs ls "$sb" /workspace
json_check 'sorted(e["name"] for e in d) == sorted(["data", "empty", "made.bin", "run.sh", "a"]) and [e["type"] for e in d if e["name"] == "a"] == ["dir"]'
expect 0 csdk fs ls "$sb" .
out_has "data"
out_has "made.bin"
expect 0 csdk fs exists "$sb" a/b
expect 1 csdk fs exists "$sb" a/nope
expect 0 csdk fs rm "$sb" a
expect 1 csdk fs exists "$sb" a/b/c
expect 0 csdk fs rm "$sb" a
expect 66 csdk fs read "$sb" no/such/file
err_one_line
err_has "no/such/file"
expect 65 csdk fs read "$sb" data
err_has "is a directory"
printf 'x' | expect 73 csdk fs write "$sb" data
expect 65 csdk fs ls "$sb" made.bin

# Nothing outside the sandbox's own directories can be reached.
expect 65 csdk fs read "$sb" ../../../../etc/passwd
err_has "'..'"
expect 65 csdk fs read "$sb" /etc/passwd
err_has "outside /workspace"
# A symlink planted inside the workspace, pointing at the host's
# /etc/passwd, cannot be read, written through, or listed through.
expect 0 csdk exec "$sb" -- ln -s /etc/passwd planted
expect 0 csdk exec "$sb" -- ln -s / rootlink
expect 0 csdk exec "$sb" -- ln -s ../../../../../../../../etc escape
expect 77 csdk fs read "$sb" planted
out_lacks "root:"
err_has "symlink"
expect 77 csdk fs read "$sb" rootlink/etc/passwd
out_lacks "root:"
expect 77 csdk fs read "$sb" escape/passwd
out_lacks "root:"
expect 77 csdk fs ls "$sb" rootlink
printf 'pwned' | expect 77 csdk fs write "$sb" rootlink/tmp/csdk-pwned
[ ! -e /tmp/csdk-pwned ] || fail "a write went through a planted symlink"
# Writing over the symlink itself replaces the link, not its target.
printf 'mine' | expect 0 csdk fs write "$sb" planted
expect 0 csdk exec "$sb" -- cat planted
out_is "mine"
head -1 /etc/passwd | grep -q '^root:' || fail "the host's /etc/passwd changed"
# rm removes a link, never what it points at.
expect 0 csdk exec "$sb" -- ln -s /usr/bin bins
expect 0 csdk fs rm "$sb" bins
[ -x /usr/bin/env ] || fail "rm followed a symlink"
# A symlink that stays inside works.
expect 0 csdk exec "$sb" -- ln -s data/blob.bin inside
expect 0 csdk fs read "$sb" inside
cmp -s "$tmp/out" "$tmp/blob" || fail "an inside symlink did not read through"
# A FIFO does not hang a read.
expect 0 csdk exec "$sb" -- mkfifo pipe
expect 65 csdk fs read "$sb" pipe
err_has "not a regular file"

expect 0 csdk destroy "$sb"
exit 0
