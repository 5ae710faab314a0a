#!/bin/sh
# bench/local.sh - the local (bubblewrap) provider against bare bubblewrap.
#
# Builds bench/local (`make bench`), runs it, and prints a table: time to
# interactive (create + first `node -v`, sequential and in a burst), `exec
# true` in a live sandbox, idle memory per sandbox with N alive, and
# write_file/read_file throughput, each beside its peer measured in the
# same run (bare `bwrap ... node -v`, `bwrap ... /bin/true`, bare bwraps
# holding `sleep`, write(2)/read(2) and cp), with the targets.  Figures
# only: this script never fails because something is slow.
#
# Usage: bench/local.sh [-n TTI] [-t THREADS] [-e EXECS] [-m SANDBOXES]
#                       [-s MIB] [-r ROUNDS] [-o TESTS] [--no-build]
#   -n TTI        create + node -v iterations per mode and side (100)
#   -t THREADS    threads of the burst (8)
#   -e EXECS      exec true calls per side (500)
#   -m SANDBOXES  sandboxes alive at once in the memory test (100)
#   -s MIB        file size (64)
#   -r ROUNDS     file rounds, median reported (5)
#   -o TESTS      only these, comma-separated: tti,burst,exec,mem,file
#   --no-build    do not run `make bench` first
# Environment: CSDK_BUILDDIR  the build tree (default: this checkout)
#              TMPDIR         where the sandboxes' state goes (/tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${CSDK_BUILDDIR:-$(cd "$here/.." && pwd)}
build=1
args=
usage() {
    echo "usage: $0 [-n TTI] [-t THREADS] [-e EXECS] [-m SANDBOXES]" \
        "[-s MIB] [-r ROUNDS] [-o TESTS] [--no-build]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    -n|-t|-e|-m|-s|-r|-o)
        [ $# -ge 2 ] || usage
        args="$args $1 $2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) usage ;;
    esac
done

if [ "$build" = 1 ]; then
    if [ ! -f "$top/Makefile" ]; then
        echo "local.sh: $top is not configured; run" >&2
        echo "  autoreconf -fi && ./configure && make" >&2
        echo "there first (or set CSDK_BUILDDIR to a build tree)" >&2
        exit 1
    fi
    echo "== building (make -C $top bench)"
    make -s -C "$top" bench
fi
bin=$top/bench/local
[ -x "$bin" ] || { echo "local.sh: no $bin; run 'make bench'" >&2; exit 1; }
command -v bwrap >/dev/null 2>&1 || {
    echo "local.sh: bwrap is not installed (apt-get install bubblewrap)" >&2
    exit 1
}
if ! err=$(bwrap --unshare-all --ro-bind / / true 2>&1); then
    echo "local.sh: bwrap cannot create namespaces here: $err" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo
echo "== csdk: bench/local$args"
# shellcheck disable=SC2086
"$bin" $args | tee "$tmp/out"

# ---------------------------------------------------------------- the table
echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -m)," \
    "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)," \
    "$(bwrap --version 2>/dev/null), node $(node -v 2>/dev/null || echo '?'))"
