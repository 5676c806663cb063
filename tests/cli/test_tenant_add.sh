#!/bin/sh
# `siemfwd tenant add`, `check --online --tenant` and tenants_dir reloads against
# the Defender emulator (env SIEMFWD, SF_SOURCE_DIR): see test_tenant_add.py.
exec /usr/bin/python3 "$(dirname "$0")/test_tenant_add.py"
