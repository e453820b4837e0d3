#include "core/startup_pages.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>

#include "core/unique_fd.hpp"

namespace fieldgate {
namespace {

// The kernel writes about 1 KiB per mapping; a daemon has a few hundred.
constexpr std::size_t kMaxSmapsBytes = std::size_t{8} << 20;

// The next field of `line` separated by spaces or tabs, removed from it.
std::string_view next_field(std::string_view& line) {
  const auto begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(begin);
  const auto end = std::min(line.find_first_of(" \t"), line.size());
  const auto field = line.substr(0, end);
  line.remove_prefix(end);
  return field;
}

template <class Int>
bool parse_whole(std::string_view text, Int& out, int base) {
  const auto* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), last, out, base);
  return ec == std::errc{} && ptr == last && !text.empty();
}

// One mapping while its lines are read.
struct Mapping {
  PageRange range;
  bool clean_file = false;  // a file's path, r--p or r-xp
  bool resident = false;    // Rss: more than 0 kB
  bool anon_seen = false;
  bool anon_zero = false;  // Anonymous: 0 kB
};

// `start-end perms offset dev inode [path]`, or false if the line is not one.
bool parse_header(std::string_view line, Mapping& m) {
  const auto span = next_field(line);
  const auto dash = span.find('-');
  if (dash == std::string_view::npos) return false;
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  if (!parse_whole(span.substr(0, dash), start, 16) ||
      !parse_whole(span.substr(dash + 1), end, 16) || end <= start) {
    return false;
  }
  const auto perms = next_field(line);
  if (perms.size() != 4) return false;
  next_field(line);                            // offset
  next_field(line);                            // device
  if (next_field(line).empty()) return false;  // inode
  const auto path = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
  m = Mapping{};
  m.range = {start, static_cast<std::size_t>(end - start)};
  m.clean_file = path.starts_with('/') && (perms == "r--p" || perms == "r-xp");
  return true;
}

}  // namespace

std::vector<PageRange> clean_file_ranges(std::string_view smaps) {
  std::vector<PageRange> out;
  Mapping current;
  bool have = false;
  const auto flush = [&] {
    if (have && current.clean_file && current.resident && current.anon_seen && current.anon_zero) {
      out.push_back(current.range);
    }
  };
  while (!smaps.empty()) {
    const auto eol = std::min(smaps.find('\n'), smaps.size());
    std::string_view line = smaps.substr(0, eol);
    smaps.remove_prefix(std::min(eol + 1, smaps.size()));
    std::string_view rest = line;
    const auto key = next_field(rest);
    if (key.empty()) continue;
    if (!key.ends_with(':')) {
      Mapping next;
      if (parse_header(line, next)) {
        flush();
        current = next;
        have = true;
      } else {
        have = false;  // a line we do not understand: leave this mapping alone
      }
      continue;
    }
    if (!have) continue;
    std::uint64_t kb = 0;
    const bool number = parse_whole(next_field(rest), kb, 10);
    if (key == "Rss:") {
      current.resident = number && kb > 0;
    } else if (key == "Anonymous:") {
      current.anon_seen = number;
      current.anon_zero = number && kb == 0;
    }
  }
  flush();
  return out;
}

ReleasedPages release_startup_pages() noexcept {
  ReleasedPages released;
  try {
    const UniqueFd fd(::open("/proc/self/smaps", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return released;
    std::string text;
    char buf[16384];
    while (text.size() < kMaxSmapsBytes) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    // Cut at the last whole line: a mapping read in half is left out.
    const auto last_newline = text.rfind('\n');
    text.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
    // The ranges are the loaded libraries and the executable, which nothing
    // unloads while the daemon runs, so they are still these files' pages
    // when madvise() gets them.
    for (const auto& r : clean_file_ranges(text)) {
      if (::madvise(reinterpret_cast<void*>(r.start), r.length, MADV_DONTNEED) == 0) {
        ++released.mappings;
        released.bytes += r.length;
      }
    }
  } catch (...) {  // std::bad_alloc: then nothing more is released
  }
  return released;
}

}  // namespace fieldgate
