#!/bin/sh
# Replay the config fuzz corpus through the target (see fuzz_config.c).
set -eu
exec "$top_builddir/tests/fuzz/fuzz_config_replay" "$top_srcdir"/tests/fuzz/corpus/config/*
