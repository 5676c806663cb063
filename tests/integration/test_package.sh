#!/usr/bin/env bash
# test_package.sh - builds the Debian package with packaging/build-deb.sh in a
# temporary build dir and checks it: control fields and conffiles, the file
# list, the hardened unit (systemd-analyze verify and security), the packaged
# binary (--version, `check` on the packaged example config), the man pages
# (groff -ww, every command and config key documented). As root with mount
# namespaces it also installs, upgrades, removes and purges the package with
# dpkg inside a private overlay of / and checks what the maintainer scripts
# did (user, modes, conffiles kept, state purged). Nothing outside the
# overlay and the temp dir is touched.
# Env (from ctest): SIEMFWD (built binary), SF_SOURCE_DIR (repo root).
# Needs cmake, dpkg-dev, systemd (systemd-analyze), groff-base, openssl,
# binutils (readelf); the dpkg part also adduser (the package depends on it).
set -uo pipefail

src=${SF_SOURCE_DIR:?SF_SOURCE_DIR is not set}
tmp=$(mktemp -d /tmp/sf-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...: passes if the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
die() { echo "FAIL - $*"; exit 1; }

for tool in cmake cpack dpkg-deb dpkg-shlibdeps systemd-analyze groff openssl readelf; do
    command -v "$tool" >/dev/null || die "$tool is not installed (see the header)"
done

# ---- build ---------------------------------------------------------------
start=$(date +%s)
if ! deb=$(SIEMFWD_DEB_BUILD_DIR="$tmp/build" bash "$src/packaging/build-deb.sh" \
        2>"$tmp/build.log"); then
    tail -40 "$tmp/build.log"
    die "packaging/build-deb.sh failed"
fi
[ -f "$deb" ] || die "build-deb.sh printed '$deb', which is not a file"
ok "built $(basename "$deb") in $(($(date +%s) - start))s"
if grep -Ei "CMake Warning|CPack.*warn|dpkg-shlibdeps: warning" "$tmp/build.log"; then
    fail "warnings from CMake, CPack or dpkg-shlibdeps"
fi

# ---- control -------------------------------------------------------------
dpkg-deb -f "$deb" >"$tmp/control" || die "dpkg-deb -f failed"
field() { sed -n "s/^$1: //p" "$tmp/control"; }
version=$(sed -n 's/^project(siemfwd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
check "Package: siemfwd" test "$(field Package)" = siemfwd
check "Version $(field Version) is the project's $version" \
    test "$(field Version)" = "$version-1"
check "Architecture is dpkg's" test "$(field Architecture)" = "$(dpkg --print-architecture)"
deps=$(field Depends)
for d in adduser libc6 libcurl4 libjson-c5 librdkafka1 libsqlite3-0 libssl3 libyaml-0-2 zlib1g; do
    check "Depends on $d (shlibdeps)" grep -Eq "(^|, )$d( |,|$)" <<<"$deps"
done
check "Section and Priority" test "$(field Section)/$(field Priority)" = net/optional
check "Maintainer set" grep -q '<.*@.*>' <<<"$(field Maintainer)"
check "Description has a long part" test "$(sed -n '/^Description:/,$p' "$tmp/control" | wc -l)" -gt 3

mkdir "$tmp/ctl"
dpkg-deb -e "$deb" "$tmp/ctl" || die "dpkg-deb -e failed"
check "conffiles lists exactly the two config files" test \
    "$(sort "$tmp/ctl/conffiles")" = "$(printf '/etc/default/siemfwd\n/etc/siemfwd/siemfwd.yaml')"
for s in postinst prerm postrm; do
    check "$s is executable and valid sh" sh -n "$tmp/ctl/$s"
    check "$s mode 0755" test "$(stat -c %a "$tmp/ctl/$s")" = 755
done
check "postinst creates the siemfwd system user" \
    grep -q 'adduser --system .*--no-create-home --home "\$STATE"' "$tmp/ctl/postinst"

# ---- contents --------------------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents" || die "dpkg-deb -c failed"
mode_of() { awk -v p="./$1" '$6 == p { print $1 " " $2 }' "$tmp/contents"; }
check "/usr/bin/siemfwd root 0755" test "$(mode_of usr/bin/siemfwd)" = "-rwxr-xr-x root/root"
check "/etc/siemfwd/siemfwd.yaml 0640" \
    test "$(mode_of etc/siemfwd/siemfwd.yaml)" = "-rw-r----- root/root"
check "/etc/default/siemfwd 0600" test "$(mode_of etc/default/siemfwd)" = "-rw------- root/root"
check "unit in /usr/lib/systemd/system" \
    test -n "$(mode_of usr/lib/systemd/system/siemfwd.service)"
check "siemfwd(8)" test -n "$(mode_of usr/share/man/man8/siemfwd.8.gz)"
check "siemfwd.yaml(5)" test -n "$(mode_of usr/share/man/man5/siemfwd.yaml.5.gz)"
check "maps README" test -n "$(mode_of usr/share/siemfwd/maps/README.md)"
for m in "$src"/formats/maps/*.yaml; do
    check "map $(basename "$m")" test -n "$(mode_of "usr/share/siemfwd/maps/$(basename "$m")")"
done
stray=$(awk '$1 !~ /^d/ { print $6 }' "$tmp/contents" | grep -Ev \
    '^\./(usr/bin/siemfwd|usr/share/siemfwd/(maps|monitoring)/[^/]+|usr/share/man/man[58]/[^/]+\.gz|usr/share/doc/siemfwd/.+|usr/lib/systemd/system/siemfwd\.service|etc/siemfwd/siemfwd\.yaml|etc/default/siemfwd)$')
check "no files outside the layout${stray:+: $stray}" test -z "$stray"

root=$tmp/root
dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x failed"
bin=$root/usr/bin/siemfwd
check "binary is stripped" sh -c "! readelf -S '$bin' | grep -q '\.symtab'"
check "binary has no sanitizer runtime" sh -c "! readelf -d '$bin' | grep -q 'libasan\|libubsan'"
got=$("$bin" --version)
check "--version prints 'siemfwd $version' ($got)" test "$got" = "siemfwd $version"
if [ -n "${SIEMFWD:-}" ] && [ -x "$SIEMFWD" ]; then
    check "same version as the tested build" test "$got" = "$("$SIEMFWD" --version)"
fi

# ---- systemd unit ----------------------------------------------------------
unit=$root/usr/lib/systemd/system/siemfwd.service
for line in 'Type=simple' 'ExecStart=/usr/bin/siemfwd run -c /etc/siemfwd/siemfwd.yaml' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'User=siemfwd' 'Group=siemfwd' \
    'StateDirectory=siemfwd' 'StateDirectoryMode=0700' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'NoNewPrivileges=yes' \
    'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
    'ProtectControlGroups=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    'RestrictNamespaces=yes' 'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' \
    'SystemCallArchitectures=native' 'SystemCallFilter=@system-service' \
    'CapabilityBoundingSet=' 'Restart=on-failure' 'RestartSec=5' 'TimeoutStopSec=60' \
    'EnvironmentFile=-/etc/default/siemfwd' 'WantedBy=multi-user.target'; do
    check "unit: $line" grep -qxF "$line" "$unit"
done
# verify insists that ExecStart exists: check a copy that runs the extracted
# binary; MANPATH lets it resolve Documentation=man:... in the package.
mkdir "$tmp/unit"
sed "s|/usr/bin/siemfwd|$bin|g" "$unit" >"$tmp/unit/siemfwd.service"
if MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/unit/siemfwd.service" \
        >"$tmp/verify.out" 2>&1 && [ ! -s "$tmp/verify.out" ]; then
    ok "systemd-analyze verify: clean"
else
    cat "$tmp/verify.out"
    fail "systemd-analyze verify"
fi
if systemd-analyze security --offline=yes "$tmp/unit/siemfwd.service" >"$tmp/security.out" 2>&1; then
    exposure=$(sed -n 's/.*Overall exposure level for siemfwd.service: \([0-9.]*\).*/\1/p' \
        "$tmp/security.out")
    check "systemd-analyze security: exposure ${exposure:-?} <= 2.0" \
        awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
else
    ok "systemd-analyze security --offline not supported here (skipped)"
fi

# ---- packaged example config -------------------------------------------------
conf=$root/etc/siemfwd/siemfwd.yaml
check "packaged config equals the example" \
    cmp -s <(grep -v '^#' "$conf") <(grep -v '^#' "$src/config/examples/siemfwd.yaml")
for m in $(sed -n 's|^ *map: *\(/[^ ]*\).*|\1|p' "$conf"); do
    check "config map $m is in the package" test -f "$root$m"
    case $m in /usr/share/siemfwd/maps/*) ;; *) fail "map $m is not under /usr/share/siemfwd/maps";; esac
done

# Run `check` on it with every path moved into the temp dirs: maps from the
# extracted package, dummy certificates, credentials and ${VARS}.
etc=$tmp/etc/siemfwd
creds=$tmp/credentials
mkdir -p "$etc" "$creds" "$tmp/state" "$tmp/log"
sed -e "s|/usr/share/siemfwd/maps/|$root/usr/share/siemfwd/maps/|g" -e "s|/etc/siemfwd/|$etc/|g" \
    -e "s|/var/lib/siemfwd|$tmp/state|g" -e "s|/var/log/siemfwd|$tmp/log|g" "$conf" >"$etc/siemfwd.yaml"
chmod 600 "$etc/siemfwd.yaml"
check "no system path left in the test config" \
    sh -c "! grep -v '^ *#' '$etc/siemfwd.yaml' | grep -Eq '(^|[ :])/(etc|usr|var)/'"
for f in $(grep -v '^ *#' "$etc/siemfwd.yaml" | grep -oE "$etc/[^ ]+\.(pem|key)" | sort -u); do
    mkdir -p "$(dirname "$f")"
    if [ ! -f "$f" ]; then
        base=${f%.*}
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj /CN=siemfwd-test -keyout "$base.key" -out "$base.pem" 2>/dev/null ||
            die "openssl could not make $base.pem"
        [ -f "$f" ] || cp "$base.pem" "$f"
    fi
done
for c in $(grep -v '^ *#' "$conf" | grep -oE 'CREDENTIALS_DIRECTORY\}/[A-Za-z0-9._-]+' |
        sed 's|.*}/||' | sort -u); do
    printf 'dummy-%s\n' "$c" >"$creds/$c"
    chmod 600 "$creds/$c"   # as systemd's credentials are: no world-readable warning
done
envs=(CREDENTIALS_DIRECTORY="$creds")
for v in $(grep -v '^ *#' "$conf" | grep -oE '\$\{[A-Za-z_][A-Za-z0-9_]*\}' | tr -d '${}' | sort -u); do
    [ "$v" = CREDENTIALS_DIRECTORY ] || envs+=("$v=dummy-$v")
done
if env -i PATH="$PATH" "${envs[@]}" "$bin" check -c "$etc/siemfwd.yaml" \
        >"$tmp/check.out" 2>"$tmp/check.err" && grep -q ": ok (" "$tmp/check.out" &&
        [ ! -s "$tmp/check.err" ]; then
    ok "packaged binary: check -c packaged config: $(cat "$tmp/check.out")"
else
    cat "$tmp/check.out" "$tmp/check.err"
    fail "packaged binary: check -c packaged config"
fi
# Without its secrets the same config must fail with exit 2 and name them.
env -i PATH="$PATH" "$bin" check -c "$etc/siemfwd.yaml" >/dev/null 2>"$tmp/check2.err"
rc=$?
check "check without secrets exits 2 (got $rc)" test "$rc" = 2
check "... and names the unset variable" grep -q "CREDENTIALS_DIRECTORY is not set" "$tmp/check2.err"

# ---- man pages ------------------------------------------------------------------
for page in man8/siemfwd.8 man5/siemfwd.yaml.5; do
    name=$(basename "$page")
    check "$name.gz is the source page" \
        cmp -s <(gzip -dc "$root/usr/share/man/$page.gz") "$src/packaging/$name"
    if gzip -dc "$root/usr/share/man/$page.gz" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww \
            >"$tmp/$name.txt" 2>"$tmp/$name.err" && [ ! -s "$tmp/$name.err" ]; then
        ok "groff -man -ww $name: no warnings"
    else
        cat "$tmp/$name.err"
        fail "groff -man -ww $name"
    fi
    # Plain text without overstrike, for the checks below.
    sed -e 's/.\x08//g' "$tmp/$name.txt" >"$tmp/$name.plain"
done
# Every command of main.c and every option of its getopt tables in siemfwd(8).
for cmd in $(sed -n 's/^ *{ "\([a-z-]*\)", sf_cmd_[a-z_]* },.*/\1/p' "$src/forwarder/main.c"); do
    check "siemfwd(8) documents command $cmd" grep -q "^       $cmd " "$tmp/siemfwd.8.plain"
done
for opt in $(sed -n 's/^ *{ "\([a-z-]*\)", \(required\|no\)_argument.*/\1/p' \
        "$src"/forwarder/cmd_*.c | sort -u); do
    check "siemfwd(8) documents --$opt" grep -q -- "--$opt" "$tmp/siemfwd.8.plain"
done
for w in "EXIT STATUS" SIGTERM SIGINT SIGHUP /etc/siemfwd/siemfwd.yaml /var/lib/siemfwd \
    /usr/share/siemfwd/maps/README.md "siemfwd.yaml(5)"; do
    check "siemfwd(8) mentions $w" grep -qF "$w" "$tmp/siemfwd.8.plain"
done
# Every key of the config tables (sf_conf_entry in config/, outputs/,
# forwarder/) in siemfwd.yaml(5): a new key needs a line in that page.
for key in $(sed -n 's/^ *{ "\([a-z_0-9]*\)", SF_CT_.*/\1/p' \
        "$src"/config/*.c "$src"/outputs/*.c "$src"/forwarder/*.c | sort -u); do
    check "siemfwd.yaml(5) documents $key (packaging/siemfwd.yaml.5)" \
        grep -qE "(^|[ .(])$key( |,|$)" "$tmp/siemfwd.yaml.5.plain"
done
for w in SECRETS 'file:' '${NAME}' /usr/share/siemfwd/maps/README.md "siemfwd(8)"; do
    check "siemfwd.yaml(5) mentions $w" grep -qF "$w" "$tmp/siemfwd.yaml.5.plain"
done

# ---- install, upgrade, remove, purge in a private overlay of / -------------------
# The chroot half: run by /bin/sh inside the overlay, prints ok/FAIL lines.
cat >"$tmp/lifecycle.sh" <<'EOF'
set -u
r=0
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
t() { d=$1; shift; if "$@"; then echo "ok $d"; else echo "FAIL $d"; r=1; fi; }
st() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive
rm -f /var/lib/man-db/auto-update
getent passwd siemfwd >/dev/null && { echo "FAIL a siemfwd user exists before install"; exit 1; }
dpkg -i /sftest/siemfwd.deb >/sftest/dpkg.log 2>&1 || { cat /sftest/dpkg.log; echo "FAIL dpkg -i"; exit 1; }
t "dpkg -i installs siemfwd" test "$(dpkg-query -W -f='${Status}' siemfwd)" = "install ok installed"
t "system user siemfwd: home /var/lib/siemfwd, nologin" \
    test "$(getent passwd siemfwd | cut -d: -f6,7)" = /var/lib/siemfwd:/usr/sbin/nologin
t "system user has a system uid" test "$(id -u siemfwd)" -lt 1000
t "group siemfwd" test "$(id -gn siemfwd)" = siemfwd
t "/etc/siemfwd/siemfwd.yaml root:siemfwd 640" test "$(st /etc/siemfwd/siemfwd.yaml)" = "root:siemfwd 640"
t "/etc/siemfwd root:siemfwd 750" test "$(st /etc/siemfwd)" = "root:siemfwd 750"
t "/etc/default/siemfwd root:root 600" test "$(st /etc/default/siemfwd)" = "root:root 600"
t "/var/lib/siemfwd siemfwd:siemfwd 700" test "$(st /var/lib/siemfwd)" = "siemfwd:siemfwd 700"
t "not enabled on a fresh install" test ! -e /etc/systemd/system/multi-user.target.wants/siemfwd.service
if command -v man >/dev/null; then
    t "man siemfwd finds the page" sh -c 'man -w siemfwd | grep -q /usr/share/man/man8/siemfwd.8.gz'
fi
# The service user reads its config; others do not.
cp -r /sftest/tls /sftest/certs /etc/siemfwd/ && chgrp -R siemfwd /etc/siemfwd/tls /etc/siemfwd/certs
chmod -R g+rX,o-rwx /etc/siemfwd/tls /etc/siemfwd/certs
chmod 755 /sftest && chmod -R a+rX /sftest/credentials
mkdir -p /var/log/siemfwd
t "siemfwd user: check -c /etc/siemfwd/siemfwd.yaml" runuser -u siemfwd -- env \
    CREDENTIALS_DIRECTORY=/sftest/credentials SIEMFWD_CLIENT_ID=x SIEMFWD_CLIENT_SECRET=x \
    SPLUNK_HEC_TOKEN=x SMTP_PASSWORD=x siemfwd check -c /etc/siemfwd/siemfwd.yaml >/dev/null
t "nobody cannot read the config" sh -c '! runuser -u nobody -- cat /etc/siemfwd/siemfwd.yaml 2>/dev/null'
# Upgrade (reinstall): the admin's edit of the conffile stays, modes too.
echo "# edited by the admin" >>/etc/siemfwd/siemfwd.yaml
systemctl enable siemfwd.service >/dev/null 2>&1
t "systemctl enable works offline" test -L /etc/systemd/system/multi-user.target.wants/siemfwd.service
dpkg -i /sftest/siemfwd.deb >/sftest/dpkg.log 2>&1 || { cat /sftest/dpkg.log; echo "FAIL dpkg -i (upgrade)"; exit 1; }
t "upgrade keeps the edited conffile" grep -q "edited by the admin" /etc/siemfwd/siemfwd.yaml
t "upgrade keeps root:siemfwd 640" test "$(st /etc/siemfwd/siemfwd.yaml)" = "root:siemfwd 640"
echo state >/var/lib/siemfwd/siemfwd.db
dpkg -r siemfwd >/sftest/dpkg.log 2>&1 || { cat /sftest/dpkg.log; echo "FAIL dpkg -r"; exit 1; }
t "remove: binary gone" test ! -e /usr/bin/siemfwd
t "remove: unit gone" test ! -e /usr/lib/systemd/system/siemfwd.service
t "remove: disabled" test ! -e /etc/systemd/system/multi-user.target.wants/siemfwd.service
t "remove: config kept" test -f /etc/siemfwd/siemfwd.yaml
t "remove: state kept" test -f /var/lib/siemfwd/siemfwd.db
dpkg -P siemfwd >/sftest/dpkg.log 2>&1 || { cat /sftest/dpkg.log; echo "FAIL dpkg -P"; exit 1; }
t "purge: siemfwd.yaml gone" test ! -e /etc/siemfwd/siemfwd.yaml
t "purge: /etc/default/siemfwd gone" test ! -e /etc/default/siemfwd
t "purge: state gone" test ! -e /var/lib/siemfwd
t "purge: only the admin's files stay in /etc/siemfwd" \
    test "$(ls /etc/siemfwd | tr '\n' ' ')" = "certs tls "
t "purge: dpkg forgot the package" sh -c '! dpkg-query -W siemfwd 2>/dev/null'
exit $r
EOF
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    mkdir "$tmp/ovl"
    export tmp deb etc creds src
    unshare -m bash -c '
        set -u
        m=$tmp/ovl/merged
        mount -t tmpfs tmpfs "$tmp/ovl" && mkdir "$tmp/ovl/upper" "$tmp/ovl/work" "$m" &&
        mount -t overlay overlay \
            -o "lowerdir=/,upperdir=$tmp/ovl/upper,workdir=$tmp/ovl/work" "$m" &&
        mount -t proc proc "$m/proc" && mount --rbind /dev "$m/dev" || exit 99
        mkdir -p "$m/sftest" && cp "$deb" "$m/sftest/siemfwd.deb" &&
        cp -r "$etc/tls" "$etc/certs" "$creds" "$tmp/lifecycle.sh" "$m/sftest/" || exit 99
        chroot "$m" /bin/sh /sftest/lifecycle.sh' >"$tmp/lifecycle.out" 2>&1
    rc=$?
    sed 's/^/     /' "$tmp/lifecycle.out" | grep -v '^     \(ok\|FAIL\) ' || true
    grep -E '^(ok|FAIL) ' "$tmp/lifecycle.out" | sed 's/^ok /ok   - /; s/^FAIL /FAIL - /'
    if [ "$rc" = 99 ]; then
        ok "dpkg lifecycle skipped: no overlay mount here"
    elif [ "$rc" != 0 ] || grep -q '^FAIL ' "$tmp/lifecycle.out"; then
        fail "dpkg install/upgrade/remove/purge (exit $rc)"
    fi
else
    ok "dpkg lifecycle skipped: needs root and mount namespaces"
fi

echo "# $(($(date +%s) - start))s"
if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all package checks passed"
exit 0
