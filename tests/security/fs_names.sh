#!/bin/bash
# Attack: shell metacharacters, quotes, newlines and option-like names in
# the paths given to the filesystem API, in command arguments and in
# create options.  A provider that ever passed such a string through a
# shell, a format string or a line-based state file would run a payload
# or inject a setting.  Each must be a literal name:
#   1. fs write/read/ls/exists/mkdir/rm with names like 'a;touch
#      /tmp/pwned', '$(touch x)', '`touch x`', 'a b', quotes, newline,
#      '-rf', '*', '%s%n': each is one literal file in the workspace
#      (as `ls` inside shows it), and nothing is executed;
#   2. rm of '*' removes the file named '*' and nothing else;
#   3. the same strings as exec arguments, --cwd and --env values reach
#      the command verbatim;
#   4. newlines in --meta and --env values do not add keys to the
#      sandbox's state file (network=1, memory_mb=...).
# After all of it no payload marker exists anywhere: not on the host,
# not in the sandbox.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

new_sandbox a
sd=$(state_dir "$a")
t=P$$x$RANDOM            # payload marker suffix: a payload creates pwnedN-$t
nl=$'\n'

names=(
    "a;touch /tmp/pwned1-$t"
    "\$(touch pwned2-$t)"
    "\`touch pwned3-$t\`"
    "a b"
    "'\""
    "new${nl}line"
    "-rf"
    "a|touch pwned4-$t"
    "a&&touch pwned5-$t"
    "a>pwned6-$t"
    "\$HOME"
    "~"
    "%s%n%x"
    "back\\slash"
    " lead and trail "
    "tab${nl:0:0}$(printf '\t')x"
    "ünïcødé"
    "${nl}"
)

# The JSON listing of the workspace, as a Python list of names.
ws_names() {
    csdk --json fs ls "$a" /workspace 2>/dev/null | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
ents = d if isinstance(d, list) else d.get("entries", d.get("files", []))
for e in ents:
    print(json.dumps(e["name"] if isinstance(e, dict) else e))'
}

# What `ls` inside the sandbox sees, one JSON string per name.
inside_names() {
    csdk exec "$a" -- /usr/bin/python3 -c '
import json, os
for n in sorted(os.listdir("/workspace")):
    print(json.dumps(n))' 2>/dev/null
}

