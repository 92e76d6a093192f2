# qremap - cmake/Packaging.cmake: the Debian package (CPack DEB).
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DQREMAP_TESTS=OFF
#   cmake --build build --target package     # build/qremap_VERSION_ARCH.deb
#
# The package holds exactly what "cmake --install" installs (binaries,
# profiles, the systemd unit, man pages, docs, kext kit) plus what only a
# package needs: maintainer scripts that create qremapd's user and register
# the unit (packaging/deb/), man pages gzipped and a changelog
# (packaging/deb-prebuild.cmake). tests/package-deb.sh checks the result.
#
# The paths compiled into the binaries (the profile directory) and written
# into the unit (ExecStart) come from CMAKE_INSTALL_PREFIX at configure time,
# so the package must be built from a tree configured with the prefix it
# installs to, /usr: packaging/cpack-project.cmake refuses anything else
# rather than ship a unit that runs /usr/local/sbin/qremapd.

# The qremapd user (qremapd --user's default), for every install: the
# daemon needs it whether it came from the package or from "cmake --install"
# (then "systemd-sysusers" creates it). systemd-sysusers reads
# /usr/lib/sysusers.d and /usr/local/lib/sysusers.d (sysusers.d(5)), as
# systemd does the unit directories (QREMAP_SYSTEMD_UNITDIR).
set(QREMAP_SYSUSERS_DIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d"
    CACHE PATH "Where qremap.conf (sysusers.d(5): the qremapd user) is installed")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/qremap.sysusers
        DESTINATION ${QREMAP_SYSUSERS_DIR} RENAME qremap.conf)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME qremap)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "remap Incus/QEMU disks and NICs for guests without PCI hotplug")
set(CPACK_PACKAGE_DESCRIPTION
    "Incus starts QEMU paused and hot-adds every NIC and disk over QMP before
the guest runs; a guest that cannot see PCI-hotplugged devices (macOS, old
or unusual operating systems) boots with no disk and no network. qremap
connects to the VM's own QMP monitor before the guest starts and rebuilds
those devices as ones the guest can see: NICs as usb-net or hub
placeholders, disks on SATA, virtio-blk or usb-storage, verified and rolled
back on failure.

This package contains the qremap command, the qremapd daemon that remaps
each Incus VM at its pre-start stage (systemd unit qremapd.service, not
enabled by default), the shipped profiles and the macOS kext kit.")
# Who answers for the package: set -DQREMAP_DEB_MAINTAINER="Name <address>"
# when building one to distribute.
set(QREMAP_DEB_MAINTAINER "qremap maintainers <qremap@invalid.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${QREMAP_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)    # qremap_VERSION_ARCH.deb
# Library dependencies from the binaries themselves (dpkg-shlibdeps), added
# to the ones below. adduser: postinst's way to create the qremapd user
# where systemd-sysusers isn't there (priority important, so nearly always
# installed already; a plain Depends, as lintian wants for a script that
# may call it). Incus is recommended, not required:
# qremap inspect/remap/config work on any QEMU; only qremapd needs Incus.
# libcurl is opened with dlopen() (include/qremap/curl_lib.h), which
# dpkg-shlibdeps can't see: its package is named here, found the way dpkg
# knows it (libcurl4 on Debian 12, libcurl4t64 on 13).
set(QREMAP_CURL_PACKAGE libcurl4)
find_library(QREMAP_CURL_SO NAMES libcurl.so.4)
if(QREMAP_CURL_SO)
  get_filename_component(_curl_real "${QREMAP_CURL_SO}" REALPATH)
  execute_process(COMMAND dpkg-query -S "${_curl_real}" OUTPUT_VARIABLE _curl_owner
                  ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_curl_owner MATCHES "^([a-z0-9.+-]+)(:[a-z0-9]+)?: ")
    set(QREMAP_CURL_PACKAGE ${CMAKE_MATCH_1})
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ${QREMAP_CURL_PACKAGE}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS incus)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Binaries are stripped by packaging/deb-prebuild.cmake, as dh_strip does
# (no -dbgsym package here).
set(CPACK_QREMAP_STRIP ${CMAKE_STRIP})
set(CPACK_QREMAP_BINARIES ${CMAKE_INSTALL_FULL_BINDIR}/qremap ${CMAKE_INSTALL_FULL_SBINDIR}/qremapd)
set(CPACK_QREMAP_LINTIAN_OVERRIDES ${PROJECT_SOURCE_DIR}/packaging/deb/lintian-overrides)
# Stage with DESTDIR: the unit and sysusers directories are absolute paths,
# which without DESTDIR CPack would install onto the live system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_QREMAP_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_QREMAP_SYSTEMD_UNITDIR ${QREMAP_SYSTEMD_UNITDIR})
set(CPACK_QREMAP_SYSUSERS_DIR ${QREMAP_SYSUSERS_DIR})
set(CPACK_QREMAP_SANITIZE ${QREMAP_SANITIZE})
set(CPACK_QREMAP_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
set(CPACK_QREMAP_MANDIR ${CMAKE_INSTALL_FULL_MANDIR})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/packaging/cpack-project.cmake)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/deb-prebuild.cmake)
if(CMAKE_VERSION VERSION_LESS 3.19)
  message(WARNING "CMake ${CMAKE_VERSION} ignores CPACK_PRE_BUILD_SCRIPTS (3.19+): "
                  "a Debian package built with it has uncompressed man pages and no changelog")
endif()
# "package_source": the tree without build directories, caches and git.
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/\\\\.cache/")
include(CPack)
