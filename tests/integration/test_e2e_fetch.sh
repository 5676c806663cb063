#!/bin/sh
# End-to-end tests of siemfwd run against the Defender emulator (env SIEMFWD, SF_SOURCE_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_e2e_fetch.py"
