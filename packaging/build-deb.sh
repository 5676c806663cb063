#!/usr/bin/env bash
# build-deb.sh - build the siemfwd Debian package from this checkout: a
# Release build without tests in $SIEMFWD_DEB_BUILD_DIR (default build-deb/
# at the top of the checkout), installed under /usr, packed by `cpack -G DEB`.
# Prints the path of the .deb on stdout (everything else goes to stderr).
# Needs cmake, a C compiler, the -dev packages (packaging/deps.sh) and
# dpkg-dev for the shared-library dependencies.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SIEMFWD_DEB_BUILD_DIR:-$top/build-deb}
jobs=${SIEMFWD_DEB_JOBS:-2}

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIEMFWD_TESTS=OFF \
    -DSIEMFWD_SANITIZE=OFF -DSIEMFWD_FUZZ=OFF -DCMAKE_INSTALL_PREFIX=/usr >&2
cmake --build "$build" -j"$jobs" >&2
rm -f "$build"/siemfwd_*.deb
(cd "$build" && cpack -G DEB) >&2
debs=("$build"/siemfwd_*.deb)
if [ ! -f "${debs[0]}" ]; then
    echo "build-deb: cpack made no siemfwd_*.deb in $build" >&2
    exit 1
fi
echo "${debs[0]}"
