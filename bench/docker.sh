#!/bin/sh
# bench/docker.sh - the docker provider against the same Engine API calls
# made with curl, and against the docker CLI.
#
# Starts a private Docker Engine (tests/docker/engine.sh: --bridge=none,
# its state in a temporary run directory), imports the test images, builds
# bench/docker (`make bench`), runs it, and prints a table: `echo hi` in a
# live sandbox against the same three requests made with curl and against
# `docker exec`; time to interactive (create + first `echo hi`) against
# `docker run --rm`; 64 MiB write_file/read_file against curl PUT/GET of
# the archive; and the base64-through-exec file method.  Each side is
# measured in the same run, sample by sample.  Stops the engine at the end
# and leaves nothing running.  Figures only: this script never fails
# because something is slow.
#
# Usage: bench/docker.sh [-n EXECS] [-t TTI] [-s MIB] [-r ROUNDS]
#                        [-b KIB,KIB...] [-o TESTS] [-I IMAGE] [-B BINDS]
#                        [-D DOCKER] [--sock SOCK] [--no-build]
#   -n EXECS     exec samples per side (100)
#   -t TTI       create + echo samples per side (30)
#   -s MIB       file size (64)
#   -r ROUNDS    file and base64 rounds, median reported (3)
#   -b KIB,...   base64 sizes in KiB (1,64,96,128,1024)
#   -o TESTS     only these, comma-separated: exec,tti,file,b64
#   -I IMAGE     image (csdk-test/hostusr, run with the host's /usr)
#   -B BINDS     binds for csdk and docker run ("/usr:/usr:ro"; "" none)
#   -D DOCKER    the docker CLI (docker, from PATH)
#   --sock SOCK  use an engine already serving SOCK (with the test images)
#                instead of starting one
#   --no-build   do not run `make bench` first
# Environment: CSDK_BUILDDIR  the build tree (default: this checkout)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${CSDK_BUILDDIR:-$(cd "$here/.." && pwd)}
build=1
sock=
own_engine=0
args=
docker_cli=docker
usage() {
    echo "usage: $0 [-n EXECS] [-t TTI] [-s MIB] [-r ROUNDS] [-b KIB,...]" \
        "[-o TESTS] [-I IMAGE] [-B BINDS] [-D DOCKER] [--sock SOCK]" \
        "[--no-build]" >&2
    exit 2
}
# Arguments for bench/docker, one per line (BINDS may hold spaces or be
# empty).
argfile=$(mktemp "${TMPDIR:-/tmp}/csdk-bench-args.XXXXXX")
while [ $# -gt 0 ]; do
    case $1 in
    -n|-t|-s|-r|-b|-o|-I|-B)
        [ $# -ge 2 ] || usage
        printf '%s\n%s\n' "$1" "$2" >>"$argfile"
        args="$args $1 '$2'"; shift 2 ;;
    -D) [ $# -ge 2 ] || usage; docker_cli=$2; shift 2 ;;
    --sock) [ $# -ge 2 ] || usage; sock=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) rm -f "$argfile"; usage ;;
    esac
done

if [ "$build" = 1 ]; then
    if [ ! -f "$top/Makefile" ]; then
        echo "docker.sh: $top is not configured; run" >&2
        echo "  autoreconf -fi && ./configure && make" >&2
        echo "there first (or set CSDK_BUILDDIR to a build tree)" >&2
        rm -f "$argfile"
        exit 1
    fi
    echo "== building (make -C $top bench)"
    make -s -C "$top" bench
fi
bin=$top/bench/docker
[ -x "$bin" ] || { echo "docker.sh: no $bin; run 'make bench'" >&2; exit 1; }
for p in curl "$docker_cli"; do
    command -v "$p" >/dev/null 2>&1 || {
        echo "docker.sh: no $p (apt-get install curl docker.io)" >&2
        rm -f "$argfile"
        exit 1
    }
done

# shellcheck source-path=SCRIPTDIR source=../tests/docker/engine.sh
. "$here/../tests/docker/engine.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-bench.XXXXXX")
cleanup() {
    rm -rf "$tmp" "$argfile"
    [ "$own_engine" = 0 ] || engine_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$sock" ]; then
    engine_skip_unless_available docker
    echo "== starting a private Docker Engine (tests/docker/engine.sh)"
    own_engine=1
    engine_start docker
    engine_images
    sock=$ENGINE_SOCK
    api=$ENGINE_API
else
    api=$(curl -s --unix-socket "$sock" http://localhost/version |
        _engine_json_get ApiVersion)
fi

# The run, with the exact command printed.
set -- -S "$sock" -a "${api:-1.41}" -D "$docker_cli"
while IFS= read -r a; do
    set -- "$@" "$a"
done <"$argfile"
echo
echo "== csdk: bench/docker -S $sock -a ${api:-1.41} -D $docker_cli$args"
{ "$bin" "$@"; echo $? >"$tmp/rc"; } | tee "$tmp/out"
if [ "$(cat "$tmp/rc")" != 0 ]; then
    echo "docker.sh: bench/docker failed (exit $(cat "$tmp/rc"))" >&2
    exit 1
fi

# ---------------------------------------------------------------- the table
ver() {
    "$@" 2>/dev/null | head -n 1 | tr -d '\n' || true
}
echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -m)," \
    "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
