# Shared by scripts/demo and scripts/test: install what is missing, configure, build.
# Sourced, not run. Works as root (CI, containers) and as a sudo user (Raspberry Pi).

FIELDGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIELDGATE_BUILD=${FIELDGATE_BUILD:-$FIELDGATE_ROOT/build}

# Debian (= Raspberry Pi OS bookworm) packages fieldgate builds against.
FIELDGATE_BUILD_DEPS=(
  cmake g++ make pkg-config
  libmodbus-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev libsqlite3-dev libpcre2-dev libsystemd-dev
  libgtest-dev libgmock-dev
  mosquitto mosquitto-clients socat  # the demo's private broker, subscriber, monitor's pty pair
)
# What the tests run against: real peers, not mocks.
FIELDGATE_TEST_DEPS=(
  python3 python3-pymodbus socat openssl
  systemd  # systemd-analyze verify / security on the unit
)

# scripts/fuzz: libFuzzer comes with clang (its runtime in libclang-rt-14-dev).
FIELDGATE_FUZZ_DEPS=(
  clang libclang-rt-14-dev
)

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
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build [CMAKE_ARGS...]: configures (first time, or with new args) and builds.
build() {
  if [ ! -f "$FIELDGATE_BUILD/CMakeCache.txt" ] || [ $# -gt 0 ]; then
    cmake -S "$FIELDGATE_ROOT" -B "$FIELDGATE_BUILD" "$@" >/dev/null
  fi
  log "building in $FIELDGATE_BUILD"
  cmake --build "$FIELDGATE_BUILD" -j"$(nproc)"
}
