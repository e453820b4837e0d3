# Raspberry Pi OS bookworm 32-bit (Debian armhf) from a Debian bookworm amd64
# machine: cmake -DCMAKE_TOOLCHAIN_FILE=packaging/toolchain-arm-linux-gnueabihf.cmake
# Needs crossbuild-essential-armhf, qemu-user and the libraries as :armhf
# (scripts/package armhf installs them).
#
# Debian armhf is ARMv7 + VFPv3-D16 (Thumb-2): it runs on the Raspberry Pi 2
# and later, not on the ARMv6 Pi 1 / Zero (W), whose Raspberry Pi OS "armhf"
# is Raspbian's own ARMv6 build of the archive.
set(FIELDGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(FIELDGATE_CROSS_PROCESSOR armv7l)
set(FIELDGATE_CROSS_QEMU qemu-arm)
# GCC notes on 32-bit ARM that passing some structs "changed in GCC 7.1": it
# matters only when linking objects built by GCC 6 or older, never here, and
# would bury real warnings under some 200 notes per build.
set(CMAKE_C_FLAGS_INIT "-Wno-psabi")
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
