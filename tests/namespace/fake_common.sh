# Sourced by the namespace tests: start and stop the local fake of
# Namespace's compute API (tests/namespace/fake_namespace.py, described in
# tests/namespace/API.md).
#
#   . "$top_srcdir/tests/namespace/fake_common.sh"
#   trap fake_stop EXIT
#   fake_start [--ready-after-ms N]...     # extra arguments go to the fake
#   ... talk to "$NS_FAKE_URL" with "Authorization: Bearer $NS_FAKE_TOKEN"
#   fake_stop
#
# fake_start exports NS_FAKE_URL (http://127.0.0.1:PORT), NS_FAKE_TOKEN,
# NS_FAKE_PID, NS_FAKE_STATE (a temporary directory holding the fake's
# state, stdout and log) and NS_FAKE_LOG (the fake's stderr: one line per
# request).  It exits 77 (skip) when python3 is missing and 1 when the fake
# does not start.  fake_stop is idempotent and safe in an EXIT trap.
# Plain POSIX sh.

NS_FAKE_PYTHON=${NS_FAKE_PYTHON:-/usr/bin/python3}
if [ -z "${NS_FAKE_SCRIPT:-}" ]; then
    if [ -n "${top_srcdir:-}" ]; then
        NS_FAKE_SCRIPT=$top_srcdir/tests/namespace/fake_namespace.py
    else
        NS_FAKE_SCRIPT=$(dirname "$0")/fake_namespace.py
    fi
fi

fake_start() {
    fake_stop
    if [ ! -x "$NS_FAKE_PYTHON" ]; then
        echo "SKIP: $NS_FAKE_PYTHON is not installed (the Namespace fake" \
            "needs Python 3)" >&2
        exit 77
    fi
    if [ ! -r "$NS_FAKE_SCRIPT" ]; then
        echo "FAIL: no fake at $NS_FAKE_SCRIPT (set top_srcdir)" >&2
        exit 1
    fi
    NS_FAKE_STATE=$(mktemp -d "${TMPDIR:-/tmp}/ns-fake.XXXXXX") || exit 1
    NS_FAKE_LOG=$NS_FAKE_STATE/log
    NS_FAKE_TOKEN=nsfake-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
    # The token goes through the environment, not the command line.
    NS_FAKE_TOKEN=$NS_FAKE_TOKEN "$NS_FAKE_PYTHON" "$NS_FAKE_SCRIPT" \
        --port 0 --state "$NS_FAKE_STATE/state" "$@" \
        >"$NS_FAKE_STATE/stdout" 2>"$NS_FAKE_LOG" </dev/null &
    NS_FAKE_PID=$!
    export NS_FAKE_TOKEN NS_FAKE_PID NS_FAKE_STATE NS_FAKE_LOG
    _ns_fake_port=
    _ns_fake_i=0
    while [ "$_ns_fake_i" -lt 200 ]; do
        _ns_fake_port=$(sed -n '1s/^PORT \([0-9][0-9]*\)$/\1/p' \
            "$NS_FAKE_STATE/stdout" 2>/dev/null)
        [ -n "$_ns_fake_port" ] && break
        if ! kill -0 "$NS_FAKE_PID" 2>/dev/null; then
            break
        fi
        sleep 0.05
        _ns_fake_i=$((_ns_fake_i + 1))
    done
    if [ -z "$_ns_fake_port" ]; then
        echo "FAIL: the Namespace fake did not start; its log:" >&2
        sed 's/^/  /' "$NS_FAKE_LOG" >&2
        fake_stop
        exit 1
    fi
    NS_FAKE_URL=http://127.0.0.1:$_ns_fake_port
    export NS_FAKE_URL
}

fake_stop() {
    if [ -n "${NS_FAKE_PID:-}" ]; then
        kill "$NS_FAKE_PID" 2>/dev/null || :
        _ns_fake_i=0
        while kill -0 "$NS_FAKE_PID" 2>/dev/null; do
            if [ "$_ns_fake_i" -ge 100 ]; then
                kill -9 "$NS_FAKE_PID" 2>/dev/null || :
                break
            fi
            sleep 0.05
            _ns_fake_i=$((_ns_fake_i + 1))
        done
        wait "$NS_FAKE_PID" 2>/dev/null || :
    fi
    if [ -n "${NS_FAKE_STATE:-}" ] && [ -d "$NS_FAKE_STATE" ]; then
        rm -rf "$NS_FAKE_STATE"
    fi
    NS_FAKE_PID=
    NS_FAKE_STATE=
    NS_FAKE_URL=
    return 0
}