awk '
/^bench: test=/ {
    key = ""
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "test") t = kv[2]
        else if (kv[1] == "side") s = kv[2]
    }
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        v[t "/" s "/" kv[1]] = kv[2]
    }
    have[t] = 1
}
function ms(t, s, k) { return v[t "/" s "/" k] + 0 }
function lat(name, t, s) {
    printf "  %-46s %8.2f %8.2f %8.2f ms\n", name, ms(t, s, "median_ms"),
        ms(t, s, "p95_ms"), ms(t, s, "p99_ms")
}
function verdict(ok) { return ok ? "met" : "NOT met" }
function ratio(name, a, b, target, cmp,   r) {
    r = a / b
    printf "  %-46s %7.2fx   (target %s %sx: %s)\n", name, r,
        cmp, target, verdict(cmp == "<=" ? r <= target : r >= target)
}
END {
    if (have["tti-seq"]) {
        printf "  %-46s %8s %8s %8s\n", "time to interactive, sequential (n=" \
            v["tti-seq/csdk/n"] ")", "median", "p95", "p99"
        lat("csdk  create + node -v", "tti-seq", "csdk")
        printf "  %-46s %8.2f %8s %8s ms\n", "        of which create",
            ms("tti-seq", "csdk", "create_median_ms"), "", ""
        printf "  %-46s %8.2f %8s %8s ms\n", "        of which node -v",
            ms("tti-seq", "csdk", "run_median_ms"), "", ""
        lat("bare bwrap ... node -v", "tti-seq", "bwrap")
        lat("node -v, no sandbox", "tti-seq", "node")
        printf "  %-46s %8.2f %8s %8s ms\n",
            "ComputeSDK leaderboard best (a cloud)", 42, "", ""
        ratio("csdk / bare bwrap, median", ms("tti-seq", "csdk", "median_ms"),
            ms("tti-seq", "bwrap", "median_ms"), "1.3", "<=")
        print ""
    }
    if (have["tti-burst"]) {
        printf "  %-46s %8s %8s %8s\n", "time to interactive, burst (n=" \
            v["tti-burst/bwrap/n"] ", " v["tti-burst/bwrap/threads"] \
            " threads)", "median", "p95", "p99"
        lat("csdk  one csdk_t shared by the threads", "tti-burst",
            "csdk-shared")
        lat("csdk  one csdk_t per thread", "tti-burst", "csdk-per-thread")
        lat("bare bwrap ... node -v", "tti-burst", "bwrap")
        printf "  %-46s %8.0f / %.0f / %.0f ms\n",
            "wall time shared / per-thread / bwrap",
            ms("tti-burst", "csdk-shared", "wall_ms"),
            ms("tti-burst", "csdk-per-thread", "wall_ms"),
            ms("tti-burst", "bwrap", "wall_ms")
        ratio("shared / bare bwrap, median",
            ms("tti-burst", "csdk-shared", "median_ms"),
            ms("tti-burst", "bwrap", "median_ms"), "1.3", "<=")
        ratio("per-thread / bare bwrap, median",
            ms("tti-burst", "csdk-per-thread", "median_ms"),
            ms("tti-burst", "bwrap", "median_ms"), "1.3", "<=")
        print ""
    }
    if (have["exec"]) {
        printf "  %-46s %8s %8s %8s\n", "exec true (n=" v["exec/csdk/n"] ")",
            "median", "p95", "p99"
        lat("csdk  run_command {\"true\"}, live sandbox", "exec", "csdk")
        lat("bare bwrap ... /bin/true", "exec", "bwrap")
        ratio("csdk / bare bwrap, median", ms("exec", "csdk", "median_ms"),
            ms("exec", "bwrap", "median_ms"), "0.5", "<=")
        print ""
    }
    if (have["mem"]) {
        n = v["mem/csdk/n"]
        printf "  %-46s %8s %8s %8s %6s\n", "idle memory per sandbox (" n \
            " alive)", "PSS kB", "RSS kB", "USS kB", "procs"
        printf "  %-46s %8.0f %8.0f %8.0f %6.1f\n", "csdk  bwrap monitor + agent",
            ms("mem", "csdk", "pss_kb"), ms("mem", "csdk", "rss_kb"),
            ms("mem", "csdk", "uss_kb"), ms("mem", "csdk", "procs")
        printf "  %-46s %8.0f %8.0f %8.0f %6.1f\n", "bare bwrap + sleep infinity",
            ms("mem", "bwrap", "pss_kb"), ms("mem", "bwrap", "rss_kb"),
            ms("mem", "bwrap", "uss_kb"), ms("mem", "bwrap", "procs")
        printf "  %-46s %8.0f kB\n", "csdk  memory cgroup charge (agent)",
            ms("mem", "csdk", "cgroup_kb")
        printf "  %-46s %8.0f / %.0f kB (noisy: whole machine)\n",
            "MemAvailable drop, csdk / bwrap", ms("mem", "csdk", "sys_kb"),
            ms("mem", "bwrap", "sys_kb")
        p = ms("mem", "csdk", "pss_kb")
        printf "  %-46s %7.2f MiB (target <= 2 MiB: %s; max %.2f MiB)\n",
            "csdk PSS per sandbox", p / 1024, verdict(p <= 2048),
            ms("mem", "csdk", "max_pss_kb") / 1024
        printf "  %-46s %s/%s running, %s/%s answered echo (%.0f ms): %s\n",
            "all alive at once", v["mem/csdk/live"], n, v["mem/csdk/echo_ok"],
            n, ms("mem", "csdk", "echo_ms"),
            verdict(v["mem/csdk/live"] == n && v["mem/csdk/echo_ok"] == n)
        print ""
    }
    if (have["file"]) {
        mib = v["file/csdk/bytes"] / 1048576
        printf "  %-46s %8s %8s\n", "files (" mib " MiB, median of " \
            v["file/csdk/rounds"] ")", "write", "read"
        printf "  %-46s %8.0f %8.0f MB/s\n", "csdk  write_file / read_file",
            ms("file", "csdk", "write_mbs"), ms("file", "csdk", "read_mbs")
        printf "  %-46s %8.0f %8.0f MB/s\n", "write(2) / read(2), same dir",
            ms("file", "syscalls", "write_mbs"),
            ms("file", "syscalls", "read_mbs")
        printf "  %-46s %8.0f %8s MB/s\n", "cp (one copy), same dir",
            ms("file", "cp", "copy_mbs"), ""
        w = ms("file", "csdk", "write_mbs"); r = ms("file", "csdk", "read_mbs")
        printf "  %-46s %7.0f MB/s (target >= 500: %s)\n", "csdk write_file",
            w, verdict(w >= 500)
        printf "  %-46s %7.0f MB/s (target >= 500: %s)\n", "csdk read_file",
            r, verdict(r >= 500)
        printf "  %-46s %7.2fx / %.2fx\n", "csdk / syscalls, write / read",
            w / ms("file", "syscalls", "write_mbs"),
            r / ms("file", "syscalls", "read_mbs")
    }
}' "$tmp/out"
