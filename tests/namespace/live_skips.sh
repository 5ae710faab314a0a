#!/bin/sh
# The live test (live.sh, run by `make check-namespace-live`) must skip,
# exit 77 with a reason, when no NSC_TOKEN is set, and never touch the
# network then.  make check runs this; the live run itself needs a token.
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
out=$(env -u NSC_TOKEN -u NSC_TOKEN_FILE sh "$top_srcdir/tests/namespace/live.sh" 2>&1)
rc=$?
if [ "$rc" != 77 ]; then
    echo "FAIL: live.sh without NSC_TOKEN exited $rc, expected 77 (skip): $out"
    exit 1
fi
case $out in
*NSC_TOKEN*) echo "ok: live.sh skips without NSC_TOKEN: $out" ;;
*) echo "FAIL: live.sh skipped without naming NSC_TOKEN: $out"; exit 1 ;;
esac
