#include "config/file_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "config/units.hpp"

namespace fieldgate::config {
namespace {

/// A file descriptor closed on every path out.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int error) {
  return std::strerror(error);
}

std::string too_large(std::uint64_t max_bytes) {
  return "it is larger than " + format_size(max_bytes) + ", the most read from this file";
}

// Opens without blocking (O_NONBLOCK: a FIFO without a writer, a tty without
// carrier) and without becoming a controlling terminal; checks the type and
// size on the descriptor itself. Returns -1 with `error` set otherwise.
int open_checked(const std::string& path, std::uint64_t max_bytes, struct stat& st,
                 std::string& error, bool& opened) {
  opened = true;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = errno_text(errno);
    opened = false;
    return -1;
  }
  if (::fstat(fd, &st) != 0) {
    error = errno_text(errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "it is " + describe_file_type(st.st_mode) + ", not a regular file";
    ::close(fd);
    return -1;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = too_large(max_bytes);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string describe_file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a file";
}

FileRead read_regular_file(const std::string& path, std::uint64_t max_bytes) {
  FileRead out;
  struct stat st {};
  const Fd fd(open_checked(path, max_bytes, st, out.error, out.opened));
  if (fd.get() < 0) return out;
  out.mode = st.st_mode & 07777;
  // The size from fstat is a hint: the file may grow or shrink while read.
  // One byte more than allowed tells a file that grew past the bound.
  const std::uint64_t limit = max_bytes + 1;
  out.text.reserve(static_cast<std::size_t>(st.st_size));
  char chunk[16384];
  while (out.text.size() < limit) {
    const std::uint64_t want = std::min<std::uint64_t>(sizeof chunk, limit - out.text.size());
    const ssize_t n = ::read(fd.get(), chunk, static_cast<std::size_t>(want));
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = errno_text(errno);
      out.text.clear();
      return out;
    }
    if (n == 0) break;
    out.text.append(chunk, static_cast<std::size_t>(n));
  }
  if (out.text.size() > max_bytes) {
    out.error = too_large(max_bytes);
    out.text.clear();
  }
  return out;
}

FileCheck check_regular_file(const std::string& path, std::uint64_t max_bytes) {
  FileCheck out;
  struct stat st {};
  const Fd fd(open_checked(path, max_bytes, st, out.error, out.opened));
  return out;
}

std::string FileCheck::what() const {
  if (error.empty()) return {};
  return (opened ? "cannot read the file: " : "cannot open the file: ") + error;
}

}  // namespace fieldgate::config
