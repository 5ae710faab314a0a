#!/bin/bash
# The whole test suite, as CI runs it, from a clean checkout on a fresh
# Debian 12 machine (root): install the build and test dependencies, build
# with warnings as errors and run `make check`, build again with ASan+UBSan
# and run `make check`, run each fuzzer briefly (clang), and run
# `make distcheck`.  The docker provider's tests start their own engines
# (dockerd, Podman, runsc: tests/docker/engine.sh) and stop them.  Ends with one line "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0
log() { printf '\n=== %s\n' "$*"; }

# Count a `make check` run from its test-suite.log summary.
count_suite() {
    local f=$1 p n e
    if [ ! -f "$f" ]; then failed=$((failed + 1)); return; fi
    p=$(sed -n 's/^# PASS: *//p' "$f" | head -n1)
    n=$(sed -n 's/^# FAIL: *//p' "$f" | head -n1)
    e=$(sed -n 's/^# ERROR: *//p' "$f" | head -n1)
    s=$(sed -n 's/^# SKIP: *//p' "$f" | head -n1)
    passed=$((passed + ${p:-0}))
    # Nothing may skip here: a skip counts as a failure.
    failed=$((failed + ${n:-0} + ${e:-0} + ${s:-0}))
}

# One step that is not a `make check`: counts as one test.
step() {
    local name=$1; shift
    log "$name"
    if "$@"; then passed=$((passed + 1)); else
        echo "FAILED: $name"; failed=$((failed + 1)); fi
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing dependencies"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $(cat .ci/packages) >/dev/null ||
        { echo "apt-get failed"; echo "0 passed, 1 failed"; exit 1; }
fi

log "autoreconf"
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; echo "0 passed, 1 failed"; exit 1; }

build_and_check() {
    local dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
    "$top/configure" -q "$@" && make -j"$jobs" >make.log 2>&1 ||
        { tail -n 50 make.log; cd "$top"; return 1; }
    make -j"$jobs" check >check.log 2>&1
    grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS):' check.log
    for f in $(grep -lE '^(FAIL|ERROR)' $(find . -name '*.trs') 2>/dev/null); do
        echo "--- ${f%.trs}.log"; tail -n 40 "${f%.trs}.log"; done
    cd "$top"
}

log "build (--enable-werror) and make check"
if build_and_check "$top/_build/werror" --enable-werror; then
    count_suite "$top/_build/werror/test-suite.log"
else failed=$((failed + 1)); fi

log "build (--enable-asan --enable-werror) and make check under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
if build_and_check "$top/_build/asan" --enable-asan --enable-werror; then
    count_suite "$top/_build/asan/test-suite.log"
else failed=$((failed + 1)); fi

if command -v clang >/dev/null; then
    step "libFuzzer on the config loader (20 s)" \
        make -s -C "$top/_build/werror" fuzz FUZZ_SECONDS=20
    step "libFuzzer on the local agent's wire protocol (20 s)" \
        make -s -C "$top/_build/werror" fuzz-proto FUZZ_SECONDS=20
    step "libFuzzer on the SDK's tar reader (20 s)" \
        make -s -C "$top/_build/werror" fuzz-tar FUZZ_SECONDS=20
    step "libFuzzer on the docker provider's stream and reply readers (6 x 10 s)" \
        make -s -C "$top/_build/werror" fuzz-docker FUZZ_SECONDS=10
    step "libFuzzer on the namespace provider's reply parsers (20 s)" \
        make -s -C "$top/_build/werror" fuzz-namespace FUZZ_SECONDS=20
fi

step "make distcheck" make -s -C "$top/_build/werror" distcheck \
    DISTCHECK_CONFIGURE_FLAGS=--enable-werror

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
