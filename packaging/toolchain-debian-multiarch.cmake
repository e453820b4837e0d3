# Cross-compiling on Debian (bookworm) with multiarch: the target's libraries
# are ordinary Debian packages installed as PKG:ARCH next to the native ones
# (/usr/lib/<triplet>, /usr/include/<triplet>), and the compiler is Debian's
# <triplet>-g++ (crossbuild-essential-ARCH), whose sysroot is /.
# Included by toolchain-<triplet>.cmake, which sets FIELDGATE_CROSS_TRIPLET,
# FIELDGATE_CROSS_PROCESSOR and FIELDGATE_CROSS_QEMU first.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${FIELDGATE_CROSS_PROCESSOR})
# find_package()/find_library() then search /usr/lib/<triplet>, not the host's.
set(CMAKE_LIBRARY_ARCHITECTURE ${FIELDGATE_CROSS_TRIPLET})

set(CMAKE_C_COMPILER ${FIELDGATE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${FIELDGATE_CROSS_TRIPLET}-g++)

# The sysroot is /, so the host's tools (cmake, pkg-config, gzip) run as they
# are, while libraries and headers come from the target's multiarch dirs.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config reads only the target's .pc files (plus arch-independent ones):
# otherwise libmodbus.pc of the build machine would put x86-64 libraries on an
# aarch64 link line.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${FIELDGATE_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")

# ctest and gtest_discover_tests run the target's test binaries through qemu
# user-mode emulation (Debian's qemu-user). No -L /usr/<triplet>: that makes
# qemu take the dynamic loader of the cross toolchain's libc
# (libc6-ARCH-cross, an older build) while libc.so.6 comes from the multiarch
# libc6:ARCH, and a loader and libc from different builds hang the first
# pthread_create. Without -L, both come from libc6:ARCH
# (/lib/ld-linux-aarch64.so.1 and /usr/lib/<triplet>), the same files the Pi
# has.
set(CMAKE_CROSSCOMPILING_EMULATOR ${FIELDGATE_CROSS_QEMU})
