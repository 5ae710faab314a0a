#!/bin/sh
# A sandbox created with oci_runtime = runsc runs under gVisor: the docker
# provider passes HostConfig.Runtime through, and what runs inside sees
# gVisor's kernel, not the host's.  Then a part of the conformance suite
# (commands, code, files, timeouts) runs on it.
: "${top_builddir:?run through make check (top_builddir is not set)}"
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
. "$top_srcdir/tests/docker/engine.sh"

fail() { echo "FAIL: $*"; exit 1; }
engine_skip_unless_available docker-runsc
trap engine_stop EXIT
trap 'exit 130' INT TERM
engine_start docker-runsc || exit 1
engine_images || exit 1

cfg=$ENGINE_RUNDIR/csdk.ini
cat >"$cfg" <<INI
[host]
plugin_dir = $top_builddir/plugins/docker/.libs
default_provider = docker

[provider.docker]
plugin = docker
host = $ENGINE_HOST
image = csdk-test/hostusr
pull_policy = never
binds = /usr:/usr:ro
oci_runtime = runsc
INI
csdk() { "$CSDK_BIN" --config "$cfg" "$@"; }

id=$(csdk create) || fail "create with oci_runtime = runsc failed"
info=$(csdk info "$id") || fail "info $id failed"
echo "$info" | grep -q 'oci_runtime.*runsc' ||
    fail "info does not report oci_runtime runsc: $info"
kernel=$(csdk exec "$id" -- dmesg) || fail "dmesg in $id failed"
echo "$kernel" | grep -q gVisor ||
    fail "dmesg in the sandbox does not come from gVisor: $kernel"
inside=$(csdk exec "$id" -- cat /proc/version) || fail "cat /proc/version"
[ "$inside" != "$(cat /proc/version)" ] ||
    fail "the sandbox sees the host's kernel: $inside"
echo "# inside: $inside"
csdk destroy "$id" || fail "destroy $id"

"$top_builddir/tests/conformance/conformance" --config "$cfg" \
    --provider docker --only 'sandbox.create,sandbox.get,cmd.shell_echo,cmd.argv_echo,cmd.exit_code,cmd.stdin,cmd.timeout,cmd.timeout_kills_tree,code.python.ok,code.python.syntax_error,code.node.ok,fs.write_read,fs.binary_1mib,fs.readdir'
