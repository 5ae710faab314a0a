#!/bin/sh
# A sandbox created with oci_runtime = runsc runs under gVisor: the docker
# provider passes HostConfig.Runtime through, and what runs inside sees
# gVisor's kernel, not the host's.  Then the part of the conformance suite
# that gVisor supports runs on it: commands, timeouts and their tree kill,
# files through the archive API.  (gVisor keeps its own view of the
# filesystem: what the archive API writes is not seen by processes inside,
# so standard input, run_code and files shared between the two do not work
# under runsc; docs/docker-provider.md.)
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
    --provider docker --only 'sandbox.create,sandbox.get,sandbox.list,cmd.shell_echo,cmd.argv_echo,cmd.exit_code,cmd.pipe,cmd.env,cmd.timeout,cmd.timeout_kills_tree,stream.first_chunk,fs.write_read,fs.binary_1mib,fs.read_missing'
