// The actions of `fieldgate queue` (one file each) and what they share;
// internal to queue/. run_queue() (queue_command.hpp) picks one.
#pragma once

#include <cstdint>
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "queue/queue_command.hpp"
#include "queue/queue_db.hpp"

namespace fieldgate::queue {

inline constexpr int kExitQueueOk = 0;
inline constexpr int kExitQueueError = 1;

/// A stored reading as a JSON object: the reading, its seq, and for a dead
/// letter why and when it died.
[[nodiscard]] nlohmann::json reading_json(const StoredReading& s);

/// The filter of the command-line options; throws QueueError for a bad time.
[[nodiscard]] QueueFilter filter_of(const QueueOptions& o, std::int64_t now_ms);

int run_stats(const QueueOptions& o, std::ostream& out, std::ostream& err);   // queue_stats.cpp
int run_ls(const QueueOptions& o, std::ostream& out, std::ostream& err);      // queue_list.cpp
int run_show(const QueueOptions& o, std::ostream& out);                       // queue_list.cpp
int run_export(const QueueOptions& o, std::ostream& out, std::ostream& err);  // queue_export.cpp
int run_purge(const QueueOptions& o, std::ostream& out, std::ostream& err);   // queue_purge.cpp

}  // namespace fieldgate::queue
