# shellcheck shell=bash
# Shared by the package tests. Sourced.
set -euo pipefail
tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }

# expected_files UNITDIR: "MODE PATH" lines, sorted by path.
expected_files() {
  grep -v '^#' "$tests_dir/expected-files" | sed "s|@UNITDIR@|$1|" | sort -k2
}

# check_tree ROOT UNITDIR: exactly the expected files with the expected modes,
# every directory 0755.
check_tree() {
  local root=$1 unitdir=$2
  local actual
  actual=$(cd "$root" && find . \( -type f -o -type l \) -printf '%m /%P\n' |
           awk '{printf "%04d %s\n", $1, $2}' | sort -k2)
  if ! diff -u <(expected_files "$unitdir") <(printf '%s\n' "$actual") >&2; then
    fail "the files in $root differ from packaging/tests/expected-files (- expected, + found)"
  fi
  local odd_dirs
  odd_dirs=$(cd "$root" && find . -mindepth 1 -type d ! -perm 0755 -printf '%m /%P\n')
  [ -z "$odd_dirs" ] || fail "directories not 0755: $odd_dirs"
  # The administrator's models directory (docs/MODELS.md), shipped empty.
  [ -d "$root/etc/fieldgate/models.d" ] || fail "no /etc/fieldgate/models.d in $root"
}

# check_runs ROOT "EMULATOR...": the installed binary validates the installed
# configuration (under qemu for another architecture).
check_runs() {
  local root=$1
  local -a emulator
  read -r -a emulator <<<"$2"
  local version
  version=$("${emulator[@]}" "$root/usr/bin/fieldgate" --version) ||
    fail "$root/usr/bin/fieldgate --version failed"
  echo "installed binary: $version"
  "${emulator[@]}" "$root/usr/bin/fieldgate" check -c "$root/etc/fieldgate/fieldgate.toml" >/dev/null ||
    fail "fieldgate check -c $root/etc/fieldgate/fieldgate.toml failed"
  echo "fieldgate check accepts the packaged configuration"
}
