#!/bin/sh
# bench/coldstart.sh - how long csdk takes to start, against ComputeSDK.
#
# csdk:       `csdk --config FILE providers` with a configuration naming the
#             built example plugin: process start, config parse, dlopen,
#             the plugin's checks and init, one line of output, fini.  The
#             real executable is timed (build-tree .libs/csdk with
#             LD_LIBRARY_PATH=host/.libs), not libtool's wrapper script.
# ComputeSDK: `node -e "require('computesdk')"` with computesdk@2.5.4
#             from bench/peers, and `node -e ""` for Node.js alone.
#
# Median over RUNS runs (default 50) after a warm-up, with hyperfine when it
# is installed (apt-get install hyperfine), else a timing loop.  Figures
# only: this script never fails because something is slow.
#
# Usage: bench/coldstart.sh [-n RUNS] [--no-build] [--no-peer] [-o JSON]
#   -o JSON  keep hyperfine's --export-json output in JSON
# Environment: CSDK_BUILDDIR, NODE, NPM as for bench/run.sh;
#              HYPERFINE=no forces the timing loop.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${CSDK_BUILDDIR:-$(cd "$here/.." && pwd)}
peers=$here/peers
node=${NODE:-node}
npm=${NPM:-npm}
runs=50
build=1
peer=1
keep_json=

usage() {
    echo "usage: $0 [-n RUNS] [--no-build] [--no-peer] [-o JSON]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    -o) [ $# -ge 2 ] || usage; keep_json=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-peer) peer=0; shift ;;
    *) usage ;;
    esac
done
case $runs in ''|*[!0-9]*) usage ;; esac

if [ "$build" = 1 ]; then
    [ -f "$top/Makefile" ] || {
        echo "coldstart.sh: $top is not configured (autoreconf -fi && ./configure)" >&2
        exit 1
    }
    echo "== building (make -C $top bench)"
    make -s -C "$top" bench
fi

# The real csdk executable, not libtool's wrapper script.
csdk=$top/.libs/csdk
if [ ! -x "$csdk" ]; then
    csdk=$top/csdk # linked without a wrapper (static build)
fi
if [ ! -x "$csdk" ] || [ "$(head -c 4 "$csdk" | od -An -c | tr -d ' ')" != '177ELF' ]; then
    echo "coldstart.sh: no csdk executable in $top/.libs; run 'make'" >&2
    exit 1
fi
plugin=$top/plugins/example/.libs/example.so
[ -f "$plugin" ] || { echo "coldstart.sh: no $plugin; run 'make'" >&2; exit 1; }
LD_LIBRARY_PATH=$top/host/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-coldstart.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat > "$tmp/csdk.ini" <<EOF
[host]
default_provider = example
log_level = warn

[provider.example]
plugin = $plugin
EOF
# Fail early, and visibly, if the command does not work at all.
if ! "$csdk" --config "$tmp/csdk.ini" providers > "$tmp/check" 2>&1 ||
   ! grep -q '^example' "$tmp/check"; then
    echo "coldstart.sh: '$csdk --config $tmp/csdk.ini providers' failed:" >&2
    cat "$tmp/check" >&2
    exit 1
fi
csdk_cmd="$csdk --config $tmp/csdk.ini providers"

# ------------------------------------------------------------- the peer
skip_reason=
if [ "$peer" = 0 ]; then
    skip_reason="skipped (--no-peer)"
elif ! command -v "$node" >/dev/null 2>&1; then
    skip_reason="skipped: no node on PATH"
elif [ ! -d "$peers/node_modules/computesdk" ]; then
    echo "== installing the peer's pinned packages (npm ci in bench/peers)"
    if ! command -v "$npm" >/dev/null 2>&1 ||
       ! (cd "$peers" && "$npm" ci --no-audit --no-fund --loglevel=error); then
        skip_reason="skipped: could not install computesdk (npm ci failed or no npm)"
    fi
