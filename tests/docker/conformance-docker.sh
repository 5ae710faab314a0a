#!/bin/sh
# The conformance suite against the docker provider on a private
# Docker Engine (dockerd), started and stopped by this test.
ENGINE=docker
. "$top_srcdir/tests/docker/conformance_common.sh"
