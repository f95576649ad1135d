# `cmake --install`: headers, libkc (shared and static), kc.pc and a CMake
# package config so that both `pkg-config --cflags --libs kc` and
# `find_package(kc)` work for applications. tests/install checks all of it.
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

# The prefix known at configure time is not the one `cmake --install --prefix`
# uses, so kc.pc finds the prefix from its own location (${pcfiledir}).
function(kc_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
set(_kc_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${_kc_pcdir}")
  set(KC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # One ".." per component of the pkgconfig folder, relative to the prefix.
  string(REGEX REPLACE "[^/]+" ".." _kc_up "${_kc_pcdir}")
  set(KC_PC_PREFIX "\${pcfiledir}/${_kc_up}")
endif()
kc_pc_path(KC_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
kc_pc_path(KC_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/kc.pc.in ${CMAKE_BINARY_DIR}/kc.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/kc.pc DESTINATION ${_kc_pcdir})
