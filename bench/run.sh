#!/bin/sh
# bench/run.sh - csdk's per-call cost against ComputeSDK's, side by side.
#
# Builds bench/dispatch (`make bench`), runs it, runs the ComputeSDK peer
# (bench/peers/runcommand.mjs) in the same invocation with the same call
# count, and prints a table: calls/s of each, their ratio, and csdk's
# dispatch overhead over a direct plugin call.  Figures only: this script
# never fails because something is slow.
#
# Usage: bench/run.sh [-n CALLS] [-r ROUNDS] [--no-build] [--no-peer]
#   -n CALLS   calls per round and side (default 1000000)
#   -r ROUNDS  rounds; the median round is reported (default 5)
#   --no-build do not run `make bench` first
#   --no-peer  skip the ComputeSDK side
# Environment: CSDK_BUILDDIR  the build tree (default: this checkout)
#              NODE, NPM      the node and npm to use
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${CSDK_BUILDDIR:-$(cd "$here/.." && pwd)}
peers=$here/peers
node=${NODE:-node}
npm=${NPM:-npm}
calls=1000000
rounds=5
build=1
peer=1

usage() {
    echo "usage: $0 [-n CALLS] [-r ROUNDS] [--no-build] [--no-peer]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    -n) [ $# -ge 2 ] || usage; calls=$2; shift 2 ;;
    -r) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-peer) peer=0; shift ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
done

if [ "$build" = 1 ]; then
    if [ ! -f "$top/Makefile" ]; then
        echo "run.sh: $top is not configured; run" >&2
        echo "  autoreconf -fi && ./configure && make" >&2
        echo "there first (or set CSDK_BUILDDIR to a build tree)" >&2
        exit 1
    fi
    echo "== building (make -C $top bench)"
    make -s -C "$top" bench
fi
dispatch=$top/bench/dispatch
plugin=$top/plugins/example/.libs/example.so
[ -x "$dispatch" ] || { echo "run.sh: no $dispatch; run 'make bench'" >&2; exit 1; }
[ -f "$plugin" ] || { echo "run.sh: no $plugin; run 'make'" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo
echo "== csdk: bench/dispatch -n $calls -r $rounds"
"$dispatch" -n "$calls" -r "$rounds" -p "$plugin" | tee "$tmp/csdk.out"

# key=value from a "bench:"/"peer:" line.
field() { # FILE PREFIX KEY
    sed -n "s/^$2.* $3=\\([^ ]*\\).*/\\1/p" "$1" | head -n 1
}
grep '^bench: method=run_command ' "$tmp/csdk.out" > "$tmp/run"
run_host_ns=$(field "$tmp/run" bench: host_ns)
run_direct_ns=$(field "$tmp/run" bench: direct_ns)
overhead_ns=$(field "$tmp/run" bench: overhead_ns)
rl_ns=$(field "$tmp/run" bench: ratelimit_ns)
grep '^bench: method=get ' "$tmp/csdk.out" > "$tmp/get"
get_host_ns=$(field "$tmp/get" bench: host_ns)
get_direct_ns=$(field "$tmp/get" bench: direct_ns)

# ---------------------------------------------------------------- the peer
peer_ns=
peer_direct_ns=
peer_what=
skip_reason=
if [ "$peer" = 0 ]; then
    skip_reason="skipped (--no-peer)"
elif ! command -v "$node" >/dev/null 2>&1; then
    skip_reason="skipped: no node on PATH (apt-get install nodejs npm)"
else
    if [ ! -d "$peers/node_modules/@computesdk/provider" ] ||
       [ ! -d "$peers/node_modules/computesdk" ]; then
        echo
        echo "== installing the peer's pinned packages (npm ci in bench/peers)"
        if ! command -v "$npm" >/dev/null 2>&1; then
            skip_reason="skipped: no npm on PATH to install @computesdk/provider"
        elif ! (cd "$peers" && "$npm" ci --no-audit --no-fund --loglevel=error); then
            skip_reason="skipped: 'npm ci' failed in bench/peers (is the npm registry reachable?)"
        fi
    fi
    if [ -z "$skip_reason" ]; then
        echo
        echo "== ComputeSDK: node bench/peers/runcommand.mjs -n $calls -r $rounds"
        if (cd "$peers" && "$node" runcommand.mjs -n "$calls" -r "$rounds") > "$tmp/peer.out"; then
            cat "$tmp/peer.out"
            grep '^peer:' "$tmp/peer.out" > "$tmp/peer" || true
            peer_ns=$(field "$tmp/peer" peer: ns)
            peer_direct_ns=$(field "$tmp/peer" peer: direct_ns)
            peer_what="$(field "$tmp/peer" peer: package), node $(field "$tmp/peer" peer: node)"
        else
            skip_reason="skipped: runcommand.mjs failed (see above)"
        fi
    fi
fi

# ---------------------------------------------------------------- the table
echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs; median of $rounds rounds x $calls calls)"
awk -v h="$run_host_ns" -v d="$run_direct_ns" -v o="$overhead_ns" \
    -v rl="$rl_ns" -v gh="$get_host_ns" -v gd="$get_direct_ns" \
    -v p="$peer_ns" -v pd="$peer_direct_ns" -v pw="$peer_what" \
    -v skip="$skip_reason" '
function row(name, ns) {
    printf "  %-44s %10.1f %14s\n", name, ns, commas(1e9 / ns)
}
function commas(x,   s, r) {
    s = sprintf("%.0f", x); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    return s r
}
BEGIN {
    printf "  %-44s %10s %14s\n", "", "ns/call", "calls/s"
    row("csdk  csdk_run_command (full dispatch)", h)
    row("csdk  run_command, plugin called directly", d)
    row("csdk  csdk_run_command, rate_limit 1e9/s", rl)
    row("csdk  csdk_get (retry policy on)", gh)
    row("csdk  get, plugin called directly", gd)
    if (p != "") {
        row("ComputeSDK  sandbox.runCommand(\"true\")", p)
        row("ComputeSDK  provider runCommand, no wrapper", pd)
    }
    print ""
    if (p != "") {
        ratio = p / h
        printf "  csdk vs ComputeSDK, calls/s:     %6.2fx   (target >= 3x: %s)\n",
            ratio, (ratio >= 3 ? "met" : "NOT met")
    } else {
        printf "  csdk vs ComputeSDK:              %s\n", skip
    }
    printf "  dispatch overhead vs direct:     %6.1f ns (target <= 100 ns: %s)\n",
        o, (o <= 100 ? "met" : "NOT met")
    printf "  get overhead vs direct:          %6.1f ns\n", gh - gd
    printf "  token bucket (rate_limit set):   %+6.1f ns\n", rl - h
    if (p != "")
        printf "  ComputeSDK wrapper vs direct:    %6.1f ns   (%s)\n", p - pd, pw
}'
