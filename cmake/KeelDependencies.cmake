# Every dependency comes from a Debian package (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(CPPUNIT IMPORTED_TARGET cppunit)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Poco REQUIRED COMPONENTS Foundation JSON Util)
find_package(Threads REQUIRED)

# llhttp: Debian's node-llhttp ships the C sources and header, not a library; build it here.
set(KEEL_LLHTTP_SRC_DIR "/usr/share/llhttp" CACHE PATH "llhttp C sources (node-llhttp)")
set(KEEL_LLHTTP_INCLUDE_DIR "/usr/share/include/llhttp" CACHE PATH "llhttp header (node-llhttp)")
if(NOT EXISTS "${KEEL_LLHTTP_SRC_DIR}/llhttp.c" OR NOT EXISTS "${KEEL_LLHTTP_INCLUDE_DIR}/llhttp.h")
  message(FATAL_ERROR "llhttp not found under ${KEEL_LLHTTP_SRC_DIR} and ${KEEL_LLHTTP_INCLUDE_DIR}: "
                      "install the Debian package node-llhttp (scripts/setup.sh does)")
endif()
add_library(llhttp STATIC
  "${KEEL_LLHTTP_SRC_DIR}/api.c" "${KEEL_LLHTTP_SRC_DIR}/http.c" "${KEEL_LLHTTP_SRC_DIR}/llhttp.c")
target_include_directories(llhttp SYSTEM PUBLIC "${KEEL_LLHTTP_INCLUDE_DIR}")
set_target_properties(llhttp PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
# Upstream's generated code is not ours to fix; keep the build log clean.
target_compile_options(llhttp PRIVATE -w)
