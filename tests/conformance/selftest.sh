#!/bin/sh
# Check the conformance suite itself, against the example provider (an
# in-memory toy whose fake shell fails many cases: which ones pass is not
# checked here).  What is checked:
#  - the TAP plan matches the test points, numbered 1..N in order;
#  - a case is skipped exactly when the provider lacks a method the case
#    needs (needs from `conformance --list`, methods from `csdk providers`),
#    and the skip names the missing methods;
#  - the exit status is 1 when some case failed and 0 when none did;
#  - an unknown provider is a setup error (exit 2, "Bail out!").

: "${top_builddir:?run through make check}"
: "${CSDK_TEST_PLUGIN_DIR:?run through make check}"
: "${CSDK_BIN:?run through make check}"

suite=$top_builddir/tests/conformance/conformance
tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-conf-self.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/csdk.ini" <<INI
[host]
plugin_dir = $CSDK_TEST_PLUGIN_DIR
default_provider = example

[provider.example]
plugin = example
INI

fail() {
    echo "FAIL: $*" >&2
    [ -s "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" >&2
    exit 1
}

# check_tap FILE: the plan is 1..N and the test points are 1..N in order.
check_tap() {
    awk '
        NR == 1 { if ($0 !~ /^1\.\.[0-9]+$/) { print "first line is not a plan: " $0; bad = 1; exit }
                  plan = substr($0, 4) + 0; next }
        /^(ok|not ok) / {
            n = ($1 == "ok") ? $2 : $3
            if (n != ++seen) { print "test point " n " where " seen " was due"; bad = 1; exit }
        }
        END { if (!bad && seen != plan) { print "plan 1.." plan " but " seen " test points"; bad = 1 }
              exit bad }' "$1"
}

# 1. The whole suite.
"$suite" --config "$tmp/csdk.ini" --provider example >"$tmp/out" 2>"$tmp/err"
rc=$?
msg=$(check_tap "$tmp/out") || fail "TAP: $msg"
if grep -q '^not ok ' "$tmp/out"; then
    [ "$rc" = 1 ] || fail "a case failed but the suite exited $rc, not 1"
else
    [ "$rc" = 0 ] || fail "no case failed but the suite exited $rc"
fi

# 2. Skips follow the capability bits and nothing else.
caps=$("$CSDK_BIN" --config "$tmp/csdk.ini" providers |
    awk '$1 == "example" { print $NF }')
[ -n "$caps" ] || fail "csdk providers did not list the example provider"
"$suite" --list >"$tmp/list" || fail "conformance --list failed"
[ -s "$tmp/list" ] || fail "conformance --list printed nothing"
tab=$(printf '\t')
while IFS="$tab" read -r name needs what; do
    lacking=
    old_ifs=$IFS
    IFS=,
    for m in $needs; do
        m=${m# }
        case ",$caps," in
        *",$m,"*) ;;
        *) lacking="${lacking:+$lacking, }$m" ;;
        esac
    done
    IFS=$old_ifs
    line=$(awk -v name="$name" '
        $1 == "ok" && $4 == name { print; exit }
        $1 == "not" && ($5 == name ":" || $5 == name) { print; exit }' "$tmp/out")
    [ -n "$line" ] || fail "no test point for case $name"
    if [ -n "$lacking" ]; then
        case $line in
        "ok "*" - $name # SKIP provider lacks $lacking") ;;
        *) fail "$name needs $needs; the provider lacks $lacking, so it must be skipped naming them: $line" ;;
        esac
    else
        case $line in
        *"# SKIP"*) fail "$name needs only $needs, which the provider has, but was skipped: $line" ;;
        esac
    fi
done <"$tmp/list"

# 3. A selection that the example passes exits 0, with cleanup last.
"$suite" --config "$tmp/csdk.ini" --provider example \
    --only sandbox.create,sandbox.get,sandbox.list >"$tmp/out" 2>"$tmp/err"
rc=$?
msg=$(check_tap "$tmp/out") || fail "TAP (--only): $msg"
[ "$(head -n 1 "$tmp/out")" = "1..4" ] ||
    fail "--only sandbox.create,sandbox.get,sandbox.list: plan is not 1..4"
grep -q '^ok 4 - cleanup' "$tmp/out" || fail "cleanup is not the last test point"
[ "$rc" = 0 ] || fail "--only sandbox.create,sandbox.get,sandbox.list exited $rc"

# 4. An unknown provider is a setup error.
"$suite" --config "$tmp/csdk.ini" --provider no-such >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] || fail "an unknown provider: exit $rc, expected 2"
grep -q '^Bail out! .*no-such' "$tmp/out" || fail "an unknown provider: no Bail out! line"

exit 0
