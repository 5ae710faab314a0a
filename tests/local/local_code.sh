#!/bin/sh
# run-code in a local sandbox: python and node, detection, syntax errors
# (65, with the interpreter's message and nothing run), run-time errors
# (the code's exit status), and csdk run.
set -eu
. "$top_srcdir/tests/local/local_common.sh"

new_sandbox
sb=$id

printf 'import sys\nprint("py", sys.version_info[0])\n' >"$tmp/a.py"
expect 0 csdk run-code -l python "$sb" "$tmp/a.py"
out_is "py 3"
printf 'console.log("js", 1 + 1)\n' >"$tmp/a.js"
expect 0 csdk run-code -l node "$sb" "$tmp/a.js"
out_is "js 2"

# No language and no runtime: detected from the code.
printf 'const f = (x) => x * 2;\nconsole.log(f(21));\n' |
    expect 0 csdk run-code "$sb"
out_is "42"
printf 'print(6 * 7)\n' | expect 0 csdk run-code "$sb"
out_is "42"
# ES module syntax runs too.
printf 'import { sep } from "path";\nconsole.log(sep);\n' |
    expect 0 csdk run-code -l node "$sb"
out_is "/"

# A sandbox's runtime is the default language.
new_sandbox --runtime node
jsb=$id
expect 0 csdk --json info "$jsb"
json_check 'd["runtime"] == "node"'
printf 'console.log(typeof process)\n' | expect 0 csdk run-code "$jsb"
out_is "object"

# Code that does not parse: 65, the interpreter's message on stderr, and
# not one line run (the print before the error does not happen).
printf 'print("before")\nprint("unclosed"\n' | expect 65 csdk run-code -l python "$sb"
out_is ""
err_has "SyntaxError"
printf 'print("before")\nif True:\nprint("x")\n' | expect 65 csdk run-code -l python "$sb"
err_has "IndentationError"
printf 'print("a"\n' | expect 65 csdk --json run-code -l python "$sb"
json_check '"SyntaxError" in d["stderr"] and d["stdout"] == ""'
printf 'console.log("before");\nconsole.log("x";\n' |
    expect 65 csdk run-code -l node "$sb"
out_is ""
err_has "SyntaxError"

# A run-time error is the code's own exit status, with its output so far.
printf 'print("before")\nraise ValueError("bad")\n' | expect 1 csdk run-code -l python "$sb"
out_is "before"
err_has "ValueError: bad"
printf 'console.log("before");\nthrow new Error("bad");\n' |
    expect 1 csdk run-code -l node "$sb"
out_is "before"
err_has "Error: bad"
printf 'import sys\nsys.exit(7)\n' | expect 7 csdk run-code -l python "$sb"

# Code runs in /workspace and imports modules from there (python and
# node), and its own file does not stay behind in /tmp.
expect 0 csdk exec "$sb" -- sh -c 'echo "VALUE = 5" > helper.py'
printf 'import os, helper\nprint(os.getcwd(), helper.VALUE)\n' |
    expect 0 csdk run-code -l python "$sb"
out_is "/workspace 5"
expect 0 csdk exec "$sb" -- sh -c 'mkdir -p node_modules/m && echo "module.exports = 9" > node_modules/m/index.js'
printf 'console.log(require("m"))\n' | expect 0 csdk run-code -l node "$sb"
out_is "9"
expect 0 csdk exec "$sb" -- sh -c 'ls -A /tmp | grep -c csdk-code || :'
out_is "0"

# Timeouts apply to code as to commands.
printf 'import time\ntime.sleep(60)\n' |
    expect 124 csdk run-code -l python --timeout 500 "$sb"

# An unknown language is refused (65).
printf 'x\n' | expect 65 csdk run-code -l cobol "$sb"
err_has "cobol"

# csdk run: create, run, destroy.
printf 'print("once")\n' | expect 0 csdk run -l python
out_is "once"
[ "$(ls "$root/sandboxes" | wc -l)" -eq 2 ] || fail "csdk run left a sandbox"

expect 0 csdk destroy "$sb" "$jsb"
exit 0
