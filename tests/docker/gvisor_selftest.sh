#!/bin/sh
# The engine harness with gVisor: engine_start docker-runsc registers
# runsc as the runtime "runsc" (with --network=none); a container created
# with HostConfig.Runtime "runsc" and NetworkMode "none" must run under
# gVisor's kernel, not this machine's: its dmesg is gVisor's, its
# /proc/version is not this machine's, and it has only `lo`.  python and
# node from the machine's /usr (bound read-only into csdk-test/hostusr)
# run there too.  After engine_stop nothing of it is left: no runsc
# sandbox or gofer, no shim, no mount.
#
# Skips (77) when runsc is not installed (apt-get install runsc), or the
# engine cannot run here at all (not root, docker missing).

. "${top_srcdir:?run through make check}/tests/docker/engine.sh"

engine_skip_unless_available docker-runsc

trap 'engine_stop' EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $*"
}
check() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1: expected [$2], got [$3]"
    fi
}
finish() {
    echo "1..$n"
    exit $failed
}

engine_start docker-runsc || {
    not_ok "engine_start docker-runsc"
    finish
}
ok "docker-runsc started in $ENGINE_START_MS ms"
check "engine_run will ask for the runsc runtime" runsc "$ENGINE_RUNTIME"
rd=$ENGINE_RUNDIR
engine_images || {
    not_ok "engine_images"
    finish
}
ok "images built and imported in $ENGINE_IMAGES_MS ms"

# engine_run adds "Runtime":"runsc" and "NetworkMode":"none".
if bb=$(engine_run csdk-test/busybox '["sleep","600"]'); then
    ok "busybox container under runsc"
    inspect=$(engine_api GET "/containers/$bb/json" | tr ',' '\n')
    check "the engine reports Runtime runsc" runsc \
        "$(echo "$inspect" | sed -n 's/.*"Runtime": *"\([^"]*\)".*/\1/p' | sed -n 1p)"
    check "the engine reports NetworkMode none" none \
        "$(echo "$inspect" | sed -n 's/.*"NetworkMode": *"\([^"]*\)".*/\1/p' | sed -n 1p)"
    out=$(engine_exec "$bb" '["dmesg"]')
    st=$?
    if [ $st -eq 0 ] && echo "$out" | grep -q 'Starting gVisor'; then
        ok "dmesg in the container is gVisor's ($(echo "$out" | sed -n 1p))"
    else
        not_ok "dmesg in the container is not gVisor's (exit $st): $(echo "$out" | head -3)"
    fi
    inside=$(engine_exec "$bb" '["cat","/proc/version"]')
    host=$(cat /proc/version)
    if [ -n "$inside" ] && [ "$inside" != "$host" ]; then
        ok "/proc/version differs from this machine's ($inside)"
    else
        not_ok "/proc/version in the container is this machine's: [$inside]"
    fi
    out=$(engine_exec "$bb" '["cat","/proc/net/dev"]' |
        awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | tr '\n' ' ' | sed 's/ $//')
    check "only lo in the container" lo "$out"
else
    not_ok "busybox container under runsc"
fi

if hu=$(engine_run csdk-test/hostusr '["/usr/bin/sleep","600"]' \
    '"Binds":["/usr:/usr:ro"]'); then
    ok "hostusr container under runsc with /usr bound read-only"
    out=$(engine_exec "$hu" '["/usr/bin/python3","-c","print(6 * 7)"]')
    check "/usr/bin/python3 under runsc (exit $?)" 42 "$out"
    out=$(engine_exec "$hu" '["/usr/bin/node","-e","console.log(6 * 7)"]')
    check "/usr/bin/node under runsc (exit $?)" 42 "$out"
    engine_exec "$hu" '["/usr/bin/touch","/usr/csdk-gvisor-selftest"]' >/dev/null 2>&1
    st=$?
    if [ $st -ne 0 ] && [ ! -e /usr/csdk-gvisor-selftest ]; then
        ok "/usr is read-only under runsc"
    else
        not_ok "a container under runsc wrote to /usr (exit $st)"
        rm -f /usr/csdk-gvisor-selftest
    fi
else
    not_ok "hostusr container under runsc"
fi

engine_stop "$rd"
ok "stopped in $ENGINE_STOP_MS ms"
left=$(engine_pids_in "$rd")
if [ -z "$left" ]; then
    ok "no process names $rd (runsc sandbox, gofer, shim, containerd, dockerd)"
else
    not_ok "left running: $(for p in $left; do
        tr '\000' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160
        echo
    done)"
fi
mounts=$(engine_mounts_in "$rd")
if [ -z "$mounts" ]; then
    ok "nothing mounted under $rd"
else
    not_ok "still mounted: $mounts"
fi
if [ ! -e "$rd" ]; then
    ok "$rd removed"
else
    not_ok "$rd still exists"
fi
finish
