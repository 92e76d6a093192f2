# qremap - packaging/deb-prebuild.cmake: cpack runs this on the staged tree
# (CPACK_PRE_BUILD_SCRIPTS, cmake/Packaging.cmake), before it builds the
# .deb: what a Debian package has and "cmake --install" doesn't do.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return() # package_source: the tree as it is
endif()
set(root "${CPACK_TEMPORARY_DIRECTORY}")
find_program(GZIP gzip REQUIRED)

# Binaries without symbols, and without the sections dh_strip removes too
# (.comment: the compiler's version string).
foreach(bin ${CPACK_QREMAP_BINARIES})
  execute_process(COMMAND ${CPACK_QREMAP_STRIP} --remove-section=.comment --remove-section=.note
                          "${root}${bin}" COMMAND_ERROR_IS_FATAL ANY)
endforeach()

# Man pages gzipped, as Debian ships them (policy 12.1); -n: no name or
# time stamp inside, so the same pages give the same package.
file(GLOB_RECURSE pages "${root}${CPACK_QREMAP_MANDIR}/*")
foreach(page ${pages})
  if(NOT page MATCHES "\\.gz$")
    execute_process(COMMAND ${GZIP} -9nf "${page}" COMMAND_ERROR_IS_FATAL ANY)
  endif()
endforeach()

# A native package's changelog.gz (policy 12.7), one entry for this
# version: the history of changes is the project's own (git log). The date
# follows SOURCE_DATE_EPOCH when set (reproducible builds).
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(changelog "${root}${CPACK_QREMAP_DOCDIR}/changelog")
file(WRITE "${changelog}"
"qremap (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium

  * qremap ${CPACK_PACKAGE_VERSION}, packaged with CPack from the project's source
    tree. Changes: the project's git history.

 -- ${CPACK_PACKAGE_CONTACT}  ${date}
")
execute_process(COMMAND ${GZIP} -9nf "${changelog}" COMMAND_ERROR_IS_FATAL ANY)

# The lintian tags this package carries on purpose, each justified there.
configure_file("${CPACK_QREMAP_LINTIAN_OVERRIDES}"
               "${root}${CPACK_PACKAGING_INSTALL_PREFIX}/share/lintian/overrides/qremap" COPYONLY)
