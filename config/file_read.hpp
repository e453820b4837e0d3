// Files the gateway reads at start-up (the configuration, a password, the TLS
// files it hands to OpenSSL) come from outside and are hostile until checked:
// a FIFO blocks open() and read() forever, /dev/zero never ends. These
// functions open without blocking, accept only a regular file, and never read
// more than a bound. No exceptions: every caller words its own error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace fieldgate::config {

/// The largest configuration file read. A point takes 70-120 bytes of TOML,
/// so the 10,000 points the gateway is measured with (docs/PERFORMANCE.md)
/// fit in 1.2 MB; 4 MiB leaves room for comments, and toml++ needs ~20 times
/// the file's size while parsing, which a small gateway can still afford.
inline constexpr std::uint64_t kMaxConfigBytes = 4ULL << 20;
/// The largest secret read (a password: a line; a credential: a few KiB).
inline constexpr std::uint64_t kMaxSecretBytes = 64ULL << 10;
/// The largest TLS file accepted (a CA bundle of every public root is ~220 KiB).
inline constexpr std::uint64_t kMaxTlsFileBytes = 4ULL << 20;

/// Whether a file could be opened and is a regular file of bounded size.
struct FileCheck {
  std::string error;    // "" when fine, else why not: "No such file or directory", "it is a
                        // FIFO (named pipe), not a regular file", "it is larger than 4MiB, ..."
  bool opened = false;  // open() worked: the error is about what the file is

  /// "cannot open the file: REASON" or "cannot read the file: REASON"; "" when fine.
  [[nodiscard]] std::string what() const;
};

/// What read_regular_file() found.
struct FileRead : FileCheck {
  std::string text;  // the whole file when error is empty
  mode_t mode = 0;   // permission bits (07777) of the file that was read
};

/// Reads `path`, which must be a regular file of at most `max_bytes`. Opened
/// with O_NONBLOCK (a FIFO or a device never blocks), checked with fstat()
/// on the open descriptor (no race with a rename), and read up to
/// max_bytes + 1 bytes at most (a file that grows while read is refused).
[[nodiscard]] FileRead read_regular_file(const std::string& path, std::uint64_t max_bytes);

/// The same checks without reading the content, for files another library
/// reads (OpenSSL).
[[nodiscard]] FileCheck check_regular_file(const std::string& path, std::uint64_t max_bytes);

/// "a FIFO", "a character device", "a directory", ... for a stat() st_mode.
[[nodiscard]] std::string describe_file_type(mode_t mode);

}  // namespace fieldgate::config