fi
if [ -z "$skip_reason" ] &&
   ! (cd "$peers" && "$node" -e "require('computesdk')") 2>"$tmp/node.err"; then
    skip_reason="skipped: node -e \"require('computesdk')\" failed: $(head -n 1 "$tmp/node.err")"
fi
node_path=$(command -v "$node" 2>/dev/null || echo "$node")

# ------------------------------------------------------------- measuring
# Prints the median wall time of "$@" in ms over $runs runs (the loop's
# own fork/exec is in it, for every command alike).
loop_median() {
    i=0
    while [ $i -lt 3 ]; do "$@" >/dev/null 2>&1 || true; i=$((i + 1)); done
    i=0
    : > "$tmp/times"
    while [ $i -lt "$runs" ]; do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        echo $((t1 - t0)) >> "$tmp/times"
        i=$((i + 1))
    done
    sort -n "$tmp/times" | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f\n", m / 1e6 }'
}

method=
if [ "${HYPERFINE:-}" != no ] && command -v hyperfine >/dev/null 2>&1; then
    method="hyperfine $(hyperfine --version | awk '{ print $2 }'), --shell=none"
    set -- --command-name "csdk providers" "$csdk_cmd"
    if [ -z "$skip_reason" ]; then
        set -- "$@" --command-name "node require('computesdk')" \
            "$node_path -e \"require('computesdk')\"" \
            --command-name "node alone" "$node_path -e \"\""
    fi
    (cd "$peers" && hyperfine -N --style basic --warmup 5 --runs "$runs" \
        --export-json "$tmp/coldstart.json" "$@")
    # Medians in ms, in command order (hyperfine's JSON is one key a line).
    medians=$(sed -n 's/^ *"median": *\([0-9.eE+-]*\),*$/\1/p' "$tmp/coldstart.json" |
              awk '{ printf "%.3f ", $1 * 1000 }')
    # shellcheck disable=SC2086 # split the numbers into $1 $2 $3
    set -- $medians
    csdk_ms=$1
    cs_ms=${2:-}
    node_ms=${3:-}
    if [ -n "$keep_json" ]; then
        cp "$tmp/coldstart.json" "$keep_json"
    fi
else
    method="shell timing loop (date +%s%N; install hyperfine for better figures)"
    csdk_ms=$(loop_median "$csdk" --config "$tmp/csdk.ini" providers)
    cs_ms=
    node_ms=
    if [ -z "$skip_reason" ]; then
        cs_ms=$(cd "$peers" && loop_median "$node_path" -e "require('computesdk')")
        node_ms=$(cd "$peers" && loop_median "$node_path" -e "")
    fi
fi

cs_version=
if [ -z "$skip_reason" ]; then
    cs_version=$(cd "$peers" && "$node_path" -p \
        "JSON.parse(require('fs').readFileSync('node_modules/computesdk/package.json', 'utf8')).version" \
        2>/dev/null || echo '?')
fi

echo
echo "== cold start ($(date -u +%Y-%m-%dT%H:%MZ), median of $runs runs, $method)"
awk -v c="$csdk_ms" -v s="$cs_ms" -v n="$node_ms" -v v="$cs_version" \
    -v skip="$skip_reason" 'BEGIN {
    printf "  %-52s %9.2f ms  (target <= 5 ms: %s)\n",
        "csdk providers (config + dlopen + init + fini)", c, (c <= 5 ? "met" : "NOT met")
    if (s != "") {
        printf "  %-52s %9.2f ms\n", "node -e \"require(\x27computesdk\x27)\" (computesdk@" v ")", s
        printf "  %-52s %9.2f ms\n", "node -e \"\" (Node.js alone)", n
        printf "  %-52s %9.1fx\n", "ratio ComputeSDK / csdk", s / c
    } else {
        printf "  ComputeSDK: %s\n", skip
    }
    printf "coldstart: csdk_ms=%.3f computesdk_ms=%s node_ms=%s ratio=%s\n",
        c, (s != "" ? s : "-"), (n != "" ? n : "-"),
        (s != "" ? sprintf("%.1f", s / c) : "-")
}'
