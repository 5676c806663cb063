#!/bin/sh
# Notification outputs end to end: siemfwd run/notify-test against loopback SMTP
# (python3-aiosmtpd) and HTTPS webhook peers and the Defender emulator (env SIEMFWD,
# SF_SOURCE_DIR). Skips (exit 77) only when aiosmtpd is not installed.
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)" >&2
    exit 77
fi
exec /usr/bin/python3 "$(dirname "$0")/notify_e2e.py"
