#!/bin/sh
# Replay the tar fuzz corpus through the target (see fuzz_tar.c).
set -eu
exec "$top_builddir/tests/sdk/fuzz_tar_replay" "$top_srcdir"/tests/sdk/corpus/tar/*
