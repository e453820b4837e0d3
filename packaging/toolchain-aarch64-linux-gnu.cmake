# Raspberry Pi OS bookworm 64-bit (Debian arm64) from a Debian bookworm amd64
# machine: cmake -DCMAKE_TOOLCHAIN_FILE=packaging/toolchain-aarch64-linux-gnu.cmake
# Needs crossbuild-essential-arm64, qemu-user and the libraries as :arm64
# (scripts/package arm64 installs them).
set(FIELDGATE_CROSS_TRIPLET aarch64-linux-gnu)
set(FIELDGATE_CROSS_PROCESSOR aarch64)
set(FIELDGATE_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
