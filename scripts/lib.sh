# Shared by scripts/demo and scripts/test: install what is missing, configure, build.
# Sourced, not run. Works as root (CI, containers) and as a sudo user (Raspberry Pi).

FIELDGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIELDGATE_BUILD=${FIELDGATE_BUILD:-$FIELDGATE_ROOT/build}

# Debian (= Raspberry Pi OS bookworm) packages fieldgate builds against.
FIELDGATE_BUILD_DEPS=(
  cmake g++ make pkg-config
  libmodbus-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev libmosquitto-dev libssl-dev libsqlite3-dev libpcre2-dev
  protobuf-c-compiler libprotobuf-c-dev  # Sparkplug B: the C code generated from bridge/sparkplug_b.proto
  libgtest-dev libgmock-dev
  mosquitto mosquitto-clients socat  # the demo's private broker, subscriber, monitor's pty pair
)
# What the tests run against: real peers, not mocks. Every module the Python
# scripts of tests/ import under /usr/bin/python3 must come from here: install
# with --no-install-recommends gives exactly this list and its Depends.
# python3-pymodbus only *recommends* what its server and client import:
# `serial` (python3-serial) and `serial_asyncio` (python3-serial-asyncio).
# bench/run uses the standard library only.
FIELDGATE_TEST_DEPS=(
  python3 python3-pymodbus python3-serial python3-serial-asyncio socat openssl
  python3-jinja2  # Home Assistant value_templates rendered in tests/integration/homeassistant_test.cpp
  systemd  # systemd-analyze verify / security on the unit
  mbpoll   # a Modbus master nobody here wrote, reading through [modbus_server]
  nodejs  # the Sparkplug B host of the tests (install_sparkplug_host) runs on it
)

# bench/run (not the tests: without perf, the bench leaves the syscall
# figures out and says so): perf stat -e raw_syscalls:sys_enter.
FIELDGATE_BENCH_DEPS=(
  linux-perf
)

# scripts/fuzz: libFuzzer comes with clang (its runtime in libclang-rt-14-dev).
FIELDGATE_FUZZ_DEPS=(
  clang libclang-rt-14-dev
)

# The independent Sparkplug B host of the tests: the Sparkplug project's own
# JavaScript payload library (Eclipse Tahu's sparkplug-payload), the only
# thing the tests take from the npm registry. Versions and checksums are fixed
# by tests/integration/sparkplug_host/package-lock.json.
SPARKPLUG_HOST_SRC=$FIELDGATE_ROOT/tests/integration/sparkplug_host

# install_sparkplug_host: installs it into $FIELDGATE_BUILD/sparkplug-host
# (where the tests look for it). Does nothing when the installed copy was made
# from the same lock file, so a second run needs no network; when npm fails
# (offline), warns and returns 0: the Sparkplug tests then fail and say why.
install_sparkplug_host() {
  local dest=$FIELDGATE_BUILD/sparkplug-host
  if [ -d "$dest/node_modules/sparkplug-payload" ] &&
    cmp -s "$SPARKPLUG_HOST_SRC/package-lock.json" "$dest/package-lock.json"; then
    return 0
  fi
  # Debian packages npm apart from nodejs; NodeSource's nodejs brings its own.
  command -v npm >/dev/null || install_missing npm || true
  log "installing the Sparkplug B test host (npm: sparkplug-payload) into $dest"
  mkdir -p "$dest"
  cp "$SPARKPLUG_HOST_SRC/package.json" "$SPARKPLUG_HOST_SRC/package-lock.json" "$dest/"
  if ! (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
    rm -f "$dest/package-lock.json"  # try again next time
    log "warning: npm could not install sparkplug-payload; the Sparkplug tests will fail"
  fi
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# install_missing PKG...: installs only the packages that are not installed yet,
# so a second run does nothing and needs no network.
install_missing() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # Never let an install take something away (a PKG:ARCH library can clash
  # with the native one): simulate first and refuse if anything would be
  # removed. Upgrades to keep a native library and its :ARCH twin at the same
  # version are allowed, and listed.
  local plan
  plan=$(apt-get install -s --no-install-recommends "${missing[@]}" 2>&1) || { printf '%s\n' "$plan" >&2; return 1; }
  if grep -q '^Remv ' <<<"$plan"; then
    grep '^Remv ' <<<"$plan" >&2
    log "refusing: installing ${missing[*]} would remove the packages above"
    return 1
  fi
  if grep -q '^Inst [^ ]* \[' <<<"$plan"; then
    log "also upgrading: $(sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\).*/\1 \2 -> \3/p' <<<"$plan" | paste -sd, -)"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What scripts/package needs besides FIELDGATE_BUILD_DEPS: dpkg-shlibdeps,
# dpkg-deb and dpkg-architecture (dpkg-dev), and file, with which CPack finds
# the ELF files to hand to dpkg-shlibdeps.
FIELDGATE_PACKAGE_DEPS=(dpkg-dev file)

# cross_build_deps ARCH: the packages a cross build for Debian architecture
# ARCH needs on top of FIELDGATE_BUILD_DEPS (installed first, natively): the
# cross compiler, qemu to run the tests, and every architecture-specific
# library -dev package of FIELDGATE_BUILD_DEPS as PKG:ARCH. Header-only ones
# (Architecture: all, Multi-Arch: foreign) serve every architecture as they are.
cross_build_deps() {
  local arch=$1 pkg
  printf "%s\n" "crossbuild-essential-$arch" qemu-user
  for pkg in "${FIELDGATE_BUILD_DEPS[@]}"; do
    [[ $pkg == *-dev ]] || continue
    [ "$(dpkg-query -W -f='${Architecture}' "$pkg" 2>/dev/null)" = all ] && continue
    echo "$pkg:$arch"
  done
}

# add_architecture ARCH: lets dpkg install ARCH packages next to the native
# ones (multiarch); the next install_missing fetches ARCH's package lists.
add_architecture() {
  if [ "$1" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$1"; then
    log "dpkg --add-architecture $1"
    as_root dpkg --add-architecture "$1"
  fi
}

# build [CMAKE_ARGS...]: configures (first time, or with new args) and builds.
build() {
  if [ ! -f "$FIELDGATE_BUILD/CMakeCache.txt" ] || [ $# -gt 0 ]; then
    cmake -S "$FIELDGATE_ROOT" -B "$FIELDGATE_BUILD" "$@" >/dev/null
  fi
  log "building in $FIELDGATE_BUILD"
  cmake --build "$FIELDGATE_BUILD" -j"$(nproc)"
}
