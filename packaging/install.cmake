# install.cmake - install rules beyond the binary and the maps (which the top
# CMakeLists.txt installs): the configuration under SYSCONFDIR/siemfwd, the
# systemd unit, /etc/default/siemfwd, man pages, docs, the maps README.
# Paths written inside the config and the unit follow CMAKE_INSTALL_PREFIX;
# with /usr (the Debian package) they are /usr/bin, /etc, /usr/share.
# Included from packaging/CPackConfig.cmake.

set(SF_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SF_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
set(SF_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/siemfwd)
set(SF_MAPS_DIR ${CMAKE_INSTALL_FULL_DATADIR}/siemfwd/maps)
set(SIEMFWD_SYSTEMD_UNITDIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system
    CACHE PATH "where the systemd unit is installed")

# Copy src to dst with the listed literal replacements (pairs: from to),
# rewritten only when the result changes; editing src reconfigures.
function(sf_pkg_rewrite src dst)
    file(READ ${src} text)
    set(pairs ${ARGN})
    list(LENGTH pairs n)
    while(n GREATER 1)
        list(POP_FRONT pairs from to)
        string(REPLACE "${from}" "${to}" text "${text}")
        list(LENGTH pairs n)
    endwhile()
    set(old "")
    if(EXISTS ${dst})
        file(READ ${dst} old)
    endif()
    if(NOT old STREQUAL text)
        file(WRITE ${dst} "${text}")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
endfunction()

sf_pkg_rewrite(${CMAKE_SOURCE_DIR}/config/examples/siemfwd.yaml ${SF_PKG_OUT}/siemfwd.yaml
    "/usr/share/siemfwd/maps/" "${SF_MAPS_DIR}/"
    "/etc/siemfwd/" "${SF_CONF_DIR}/")
sf_pkg_rewrite(${SF_PKG_DIR}/siemfwd.service ${SF_PKG_OUT}/siemfwd.service
    "/usr/bin/siemfwd" "${CMAKE_INSTALL_FULL_BINDIR}/siemfwd"
    "/etc/siemfwd/" "${SF_CONF_DIR}/"
    "/etc/default/siemfwd" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/siemfwd")

# Configuration files: never overwrite what an admin already has (a plain
# `cmake --install` over an existing setup); the package stages into an
# empty tree, where dpkg's conffile handling takes over.
function(sf_install_config src destdir name)
    install(CODE "
        set(dst \"\$ENV{DESTDIR}${destdir}/${name}\")
        if(EXISTS \"\${dst}\")
            message(STATUS \"Keeping: \${dst} (new version: ${src})\")
        else()
            file(INSTALL DESTINATION \"${destdir}\" TYPE FILE RENAME \"${name}\"
                 PERMISSIONS ${ARGN} FILES \"${src}\")
        endif()")
endfunction()

sf_install_config(${SF_PKG_OUT}/siemfwd.yaml ${SF_CONF_DIR} siemfwd.yaml
    OWNER_READ OWNER_WRITE GROUP_READ)
sf_install_config(${SF_PKG_DIR}/default.siemfwd
    ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default siemfwd OWNER_READ OWNER_WRITE)

# tenants_dir of `siemfwd tenant add`: one *.yaml per customer. Empty; the
# postinst gives it to root:siemfwd 0750 like /etc/siemfwd.
install(DIRECTORY DESTINATION ${SF_CONF_DIR}/tenants.d
    DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)

install(FILES ${SF_PKG_OUT}/siemfwd.service DESTINATION ${SIEMFWD_SYSTEMD_UNITDIR})

# Man pages, compressed as Debian policy wants them (gzip -9n: no name or
# time stamp, so the package is reproducible).
set(SF_MAN_GZ "")
foreach(page siemfwd.8 siemfwd.yaml.5)
    add_custom_command(OUTPUT ${SF_PKG_OUT}/${page}.gz
        COMMAND sh -c "gzip -9n -c \"$1\" > \"$2\"" sh ${SF_PKG_DIR}/${page}
                ${SF_PKG_OUT}/${page}.gz
        DEPENDS ${SF_PKG_DIR}/${page} VERBATIM)
    list(APPEND SF_MAN_GZ ${SF_PKG_OUT}/${page}.gz)
endforeach()
add_custom_target(siemfwd_man ALL DEPENDS ${SF_MAN_GZ})
install(FILES ${SF_PKG_OUT}/siemfwd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${SF_PKG_OUT}/siemfwd.yaml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

install(FILES ${CMAKE_SOURCE_DIR}/formats/maps/README.md
    DESTINATION ${CMAKE_INSTALL_DATADIR}/siemfwd/maps OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${SF_PKG_OUT}/siemfwd.yaml
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
