#!/bin/sh
# Operational events (outputs[].events) end to end: consent revoked/restored and an
# output failing/recovering, to an HTTPS webhook receiver and an smtps sink
# (python3-aiosmtpd), with the Defender emulator (env SIEMFWD, SF_SOURCE_DIR).
# Skips (exit 77) only when aiosmtpd is not installed.
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)" >&2
    exit 77
fi
exec /usr/bin/python3 "$(dirname "$0")/events_e2e.py"