# ------------------------------------------------------------------
# 1. Literal names through write / read / ls / exists / mkdir / rm
# ------------------------------------------------------------------
i=0
for name in "${names[@]}"; do
    i=$((i + 1))
    shown=$(printf '%q' "$name")
    want="LITERAL-$i"
    if ! printf '%s' "$want" | csdk fs write "$a" -- "$name" \
        >"$tmp/out" 2>"$tmp/err"; then
        # A name the API refuses is also safe; say so and go on.
        ok "fs write $shown: refused ($(head -n 1 "$tmp/err" | cut -c1-100))"
        continue
    fi
    run csdk fs read "$a" -- "$name"
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = "$want" ]; then
        ok "fs write/read $shown round-trips"
    else
        bad "fs read $shown (exit $rc)"
    fi
    run csdk fs exists "$a" -- "$name"
    [ "$rc" = 0 ] || bad "fs exists $shown: exit $rc"
    # The first component of the name is what lies in /workspace.
    first=${name%%/*}
    jfirst=$("$PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$first")
    if inside_names | grep -xF -- "$jfirst" >/dev/null; then
        ok "ls inside the sandbox shows $(printf '%q' "$first") literally"
    else
        bad "ls inside the sandbox does not show $(printf '%q' "$first")"
    fi
    if ws_names | grep -xF -- "$jfirst" >/dev/null; then :; else
        bad "fs ls /workspace does not show $(printf '%q' "$first")"
    fi
    run csdk fs mkdir "$a" -- "$name.d/sub"
    if [ "$rc" = 0 ] && [ -d "$sd/ws/$name.d/sub" ]; then :; else
        bad "fs mkdir $shown.d/sub (exit $rc)"
    fi
    run csdk fs rm "$a" -- "$name.d"
    if [ "$rc" = 0 ] && [ ! -e "$sd/ws/$name.d" ]; then :; else
        bad "fs rm $shown.d (exit $rc)"
    fi
    if [ "$(cat "$sd/ws/$name" 2>/dev/null)" = "$want" ]; then :; else
        bad "$shown is not the literal file $sd/ws/$shown"
    fi
done

# ------------------------------------------------------------------
# 2. rm '*' removes only the file named '*'
# ------------------------------------------------------------------
echo keep | csdk fs write "$a" keep-me >/dev/null 2>&1
echo star | csdk fs write "$a" '*' >/dev/null 2>&1
echo q | csdk fs write "$a" '?' >/dev/null 2>&1
run csdk fs rm "$a" '*'
if [ "$rc" = 0 ] && [ ! -e "$sd/ws/*" ] && [ -f "$sd/ws/keep-me" ] &&
    [ -f "$sd/ws/?" ] && [ -f "$sd/ws/-rf" ]; then
    ok "fs rm '*' removed the file named '*' and nothing else"
else
    bad "fs rm '*' (exit $rc) removed more or less than the file named '*'"
fi
run csdk fs rm "$a" -- -rf
if [ "$rc" = 0 ] && [ ! -e "$sd/ws/-rf" ] && [ -f "$sd/ws/keep-me" ]; then
    ok "fs rm -- -rf removed the file named '-rf' and nothing else"
else
    bad "fs rm -- -rf (exit $rc)"
fi
healthy "metacharacters in file names"

# ------------------------------------------------------------------
# 3. Exec arguments, --cwd and --env values are verbatim
# ------------------------------------------------------------------
i=0
for name in "${names[@]}"; do
    i=$((i + 1))
    [ "$name" = "$nl" ] && continue
    run csdk exec --env "V=$name" "$a" -- /usr/bin/python3 -c '
import os, sys
sys.stdout.write(repr((sys.argv[1], os.environ["V"])))' "$name"
    want=$("$PYTHON" -c 'import sys; sys.stdout.write(repr((sys.argv[1], sys.argv[1])))' "$name")
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = "$want" ]; then :; else
        bad "exec argument / --env $(printf '%q' "$name") not verbatim: $(cat "$tmp/out")"
    fi
done
ok "every name reached a command verbatim as an argument and an --env value"
dir="d;touch pwned7-$t \$(touch pwned8-$t)"
csdk fs mkdir "$a" -- "$dir" >/dev/null 2>&1
run csdk exec --cwd "/workspace/$dir" "$a" -- pwd
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = "/workspace/$dir" ]; then
    ok "--cwd with metacharacters is a literal directory"
else
    bad "--cwd $(printf '%q' "$dir") (exit $rc)"
fi
run csdk exec --shell "echo '\$(touch pwned9-$t)'" "$a"
if [ "$(cat "$tmp/out")" = "\$(touch pwned9-$t)" ]; then
    ok "--shell runs exactly the string given (quoted payload stays quoted)"
else
    bad "--shell quoting: $(cat "$tmp/out")"
fi

# ------------------------------------------------------------------
# 4. Newlines in create options do not inject state-file keys
# ------------------------------------------------------------------
new_sandbox m --meta "k=v${nl}network=1${nl}pids=100000" \
    --env "E=x${nl}network=1${nl}file_size_mb=100000"
mf=$(state_dir "$m")/meta
if [ "$(grep -c '^network=' "$mf")" = 1 ] && grep -qx 'network=0' "$mf" &&
    [ "$(grep -c '^pids=' "$mf")" = 1 ] && grep -qx 'pids=64' "$mf" &&
    [ "$(grep -c '^file_size_mb=' "$mf")" = 1 ]; then
    ok "newlines in --meta/--env values add no keys to the state file"
else
    bad "a --meta/--env value INJECTED keys into $mf: $(grep -E '^(network|pids|file_size_mb)=' "$mf" | tr '\n' ' ')"
fi
run csdk exec "$m" -- sh -c 'ls /sys/class/net 2>/dev/null || ip -o link; printenv E'
if [ "$(grep -c ': ' "$tmp/out")" -le 1 ] && ! grep -q eth "$tmp/out" &&
    grep -q "^network=1$" "$tmp/out"; then
    ok "the sandbox still has no network; the --env value is verbatim"
else
    bad "the injected options took effect: $(tr '\n' '|' <"$tmp/out")"
fi
csdk -q destroy "$m" >/dev/null 2>&1

# ------------------------------------------------------------------
# Nothing ran: no payload marker anywhere
# ------------------------------------------------------------------
# Literal files are expected inside the workspace: only a file named
# exactly pwnedN-$t outside the literal path 'a;touch /tmp/pwned1-...'
# is a payload that ran.
found=$(find "$tmp" /tmp "$HOME" "$PWD" -xdev -maxdepth 6 \
    -name "pwned*-$t" 2>/dev/null | grep -vF "$sd/ws/a;touch /tmp/pwned1-$t")
run csdk exec "$a" -- sh -c "find / -xdev -name 'pwned*-$t' 2>/dev/null; find /tmp /home/sandbox /workspace -name 'pwned*-$t' 2>/dev/null"
inside=$(grep -vxF "/workspace/a;touch /tmp/pwned1-$t" "$tmp/out")
if [ -z "$found" ] && [ -z "$inside" ]; then
    ok "no payload ran: no pwned marker on the host or in the sandbox"
else
    bad "A PAYLOAD RAN: host: $found; sandbox: $inside"
fi
healthy "metacharacters in arguments and options"
finish
