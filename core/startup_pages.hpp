// Giving back the code pages only start-up used.
//
// Loading the libraries, parsing the TOML file and building the daemon touch
// code that never runs again: the dynamic linker's symbol and relocation
// tables of every library, toml++, CLI11, the config checks. The kernel also
// maps up to 64 KiB of neighbours around each page it faults in. All of it
// stays in the process's page tables, so it is counted in its RSS, and the
// kernel keeps mapped executable pages longer than other cache when memory
// runs short. With the 10 x 50 fleet, 9.6 MiB of the 12.3 MiB RSS were
// mapped files, and only 3.8 MiB of them are touched again once it runs.
//
// release_startup_pages() unmaps the pages of every private, read-only mapped
// file that holds no page of its own (nothing copied on write), so only what
// runs afterwards is mapped back, page by page, from the page cache. It frees
// no memory by itself: the pages stay cached until the kernel needs the room.
// Writable mappings and read-only ones that were written once (the relocated
// data of each library) are left alone: unmapping them would lose their
// contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fieldgate {

struct PageRange {
  std::uintptr_t start = 0;
  std::size_t length = 0;
};

/// The ranges of `smaps` (the text of /proc/<pid>/smaps) that may be unmapped
/// without losing anything: a file's path, permissions r--p or r-xp, some of
/// it resident, and an `Anonymous:` line of 0. A mapping whose lines are
/// missing or malformed is left out.
[[nodiscard]] std::vector<PageRange> clean_file_ranges(std::string_view smaps);

struct ReleasedPages {
  std::size_t mappings = 0;
  std::size_t bytes = 0;  // the length of the ranges, resident or not
};

/// Unmaps the clean file ranges of this process (reads /proc/self/smaps, at
/// most 8 MiB of it). Never throws; nothing is released if smaps cannot be
/// read.
ReleasedPages release_startup_pages() noexcept;

}  // namespace fieldgate
