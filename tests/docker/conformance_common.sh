# Sourced by conformance-docker.sh, conformance-podman.sh and gvisor.sh:
# runs the provider conformance suite (tests/conformance) against the
# docker provider on a private engine that this script starts and stops.
#
#   ENGINE=docker|podman|docker-runsc  the engine to start
#   ONLY=PATTERN                       run only these cases (--only)
#   EXTRA_INI=TEXT                     more keys for [provider.docker]
#
# Skips (77) only when the engine cannot run here (not root, programs
# missing); in CI nothing may skip.
: "${top_builddir:?run through make check (top_builddir is not set)}"
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
: "${ENGINE:?set ENGINE}"

. "$top_srcdir/tests/docker/engine.sh"

suite=$top_builddir/tests/conformance/conformance
plugin_dir=$top_builddir/plugins/docker/.libs
[ -x "$suite" ] || { echo "FAIL: $suite is not built" >&2; exit 1; }
[ -f "$plugin_dir/docker.so" ] ||
    { echo "FAIL: the docker provider is not built ($plugin_dir/docker.so)" >&2; exit 1; }

engine_skip_unless_available "$ENGINE"
trap engine_stop EXIT
trap 'exit 130' INT TERM
engine_start "$ENGINE" || exit 1
engine_images || exit 1

cfg=$ENGINE_RUNDIR/csdk.ini
cat >"$cfg" <<INI
[host]
plugin_dir = $plugin_dir
default_provider = docker

[provider.docker]
plugin = docker
host = $ENGINE_HOST
image = csdk-test/hostusr
pull_policy = never
binds = /usr:/usr:ro
; These machines must never get a bridge network: sandboxes that ask for
; network share the host's (url then serves on 127.0.0.1).
network = host
${EXTRA_INI:-}
INI

if [ -n "${ONLY:-}" ]; then
    "$suite" --config "$cfg" --provider docker --only "$ONLY"
else
    "$suite" --config "$cfg" --provider docker
fi
