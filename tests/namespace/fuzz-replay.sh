#!/bin/sh
# Replay the namespace reply-parser fuzz corpus through the target
# (tests/namespace/fuzz_namespace.c).
set -eu
exec "$top_builddir/tests/namespace/fuzz_namespace_replay" \
    "$top_srcdir"/tests/namespace/corpus/*
