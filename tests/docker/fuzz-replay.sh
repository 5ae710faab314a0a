#!/bin/sh
# Replay the committed corpora through every docker fuzz target
# (fuzz_docker.c): the demultiplexer over corpus/demux, each JSON reply
# reader over corpus/reply.
set -eu
b=$top_builddir/tests/docker
c=$top_srcdir/tests/docker/corpus
"$b/fuzz_demux_replay" "$c"/demux/*
for t in record message exec pull port; do
    "$b/fuzz_${t}_replay" "$c"/reply/*
done
echo "replayed $(ls "$c"/demux "$c"/reply | wc -l) inputs"
