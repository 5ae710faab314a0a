#!/bin/sh
# Run the conformance suite against the namespace provider pointed at the
# local fake of Namespace's compute API (tests/namespace/API.md).
#
# Starts the fake, writes a configuration with base_url = the fake and
# its token, and runs tests/conformance/conformance with it.  Nothing is
# skipped except what the provider does not implement (the suite skips by
# capability only).  Exits 77 only when python3 (for the fake) is
# missing.
#
# CSDK_CONFORMANCE_ONLY=PATTERN passes --only PATTERN to the suite.

: "${top_builddir:?run through make check (top_builddir is not set)}"
: "${top_srcdir:?run through make check (top_srcdir is not set)}"

plugin_dir=$top_builddir/plugins/namespace/.libs
suite=$top_builddir/tests/conformance/conformance

[ -f "$plugin_dir/namespace.so" ] || {
    echo "FAIL: the namespace provider is not built ($plugin_dir/namespace.so" \
        "missing; run make)" >&2
    exit 1
}
[ -x "$suite" ] || {
    echo "FAIL: $suite is not built (make check builds it)" >&2
    exit 1
}

. "$top_srcdir/tests/namespace/fake_common.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-ns-conformance.XXXXXX") || exit 1
cleanup() {
    fake_stop
    rm -rf "$tmp" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fake_start
cfg=$tmp/csdk.ini
# The token goes in through token_env, so it is never in a file.
cat >"$cfg" <<INI
[host]
plugin_dir = $plugin_dir
default_provider = namespace
log_level = warn

[provider.namespace]
plugin = namespace
base_url = $NS_FAKE_URL
token_env = NS_FAKE_TOKEN
INI

if [ -n "${CSDK_CONFORMANCE_ONLY:-}" ]; then
    "$suite" --config "$cfg" --provider namespace \
        --only "$CSDK_CONFORMANCE_ONLY"
else
    "$suite" --config "$cfg" --provider namespace
fi
rc=$?
# Every instance the run made must be gone: the fake's own view.
left=$(/usr/bin/python3 -c '
import json, sys, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "/_fake/instances", timeout=30)
print(sum(1 for i in json.load(r) if i["status"] != "DESTROYED"))' \
    "$NS_FAKE_URL" 2>/dev/null)
if [ -n "$left" ] && [ "$left" != 0 ]; then
    echo "FAIL: $left instance(s) of the run are still alive in the fake" >&2
    [ "$rc" = 0 ] && rc=1
fi
exit $rc
