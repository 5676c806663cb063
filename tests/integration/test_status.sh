#!/bin/sh
# The status page (GET /, /status.json) in headless Chromium and `siemfwd state --json` (env SIEMFWD, SF_SOURCE_DIR, SF_BUILD_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_status.py"
