#!/bin/sh
# System test: siemfwd run with syslog(rsyslogd), kafka(mock), hec(emulator) and file
# outputs; HEC outage isolation and catch-up (env SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR).
exec /usr/bin/python3 "$(dirname "$0")/test_sys_outputs.py"
