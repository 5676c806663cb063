#!/bin/sh
# Cluster membership as an operator meets it: unreachable brokers, a wrong
# partition count, --once refused, check --dump, config drift between two
# instances, siemfwd state naming each cursor's owner (membership_ops.py).
# Env SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR (set by ctest).
exec /usr/bin/python3 "$(dirname "$0")/membership_ops.py" "$@"
