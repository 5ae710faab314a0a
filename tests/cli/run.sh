#!/bin/sh
# csdk run (create, run, destroy in one go) and csdk run-code: live
# output, exit codes, syntax errors, timeouts, and that run always
# destroys its sandbox.
set -eu
. "$top_srcdir/tests/cli/common.sh"

# The sandboxes left behind: none, whatever happened.
no_sandboxes_left() {
    csdk list >"$tmp/list" 2>&1 || fail "list failed: $(cat "$tmp/list")"
    [ "$(grep -c '^example:' "$tmp/list")" -eq 0 ] ||
        fail "run left a sandbox behind: $(cat "$tmp/list")"
}

expect 0 csdk run -- echo hi
out_is "hi"
err_empty
no_sandboxes_left
expect 1 csdk run -- false
expect 42 csdk run -- exit 42
expect 127 csdk run -- no-such-command
no_sandboxes_left

# Code from standard input or a file.
printf 'print("from python")\n' | expect 0 csdk run -l python
out_is "from python"
printf 'console.log("from node")\n' >"$tmp/code.js"
expect 0 csdk run -l node "$tmp/code.js"
out_is "from node"
printf 'print("ok")\n' | expect 0 csdk run -l python -
out_is "ok"
# A run-time error is the code's exit status.
printf 'print("before")\nraise ValueError("bad")\n' | expect 1 csdk run -l python
out_is "before"
err_has "ValueError"

# Code that does not parse exits 65, after the interpreter's message.
printf 'print("a")\nprint("unclosed"\n' | expect 65 csdk run -l python
out_is ""
err_has "SyntaxError"
no_sandboxes_left
printf 'print("a"\n' | expect 65 csdk --json run -l python
json_check '"SyntaxError" in d["stderr"] and d["syntax_error"]'

# A command killed at its --timeout exits 124; the sandbox still goes.
expect 124 csdk run --timeout 100 -- sleep 5
err_one_line
err_has "timed out"
no_sandboxes_left

# --json buffers the result and names the sandbox.
expect 0 csdk --json run -- echo hi
json_check 'd["stdout"] == "hi\n" and d["exit_code"] == 0 and d["id"].startswith("example:")'

# SIGTERM during run: cancelled (130), and the sandbox is destroyed.
# (not through the csdk function: $! must be csdk itself)
"$CSDK_BIN" --config "$tmp/csdk.ini" run -- sleep 1 >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -TERM $pid
if wait $pid; then st=0; else st=$?; fi
[ $st -eq 130 ] || fail "run killed by SIGTERM exited $st, expected 130"
err_has "interrupted"
no_sandboxes_left

# run-code in an existing sandbox.
expect 0 csdk create --runtime python
id=$(cat "$tmp/out")
printf 'print("hello")\n' | expect 0 csdk run-code "$id"
out_is "hello"
printf 'console.log("one")\n' >"$tmp/c.js"
expect 0 csdk run-code -l node "$id" "$tmp/c.js"
out_is "one"
printf 'print(("x")\n' | expect 65 csdk run-code "$id" -
err_has "SyntaxError"
expect 66 csdk run-code "$id" "$tmp/no-such-file.py"
err_has "no-such-file.py"
printf 'x\n' | expect 65 csdk run-code -l cobol "$id"
err_has "cobol"
expect 0 csdk destroy "$id"
no_sandboxes_left
exit 0
