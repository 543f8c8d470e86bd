# install.cmake - what `cmake --install` (make install) puts under the prefix:
#   bin/nngen                                the compiler
#   lib/libnnrt.a, include/nngen/nn_runtime.h the runtime generated code links against
#   lib/libnn_data.a, include/nngen/nn_data.h the IDX / CSV data loaders, for a
#                                            user's training program (as examples/train.c)
#   lib/cmake/nngen/                         the CMake package: find_package(nngen) gives
#                                            nngen::nngen, nngen::nnrt, nngen::nn_data,
#                                            nngen_add_network()
#   share/nngen/nn_runtime.c                 the runtime in one file (the build tree's
#                                            amalgamation of runtime/src/), for a project
#                                            that compiles it with its own (cross) compiler
#                                            instead of linking libnnrt.a
#   lib/pkgconfig/nngen.pc                   for make users: pkg-config --cflags --libs nngen,
#                                            pkg-config --variable=nngen nngen (the compiler)
#   share/man/man1/nngen.1, share/doc/nngen/ the manual page, README.md and docs/*.md
# Everything is relocatable: the package and nngen.pc find the prefix from
# their own location, so `cmake --install build --prefix DIR` works for any DIR.
include(CMakePackageConfigHelpers)

# the same names inside this build tree as in a user's project
add_library(nngen::nnrt ALIAS nnrt)
add_library(nngen::nn_data ALIAS nn_data)
if(TARGET nngen)
  add_executable(nngen::nngen ALIAS nngen)
  install(TARGETS nngen EXPORT nngenTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(TARGETS nnrt nn_data EXPORT nngenTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES runtime/nn_runtime.h runtime/data/nn_data.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nngen)
install(FILES ${NNRT_AMALGAMATION} DESTINATION ${CMAKE_INSTALL_DATADIR}/nngen)

set(NNGEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nngen)
install(EXPORT nngenTargets NAMESPACE nngen:: DESTINATION ${NNGEN_CMAKE_DIR})
configure_package_config_file(cmake/nngenConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/nngenConfig.cmake
  INSTALL_DESTINATION ${NNGEN_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/nngenConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/nngenConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/nngenConfigVersion.cmake
  cmake/nngen_network.cmake DESTINATION ${NNGEN_CMAKE_DIR})

# nngen.pc: prefix relative to the .pc file (pkg-config's ${pcfiledir})
file(RELATIVE_PATH NNGEN_PC_UP /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" NNGEN_PC_UP "${NNGEN_PC_UP}") # ../.. (no bin path with //)
configure_file(cmake/nngen.pc.in ${CMAKE_CURRENT_BINARY_DIR}/nngen.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/nngen.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES docs/nngen.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# README.md and every page of docs/, laid out as in the repository so that
# their links between each other hold (README.md -> docs/tutorial.md -> c-api.md)
file(GLOB NNGEN_DOC_PAGES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/docs/*.md)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${NNGEN_DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
