#include "core/startup_pages.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace fieldgate {
namespace {

// One mapping of a smaps text, with the two lines the parser reads.
std::string mapping(std::string_view header, int rss_kb, int anon_kb) {
  return fmt::format(
      "{}\nSize:                  8 kB\nRss:                {} kB\nPss:                  4 kB\n"
      "Anonymous:          {} kB\nLocked:               0 kB\nVmFlags: rd ex mr mw me sd\n",
      header, rss_kb, anon_kb);
}

bool has_range(const std::vector<PageRange>& ranges, std::uintptr_t start, std::size_t length) {
  for (const auto& r : ranges) {
    if (r.start == start && r.length == length) return true;
  }
  return false;
}

TEST(StartupPages, OnlyPrivateReadOnlyFileMappingsWithNothingCopiedAreClean) {
  const std::string smaps =
      mapping("55d0c0000000-55d0c0002000 r-xp 00002000 fe:01 123 /usr/bin/fieldgate", 8, 0) +
      // a library's relocated data: written once, then made read-only
      mapping("7f0000000000-7f0000004000 r--p 00010000 fe:01 124 /usr/lib/libx.so", 16, 16) +
      mapping("7f0000004000-7f0000005000 rw-p 00014000 fe:01 124 /usr/lib/libx.so", 4, 4) +
      mapping("7f0000006000-7f0000007000 r--s 00000000 fe:01 125 /var/lib/db-shm", 4, 0) +
      mapping("7f0000008000-7f0000009000 r--p 00000000 00:00 0 ", 4, 0) +
      mapping("7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0 [vdso]", 8, 0) +
      mapping("7f000000a000-7f000000b000 r--p 00000000 fe:01 126 /usr/lib/cold.so", 0, 0) +
      mapping("7f000000c000-7f000000e000 r--p 00000000 fe:01 127 /opt/a dir/liby.so (deleted)", 8,
              0);
  const auto ranges = clean_file_ranges(smaps);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_TRUE(has_range(ranges, 0x55d0c0000000, 0x2000));
  EXPECT_TRUE(has_range(ranges, 0x7f000000c000, 0x2000));
}

TEST(StartupPages, AMappingWithAMissingOrMalformedLineIsLeftAlone) {
  EXPECT_TRUE(clean_file_ranges("").empty());
  EXPECT_TRUE(clean_file_ranges("\n\n  \n").empty());
  const std::string bad_headers =
      mapping("zz00-1000 r-xp 00000000 fe:01 1 /lib/a.so", 4, 0) +        // not hex
      mapping("2000-1000 r-xp 00000000 fe:01 1 /lib/b.so", 4, 0) +        // ends before it starts
      mapping("1000-2000 r-x 00000000 fe:01 1 /lib/c.so", 4, 0) +         // perms
      mapping("1000-2000 r-xp 00000000", 4, 0) +                          // no inode
      mapping("1000-ffffffffffffffffff r-xp 0 fe:01 1 /lib/d.so", 4, 0);  // overflows
  EXPECT_TRUE(clean_file_ranges(bad_headers).empty());

  const std::string header = "1000-3000 r-xp 00000000 fe:01 1 /lib/e.so\n";
  EXPECT_TRUE(clean_file_ranges(header + "Rss: 8 kB\n").empty()) << "no Anonymous line";
  EXPECT_TRUE(clean_file_ranges(header + "Rss: 8 kB\nAnonymous: -1 kB\n").empty());
  EXPECT_TRUE(clean_file_ranges(header + "Rss: 8 kB\nAnonymous: 0x0 kB\n").empty());
  EXPECT_TRUE(clean_file_ranges(header + "Rss: many kB\nAnonymous: 0 kB\n").empty());
  // A line the parser does not know ends the mapping it belongs to.
  EXPECT_TRUE(clean_file_ranges(header + "Rss: 8 kB\n\x01garbage\nAnonymous: 0 kB\n").empty());
  ASSERT_EQ(clean_file_ranges(header + "Rss: 8 kB\nAnonymous: 0 kB").size(), 1u)
      << "the last line needs no newline";
}

// The Rss of this process's mapping that starts at `at`, in kB (-1: none).
long resident_kb(const void* at) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto prefix = fmt::format("{:x}-", reinterpret_cast<std::uintptr_t>(at));
  bool inside = false;
  while (std::getline(smaps, line)) {
    if (line.starts_with(prefix)) inside = true;
    if (inside && line.starts_with("Rss:")) return std::stol(line.substr(4));
  }
  return -1;
}

TEST(StartupPages, ReleasedFilePagesReadBackIntactAndWrittenPagesAreKept) {
  char path[] = "/tmp/fieldgate-startup-pages-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  constexpr std::size_t kLength = 64 * 1024;
  std::string pattern(kLength, '\0');
  for (std::size_t i = 0; i < kLength; ++i) pattern[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(fd, pattern.data(), kLength), static_cast<ssize_t>(kLength));

  auto* clean = static_cast<char*>(::mmap(nullptr, kLength, PROT_READ, MAP_PRIVATE, fd, 0));
  auto* written =
      static_cast<char*>(::mmap(nullptr, kLength, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ::close(fd);
  ::unlink(path);
  ASSERT_NE(clean, MAP_FAILED);
  ASSERT_NE(written, MAP_FAILED);
  EXPECT_EQ(std::string(clean, kLength), pattern);  // every page faulted in
  written[100] = '#';  // a private copy of its first page, as relocations make
  ASSERT_EQ(::mprotect(written, kLength, PROT_READ), 0);
  ASSERT_GT(resident_kb(clean), 0);
  ASSERT_GT(resident_kb(written), 0);

  const auto released = release_startup_pages();
  EXPECT_GE(released.mappings, 1u);
  EXPECT_GE(released.bytes, kLength);
  EXPECT_EQ(resident_kb(clean), 0) << "its pages are no longer mapped";
  EXPECT_GT(resident_kb(written), 0) << "a mapping with a written page is left alone";
  EXPECT_EQ(std::string(clean, kLength), pattern) << "mapped back from the file";
  EXPECT_EQ(written[100], '#');
  ::munmap(clean, kLength);
  ::munmap(written, kLength);
}

}  // namespace
}  // namespace fieldgate
