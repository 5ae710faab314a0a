#!/bin/sh
# Run the conformance suite against the local (bubblewrap) provider.
#
# Writes a configuration for the provider built in this tree, with its
# state in a temporary directory, and runs tests/conformance/conformance
# with it.  Exits 77 (skip) and says why when this machine cannot run
# bubblewrap sandboxes or the local provider has not been built.
#
# CSDK_CONFORMANCE_ONLY=PATTERN passes --only PATTERN to the suite.

: "${top_builddir:?run through make check (top_builddir is not set)}"

skip() {
    echo "SKIP: $*"
    exit 77
}

plugin_dir=$top_builddir/plugins/local/.libs
agent=$top_builddir/plugins/local/agent/csdk-local-agent
suite=$top_builddir/tests/conformance/conformance

command -v bwrap >/dev/null 2>&1 ||
    skip "bwrap is not installed (apt-get install bubblewrap)"
if ! err=$(bwrap --unshare-all --ro-bind / / true 2>&1); then
    skip "bwrap cannot create namespaces here: $err" \
        "(unprivileged user namespaces disabled? see" \
        "kernel.unprivileged_userns_clone / apparmor_restrict_unprivileged_userns)"
fi
[ -f "$plugin_dir/local.so" ] ||
    skip "the local provider is not built ($plugin_dir/local.so missing; run make)"
[ -x "$agent" ] ||
    skip "the local provider's agent is not built ($agent missing; run make)"
[ -x "$suite" ] || {
    echo "FAIL: $suite is not built (make check builds it)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-conformance.XXXXXX") || exit 1
cfg=$tmp/csdk.ini
cat >"$cfg" <<INI
[host]
plugin_dir = $plugin_dir
default_provider = local

[provider.local]
plugin = local
root = $tmp/root
agent = $agent
INI

# Whatever the suite leaves behind (it destroys every sandbox it made, but
# a run that bails out cannot), destroy through the CLI before removing the
# state directory.
cleanup() {
    if [ -n "${CSDK_BIN:-}" ] && [ -x "$CSDK_BIN" ]; then
        ids=$("$CSDK_BIN" --config "$cfg" -q list 2>/dev/null |
            awk 'NR > 1 && $1 ~ /^local:/ { print $1 }')
        if [ -n "$ids" ]; then
            echo "# destroying sandboxes left behind: $ids"
            # shellcheck disable=SC2086
            "$CSDK_BIN" --config "$cfg" -q destroy $ids >/dev/null 2>&1
        fi
    fi
    rm -rf "$tmp" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${CSDK_CONFORMANCE_ONLY:-}" ]; then
    "$suite" --config "$cfg" --provider local --only "$CSDK_CONFORMANCE_ONLY"
else
    "$suite" --config "$cfg" --provider local
fi
