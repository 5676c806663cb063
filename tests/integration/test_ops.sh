#!/bin/sh
# Operational integration tests of siemfwd: metrics, reload, shutdown, warnings (env SIEMFWD, SF_SOURCE_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_ops.py"
