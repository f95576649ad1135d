# `cmake --install`: headers, libkc (shared and static), kc.pc and a CMake
# package config so that both `pkg-config --cflags --libs kc` and
# `find_package(kc)` work for applications.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(TARGETS kc kc_static EXPORT kcTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT kcTargets NAMESPACE kc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kc)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kcConfig.cmake.in
  ${CMAKE_BINARY_DIR}/kcConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kc)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/kcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/kcConfig.cmake ${CMAKE_BINARY_DIR}/kcConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kc)

configure_file(${PROJECT_SOURCE_DIR}/cmake/kc.pc.in ${CMAKE_BINARY_DIR}/kc.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/kc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
