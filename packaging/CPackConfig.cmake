# CPackConfig.cmake - the Debian package of siemfwd (`cpack -G DEB` in a build
# configured with -DCMAKE_INSTALL_PREFIX=/usr; packaging/build-deb.sh does
# it all). Also pulls in packaging/install.cmake, so `cmake --install` gets
# the same layout. Included at the end of the top CMakeLists.txt.

include(${CMAKE_CURRENT_LIST_DIR}/install.cmake)

set(SIEMFWD_DEB_MAINTAINER "siemfwd maintainers <siemfwd@example.org>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME siemfwd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "siemfwd")
set(CPACK_PACKAGE_CONTACT "${SIEMFWD_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Microsoft Defender alert forwarder for SIEMs (CEF, LEEF, JSON)")
set(CPACK_PACKAGE_DESCRIPTION
"siemfwd pulls the alerts of many customer tenants from Microsoft Defender
(Graph security/alerts_v2, Defender for Endpoint or the legacy SIEM API)
with OAuth2 client credentials, renders them through YAML field maps as
CEF (ArcSight), LEEF (QRadar) or JSON, and delivers them to syslog over
TCP/TLS, Kafka and Splunk HEC.

Every (tenant, output) pair keeps its own cursor, which advances only when
that output acknowledged the records: nothing is lost across crashes and a
dead SIEM never blocks the others. Built for managed security service
providers; runs as a hardened systemd service.")

# Absolute destinations (/etc/siemfwd, /etc/default) are staged with DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME siemfwd)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SIEMFWD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Library dependencies come from dpkg-shlibdeps (package dpkg-dev); they are
# appended to these, which the maintainer scripts need.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
find_program(SF_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SF_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(WARNING "dpkg-shlibdeps not found (apt install dpkg-dev): the Debian "
        "package will not list its library dependencies")
endif()

# conffiles: dpkg keeps an admin's edits on upgrade and removes them on purge.
set(SF_DEB_CONFFILES ${SF_PKG_OUT}/deb/conffiles)
file(MAKE_DIRECTORY ${SF_PKG_OUT}/deb)
file(WRITE ${SF_DEB_CONFFILES}.tmp
    "${SF_CONF_DIR}/siemfwd.yaml\n${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/siemfwd\n")
file(COPY_FILE ${SF_DEB_CONFFILES}.tmp ${SF_DEB_CONFFILES} ONLY_IF_DIFFERENT)
file(REMOVE ${SF_DEB_CONFFILES}.tmp)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SF_DEB_CONFFILES}
    ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
    ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
    ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
# 0755 for the scripts, 0644 for conffiles, whatever the checkout says.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(STATUS "siemfwd: a Debian package wants -DCMAKE_INSTALL_PREFIX=/usr "
        "(now ${CMAKE_INSTALL_PREFIX}); packaging/build-deb.sh sets it")
endif()

include(CPack)
