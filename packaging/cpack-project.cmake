# qremap - packaging/cpack-project.cmake: read by cpack for each generator.
#
# A Debian package installs under /usr, and the binaries and the unit carry
# paths of the prefix the tree was configured with (cmake/Packaging.cmake):
# refuse to package a tree configured for another prefix, or one whose
# cached unit or sysusers directory is left over from one (reconfiguring an
# existing build with a new CMAKE_INSTALL_PREFIX keeps cached paths), or a
# sanitized test build.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT CPACK_QREMAP_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR
      "qremap: this tree is configured with CMAKE_INSTALL_PREFIX=${CPACK_QREMAP_INSTALL_PREFIX}; "
      "a Debian package installs under /usr and its binaries and unit must say so: "
      "configure a build directory with -DCMAKE_INSTALL_PREFIX=/usr and package that")
  endif()
  # A sanitized build links ASan and carries the test hooks
  # (tests/CMakeLists.txt): nothing to ship.
  if(CPACK_QREMAP_SANITIZE)
    message(FATAL_ERROR
      "qremap: this tree is built with QREMAP_SANITIZE=ON (ASan, test hooks): "
      "package a release tree (-DQREMAP_SANITIZE=OFF)")
  endif()
  foreach(dir QREMAP_SYSTEMD_UNITDIR QREMAP_SYSUSERS_DIR)
    if(NOT CPACK_${dir} MATCHES "^/(usr/)?lib/")
      message(FATAL_ERROR
        "qremap: ${dir} is ${CPACK_${dir}}, not a directory of the /usr prefix "
        "(left from an earlier configure with another prefix?): configure a fresh "
        "build directory with -DCMAKE_INSTALL_PREFIX=/usr, or pass -D${dir}=...")
    endif()
  endforeach()
endif()
