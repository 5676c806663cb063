#!/bin/sh
# Prometheus rules and Grafana dashboard of packaging/monitoring/ against a live siemfwd (env SIEMFWD, SF_SOURCE_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_monitoring.py"