echo "   engine $(curl -s --unix-socket "$sock" http://localhost/version |
    _engine_json_get Version) (API ${api:-?});" \
    "CLI: $(ver "$docker_cli" --version | sed 's/,.*//');" \
    "$(ver curl --version | cut -d' ' -f1-2)"
awk '
/^bench: test=/ {
    for (i = 2; i <= NF; i++) {
        j = index($i, "=")
        k = substr($i, 1, j - 1)
        if (k == "test") t = substr($i, j + 1)
        else if (k == "side") s = substr($i, j + 1)
        else if (k == "kib") z = substr($i, j + 1)
    }
    key = t "/" s
    if (t == "b64") { key = key "/" z; sizes[++nsz] = z }
    for (i = 2; i <= NF; i++) {
        j = index($i, "=")
        k = substr($i, 1, j - 1)
        if (k == "why") {
            # the rest of the line
            v[key "/why"] = substr($0, index($0, "why=") + 4)
            break
        }
        v[key "/" k] = substr($i, j + 1)
    }
    have[t] = 1
}
function ms(t, s, k) { return v[t "/" s "/" k] + 0 }
function lat(name, t, s) {
    printf "  %-52s %8.1f %8.1f ms\n", name, ms(t, s, "median_ms"),
        ms(t, s, "p95_ms")
}
function verdict(ok) { return ok ? "met" : "NOT met" }
function ratio(name, a, b, target, cmp,   r) {
    r = a / b
    if (target == "")
        printf "  %-52s %7.3fx\n", name, r
    else
        printf "  %-52s %7.3fx   (target %s %sx: %s)\n", name, r,
            cmp, target, verdict(cmp == "<=" ? r <= target : r >= target)
}
END {
    if (have["exec"]) {
        printf "  %-52s %8s %8s\n", "exec echo hi, live sandbox (n=" \
            v["exec/csdk/n"] ")", "median", "p95"
        lat("csdk  run_command {\"echo\",\"hi\"}", "exec", "csdk")
        lat("curl, HTTP only (sum of curl time_total)", "exec",
            "curl-http")
        printf "  %-52s %8.1f %8s ms\n",
            "   the same, wall time of its 2 curl processes",
            ms("exec", "curl-http", "wall_median_ms"), ""
        lat("curl, shell running 3 curl processes (wall)", "exec",
            "curl-sh")
        lat("curl, HTTP only, csdk'"'"'s wrapped command", "exec",
            "curl-wrapped")
        lat("docker exec ID echo hi (CLI)", "exec", "docker")
        c = ms("exec", "csdk", "median_ms")
        ratio("csdk / curl HTTP only, median", c,
            ms("exec", "curl-http", "median_ms"), "1.1", "<=")
        ratio("csdk / curl shell loop, median", c,
            ms("exec", "curl-sh", "median_ms"), "1.1", "<=")
        ratio("csdk / curl HTTP only with csdk'"'"'s command, median", c,
            ms("exec", "curl-wrapped", "median_ms"), "", "")
        ratio("csdk / docker exec, median", c,
            ms("exec", "docker", "median_ms"), "0.7", "<=")
        print ""
    }
    if (have["tti"]) {
        printf "  %-52s %8s %8s\n", "time to interactive (n=" \
            v["tti/csdk/n"] ")", "median", "p95"
        lat("csdk  create + echo hi", "tti", "csdk")
        printf "  %-52s %8.1f %8s ms\n", "        of which create",
            ms("tti", "csdk", "create_median_ms"), ""
        printf "  %-52s %8.1f %8s ms\n", "        of which echo hi",
            ms("tti", "csdk", "run_median_ms"), ""
        printf "  %-52s %8.1f %8s ms\n", "csdk  destroy (not in the above)",
            ms("tti", "csdk", "destroy_median_ms"), ""
        printf "  %-52s %8.1f %8.1f ms\n", "csdk  create + echo hi + destroy",
            ms("tti", "csdk", "with_destroy_median_ms"),
            ms("tti", "csdk", "with_destroy_p95_ms")
        lat("docker run --rm ... echo hi (CLI; removes too)", "tti",
            "docker-run")
        ratio("csdk / docker run --rm, median",
            ms("tti", "csdk", "median_ms"),
            ms("tti", "docker-run", "median_ms"), "", "")
        ratio("csdk with destroy / docker run --rm, median",
            ms("tti", "csdk", "with_destroy_median_ms"),
            ms("tti", "docker-run", "median_ms"), "", "")
        print ""
    }
    if (have["file"]) {
        mib = v["file/csdk/bytes"] / 1048576
        printf "  %-52s %8s %8s\n", "files (" mib " MiB, median of " \
            v["file/csdk/rounds"] ")", "write", "read"
        printf "  %-52s %8.0f %8.0f MB/s\n", "csdk  write_file / read_file",
            ms("file", "csdk", "write_mbs"), ms("file", "csdk", "read_mbs")
        printf "  %-52s %8.0f %8.0f MB/s\n",
            "curl PUT / GET archive (curl time_total)",
            ms("file", "curl-archive", "write_mbs"),
            ms("file", "curl-archive", "read_mbs")
        w = ms("file", "csdk", "write_mbs"); r = ms("file", "csdk", "read_mbs")
        printf "  %-52s %7.0f MB/s (target >= 100: %s)\n", "csdk write_file",
            w, verdict(w >= 100)
        printf "  %-52s %7.0f MB/s (target >= 100: %s)\n", "csdk read_file",
            r, verdict(r >= 100)
        printf "  %-52s %7.2fx / %.2fx\n", "csdk / curl, write / read MB/s",
            w / ms("file", "curl-archive", "write_mbs"),
            r / ms("file", "curl-archive", "read_mbs")
        print ""
    }
    if (have["b64"]) {
        printf "  %-52s\n", "base64 through exec (ComputeSDK'"'"'s method)"
        for (i = 1; i <= nsz; i++) {
            z = sizes[i]; k = "b64/csdk/" z
            if (v[k "/ok"] == 1)
                printf "  %-24s arg %8d B  write %7.1f ms %7.2f MB/s," \
                    " read %7.1f ms %7.2f MB/s\n", z " KiB", v[k "/arg_bytes"],
                    v[k "/write_ms"], v[k "/write_mbs"], v[k "/read_ms"],
                    v[k "/read_mbs"]
            else
                printf "  %-24s arg %8d B  FAILS after %.1f ms: %s\n",
                    z " KiB", v[k "/arg_bytes"], v[k "/write_ms"], v[k "/why"]
        }
        if (v["b64-edge/csdk/largest_ok_bytes"] != "")
            printf "  %-24s largest write that works %d bytes; %d fails\n",
                "edge", v["b64-edge/csdk/largest_ok_bytes"],
                v["b64-edge/csdk/smallest_failing_bytes"]
    }
}' "$tmp/out"
