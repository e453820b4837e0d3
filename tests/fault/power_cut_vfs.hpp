// A SQLite VFS for tests that simulates a power cut. It wraps the default
// (unix) VFS and keeps, for every database, WAL and journal file it opens,
// the file's *durable* content: what it held at open plus every write and
// truncation up to that file's last xSync. Writes and truncations since are
// "in the page cache". After a chosen number of write/truncate/sync calls the
// power fails: the files on disk are set back to their durable content (or,
// in kPartial mode, to the durable content plus a random subset of the
// unsynced operations, in order — a disk that wrote some of its cache) and
// the process ends at once with kPowerCutExit, inside the I/O call.
//
// Test-only: installed as the default VFS in a forked child, so the store
// under test needs no hook at all and production code is unchanged. The
// parent reopens the files with the ordinary unix VFS, as the next boot would.
#pragma once

#include <cstdint>

namespace fieldgate::testing::powercut {

inline constexpr int kPowerCutExit = 77;

enum class Mode {
  kDropUnsynced,  // every write since the file's last sync is lost
  kPartial,       // each unsynced write/truncate is kept or lost at random
};

/// Registers the VFS as the process's default. Call once, before any
/// database is opened (in the child process).
void install(Mode mode, std::uint64_t seed);

/// The power fails at the `op`-th write/truncate/sync call from now
/// (1 = the next one, which is lost).
void arm(std::uint64_t op);

/// Write/truncate/sync calls seen so far.
[[nodiscard]] std::uint64_t ops();

/// Fails the power now: restores the files and ends the process.
[[noreturn]] void cut_now();

}  // namespace fieldgate::testing::powercut
