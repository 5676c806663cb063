#!/bin/sh
# The progress line of `run --once` on a terminal (a pty), and none off one
# (env SIEMFWD, SF_SOURCE_DIR).
exec /usr/bin/python3 "$(dirname "$0")/progress_e2e.py"
