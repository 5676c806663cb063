#!/bin/sh
# Servers quoting secrets back (issue 10 B3/B4): nothing they echo reaches logs,
# siemfwd.db, `state`, `check --online`, `notify-test` or quarantine, in any form.
# Env: SIEMFWD, SF_SOURCE_DIR (set by ctest).
exec /usr/bin/python3 "$(dirname "$0")/secret_echo.py"
