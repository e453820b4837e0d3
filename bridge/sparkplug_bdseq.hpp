// The Sparkplug bdSeq ("birth/death sequence"): 0 at the very first MQTT
// CONNECT, +1 at each CONNECT after (255 → 0), carried by the NDEATH will
// and the NBIRTH of that connection. Kept in the store's meta table
// (key "sparkplug.bd_seq", the last number used), so that a restarted
// gateway goes on from where it was and a host never takes the old will for
// the new session.
//
// Its own short-lived connection to the store's file, once per connect
// attempt (rare): SQLite serialises it with the committer's writes (WAL, a
// busy timeout), and the store reads only the meta keys it knows.
#pragma once

#include <cstdint>
#include <string>

namespace fieldgate::bridge::sparkplug {

class BdSeqCounter {
 public:
  /// `store_path`: the store's SQLite file; "" keeps the number in memory only.
  explicit BdSeqCounter(std::string store_path) : path_(std::move(store_path)) {}

  /// The number of the next CONNECT, recorded before it is used. When the
  /// file cannot be written, the number is still the next one (logged once).
  [[nodiscard]] std::uint64_t next();

 private:
  std::string path_;
  std::int64_t last_ = -1;  // -1: not read from the file yet
  bool warned_ = false;
};

}  // namespace fieldgate::bridge::sparkplug
