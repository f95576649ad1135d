# Finds kc's dependencies through pkg-config. A missing one stops configure with
# the Debian package that provides it (scripts/deps.sh installs them all).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config'")
endif()

function(kc_require_pkg var module debian_pkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "kc needs ${module} (pkg-config module '${module}' not found): "
                        "install the Debian package '${debian_pkg}', or run scripts/deps.sh")
  endif()
endfunction()

kc_require_pkg(KC_ZLIB zlib zlib1g-dev)
kc_require_pkg(KC_SNAPPY snappy libsnappy-dev)
kc_require_pkg(KC_LZ4 liblz4 liblz4-dev)
kc_require_pkg(KC_ZSTD libzstd libzstd-dev)
kc_require_pkg(KC_SSL openssl libssl-dev)
kc_require_pkg(KC_EVENT libevent libevent-dev)
kc_require_pkg(KC_EVENT_PTHREADS libevent_pthreads libevent-dev)
if(KC_BUILD_TESTS)
  kc_require_pkg(KC_CMOCKA cmocka libcmocka-dev)
endif()

find_package(Threads REQUIRED)
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR "kc generates its protocol codec with Python 3: install the Debian package 'python3'")
endif()
