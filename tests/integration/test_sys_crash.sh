#!/bin/sh
# Crash-safety system test (long-running, ~2 min): SIGKILL siemfwd 30 times while
# alerts keep coming; nothing lost (env SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_sys_crash.py"
