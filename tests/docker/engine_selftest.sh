#!/bin/sh
# The engine harness (engine.sh) against Docker Engine and Podman: each is
# started in a run directory of its own, gets the test images, runs
# python and node from the machine's /usr in csdk-test/hostusr and busybox
# in csdk-test/busybox through the Docker API, shows only `lo` in
# containers with NetworkMode "none", and is stopped; then nothing may be
# left of it: no process naming its run directory (engine, containerd,
# shims, conmon), no container process, no mount, no run directory, and
# no bridge or veth interface on this machine.
#
# CSDK_ENGINES="docker" (or "podman") limits the engines tested.
# shellcheck disable=SC2016 # $PATH is expanded in the containers

. "${top_srcdir:?run through make check}/tests/docker/engine.sh"

engines=${CSDK_ENGINES:-docker podman}
# shellcheck disable=SC2086
engine_skip_unless_available $engines

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
# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1: expected [$2], got [$3]"
    fi
}

# Interfaces of this machine (or of a container: /proc/net/dev works in
# gVisor too, where /sys/class/net does not).
ifaces() {
    awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "${1:-/proc/net/dev}" | sort
}
host_before=$(ifaces)

for e in $engines; do
    if ! engine_start "$e"; then
        not_ok "$e: engine_start"
        continue
    fi
    ok "$e: started (API $ENGINE_API) in $ENGINE_START_MS ms"
    rd=$ENGINE_RUNDIR
    if ! engine_images; then
        not_ok "$e: engine_images"
        engine_stop "$rd"
        continue
    fi
    ok "$e: images built and imported in $ENGINE_IMAGES_MS ms"

    pids=
    if hu=$(engine_run csdk-test/hostusr '["/usr/bin/sleep","600"]' \
        '"Binds":["/usr:/usr:ro"]'); then
        ok "$e: hostusr container with /usr bound read-only"
        pids="$pids $(engine_container_pid "$hu")"
        out=$(engine_exec "$hu" '["/usr/bin/python3","-c","print(6 * 7)"]')
        check "$e: /usr/bin/python3 in hostusr (exit $?)" 42 "$out"
        out=$(engine_exec "$hu" '["/usr/bin/node","-e","console.log(6 * 7)"]')
        check "$e: /usr/bin/node in hostusr (exit $?)" 42 "$out"
        out=$(engine_exec "$hu" '["sh","-c","echo \"$PATH\"; id -un; cat /proc/net/dev"]')
        st=$?
        check "$e: PATH in hostusr" /usr/local/bin:/usr/bin:/bin "$(echo "$out" | sed -n 1p)"
        check "$e: root is named in hostusr's etc/passwd" root "$(echo "$out" | sed -n 2p)"
        check "$e: hostusr with NetworkMode none has only lo (exit $st)" lo \
            "$(echo "$out" | sed 1,2d | ifaces /dev/stdin | tr '\n' ' ' | sed 's/ $//')"
        errf=$(mktemp "${TMPDIR:-/tmp}/csdk-engine-selftest.XXXXXX")
        out=$(engine_exec "$hu" '["sh","-c","echo out; echo err >&2; exit 3"]' 2>"$errf")
        check "$e: exec exit code, stdout, stderr" "3 out err" "$? $out $(cat "$errf")"
        rm -f "$errf"
        out=$(engine_exec "$hu" '["/usr/bin/touch","/usr/csdk-engine-selftest"]' 2>/dev/null)
        st=$?
        if [ $st -ne 0 ] && [ ! -e /usr/csdk-engine-selftest ]; then
            ok "$e: /usr is read-only in hostusr"
        else
            not_ok "$e: a container wrote to /usr (exit $st)"
            rm -f /usr/csdk-engine-selftest
        fi
    else
        not_ok "$e: hostusr container"
    fi

    if bb=$(engine_run csdk-test/busybox '["sleep","600"]'); then
        ok "$e: busybox container"
        pids="$pids $(engine_container_pid "$bb")"
        out=$(engine_exec "$bb" '["sh","-c","echo \"$PATH\"; cat /proc/net/dev"]')
        st=$?
        check "$e: PATH in busybox" /bin "$(echo "$out" | sed -n 1p)"
        check "$e: busybox with NetworkMode none has only lo (exit $st)" lo \
            "$(echo "$out" | sed 1d | ifaces /dev/stdin | tr '\n' ' ' | sed 's/ $//')"
        mode=$(engine_api GET "/containers/$bb/json" | tr ',' '\n' |
            sed -n 's/.*"NetworkMode": *"\([^"]*\)".*/\1/p' | sed -n 1p)
        check "$e: the engine reports NetworkMode none" none "$mode"
    else
        not_ok "$e: busybox container"
    fi

    engine_stop "$rd"
    ok "$e: stopped in $ENGINE_STOP_MS ms"
    left=$(engine_pids_in "$rd")
    if [ -z "$left" ]; then
        ok "$e: no process names $rd"
    else
        not_ok "$e: left running: $(for p in $left; do
            tr '\000' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160
            echo
        done)"
    fi
    alive=
    for p in $pids; do
        [ -n "$p" ] && [ "$p" != 0 ] && [ -d "/proc/$p" ] &&
            alive="$alive $p($(cat "/proc/$p/comm" 2>/dev/null))"
    done
    if [ -z "$alive" ]; then
        ok "$e: the containers' processes are gone"
    else
        not_ok "$e: container processes still running:$alive"
    fi
    mounts=$(engine_mounts_in "$rd")
    if [ -z "$mounts" ]; then
        ok "$e: nothing mounted under $rd"
    else
        not_ok "$e: still mounted: $mounts"
    fi
    if [ ! -e "$rd" ]; then
        ok "$e: $rd removed"
    else
        not_ok "$e: $rd still exists"
    fi
done

# No engine may make a network: no new bridge or veth on this machine.
new=
for i in $(ifaces); do
    case " $(echo "$host_before" | tr '\n' ' ') " in
    *" $i "*) ;;
    *) new="$new $i" ;;
    esac
done
bad=$(echo "$new" | tr ' ' '\n' | grep -E '^(docker|podman|cni-|br-|veth|virbr)' || true)
if [ -z "$bad" ]; then
    ok "no bridge or veth interface appeared on this machine"
else
    not_ok "interfaces appeared on this machine: $bad"
fi

echo "1..$n"
exit $failed
