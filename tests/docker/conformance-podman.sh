#!/bin/sh
# The conformance suite against the docker provider on a private
# Podman (its Docker-compatible API service), started and stopped by this test.
ENGINE=podman
. "$top_srcdir/tests/docker/conformance_common.sh"
