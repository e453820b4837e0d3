// `fieldgate queue {stats,ls,show,export,purge} --db FILE`: offline
// inspection of the store-and-forward buffer. Read-only except purge; works
// while a gateway is writing the file. Exit 0, or 1 with a message on stderr.
// The tool's command line is in gateway/cmd_queue.cpp; the actions are one
// file each (queue_actions.hpp), the file access is QueueDb (queue_db.hpp).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace fieldgate::queue {

/// One queue subcommand and its options, as the command line gave them.
struct QueueOptions {
  std::string action;  // stats, ls, show, export, purge
  std::string db;
  bool json = false;
  std::string device;            // "" = any
  std::string point;             // "" = any
  std::string since;             // "" = no bound; a time or a duration ("2h" = the last 2 hours)
  std::string before;            // "" = no bound; a time or a duration ("2h" = older than 2 hours)
  long long limit = -1;          // -1: the command's default (ls 50, export all); 0: no limit
  std::uint64_t seq = 0;         // show
  std::string format = "jsonl";  // export: jsonl or csv
  std::string output;            // export: file instead of stdout
  bool all = false;              // purge: everything
  bool yes = false;              // purge: really delete
  bool dead = false;             // ls, export, purge: the dead-letter table instead
};

/// Runs one queue subcommand; returns the exit code.
int run_queue(const QueueOptions& options, std::ostream& out, std::ostream& err);

/// A point in time for --since/--before, in Unix ms: an ISO 8601 UTC time
/// ("2026-11-25", "2026-11-25T12:00", "2026-11-25T12:00:00.250Z", with an
/// optional +hh:mm offset), or a duration ("90m") meaning that long before
/// `now_ms`. nullopt with `error` set when it is neither.
[[nodiscard]] std::optional<std::int64_t> parse_time_arg(std::string_view text, std::int64_t now_ms,
                                                         std::string& error);

}  // namespace fieldgate::queue
