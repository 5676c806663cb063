#!/bin/sh
# Cluster mode on one machine: librdkafka's mock cluster, the Defender emulator
# with 300 tenants, siemfwd members killed, stopped, continued, terminated and
# added (cluster_e2e.py). Env SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR (set by ctest).
# Exit 77 (ctest: skipped) while the siemfwd build has no cluster mode.
exec /usr/bin/python3 "$(dirname "$0")/cluster_e2e.py" "$@"
