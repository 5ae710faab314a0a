#!/bin/sh
# Run the conformance suite against Namespace's cloud itself, with the
# namespace provider built in this tree.  Needs NSC_TOKEN (an API token of
# a workspace you may create instances in); without it, exits 77 and says
# so.  NSC_BASE_URL picks another region's API (default
# https://us.compute.namespaceapis.com).  Every instance the run makes is
# destroyed at the end, and each carries a 15-minute deadline besides.
#
#   NSC_TOKEN=... make check-namespace-live
#   CSDK_CONFORMANCE_ONLY=cmd make check-namespace-live

if [ -z "${NSC_TOKEN:-}" ]; then
    echo "SKIP: NSC_TOKEN is not set; set it to a Namespace API token to run" \
        "the conformance suite against Namespace's cloud"
    exit 77
fi
: "${top_builddir:?run through make (top_builddir is not set)}"

plugin_dir=$top_builddir/plugins/namespace/.libs
suite=$top_builddir/tests/conformance/conformance
[ -f "$plugin_dir/namespace.so" ] || {
    echo "FAIL: $plugin_dir/namespace.so is not built (run make)" >&2
    exit 1
}
[ -x "$suite" ] || {
    echo "FAIL: $suite is not built (make check-namespace-live builds it)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-ns-live.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cfg=$tmp/csdk.ini
# The token stays in the environment (token_env), never in a file.
cat >"$cfg" <<INI
[host]
plugin_dir = $plugin_dir
default_provider = namespace
log_level = warn

[provider.namespace]
plugin = namespace
base_url = ${NSC_BASE_URL:-https://us.compute.namespaceapis.com}
token_env = NSC_TOKEN
documented_purpose = csdk conformance suite
destroy_reason = csdk conformance suite cleanup
timeout_ms = 300000
INI

if [ -n "${CSDK_CONFORMANCE_ONLY:-}" ]; then
    exec "$suite" --config "$cfg" --provider namespace \
        --only "$CSDK_CONFORMANCE_ONLY"
fi
exec "$suite" --config "$cfg" --provider namespace
