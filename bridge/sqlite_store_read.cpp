// SqliteStore, readings out: peek, claim, ack and dead letters, through the
// reader connection (design notes and invariants: sqlite_store.hpp).
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/sqlite_store.hpp"
#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {

void SqliteStore::dead_letter(std::span<const DeadLetter> letters) {
  std::vector<DeadLetterWork> work;
  work.reserve(letters.size());
  for (const auto& letter : letters) work.push_back({letter.seq, letter.reason, {}, false});
  dead_letter_numbered(std::move(work));
}

// As ack(): hidden at once (peek skips them), moved by the next commit.
void SqliteStore::dead_letter_numbered(std::vector<DeadLetterWork>&& letters) {
  if (letters.empty()) return;
  {
    std::lock_guard lock(read_mu_);
    for (const auto& letter : letters) hidden_.insert(letter.seq);
  }
  std::lock_guard lock(mu_);
  for (auto& letter : letters) pending_dead_.push_back(std::move(letter));
}

std::vector<Reading> SqliteStore::peek(std::uint64_t after, std::size_t n) {
  return read(after, n, false);
}

std::vector<Reading> SqliteStore::claim(std::uint64_t after, std::size_t n) {
  return read(after, n, true);
}

std::vector<Reading> SqliteStore::read(std::uint64_t after, std::size_t n, bool claiming) {
  std::vector<DeadLetterWork> oversize;
  std::vector<Reading> out;
  {
    std::lock_guard lock(read_mu_);
    out = peek_locked(after, n, oversize);
    if (claiming && !out.empty()) claimed_upto_ = std::max(claimed_upto_, out.back().seq);
  }
  if (!oversize.empty()) {
    std::lock_guard lock(mu_);  // never with read_mu_
    for (auto& letter : oversize) pending_dead_.push_back(std::move(letter));
  }
  return out;
}

std::optional<std::uint64_t> SqliteStore::next_seq_after_locked(std::uint64_t after) {
  sqlite3_stmt* stmt = next_seq_after_.get();
  sqlite::ResetOnExit reset(stmt);
  sqlite3_bind_int64(stmt, 1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)));
  if (sqlite3_step(stmt) != SQLITE_ROW) return std::nullopt;
  return static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
}

// A row with a value larger than any reading may be (SQLITE_TOOBIG, see
// open_reader()) is hidden at once and queued in `oversize` to be moved to
// the dead-letter table in part; the read goes on after it. It never blocks
// the rows behind it, and never enters memory whole.
std::vector<Reading> SqliteStore::peek_locked(std::uint64_t after, std::size_t n,
                                              std::vector<DeadLetterWork>& oversize) {
  std::vector<Reading> out;
  if (n == 0) return out;
  out.reserve(std::min<std::size_t>(n, 4096));
  sqlite3_stmt* stmt = peek_.get();
  sqlite::ResetOnExit reset(stmt);
  sqlite3_bind_int64(stmt, 1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)));
  int rc = SQLITE_OK;
  std::uint64_t last = after;  // the last row stepped over (read or skipped)
  for (;;) {
    while (out.size() < n && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
      last = seq;
      if (!hidden_.empty() && hidden_.count(seq) != 0) continue;
      out.push_back(schema::read_reading(stmt));
    }
    if (rc != SQLITE_TOOBIG || out.size() >= n) break;
    sqlite3_reset(stmt);
    const auto culprit = next_seq_after_locked(last);
    if (!culprit) break;
    if (hidden_.insert(*culprit).second) {
      oversize.push_back({*culprit,
                          fmt::format("a value is larger than [mqtt] max_payload ({} bytes)",
                                      intake_.max_reading()),
                          {},
                          true});
      spdlog::warn(
          "store: seq {} in {} holds a value larger than [mqtt] max_payload ({} bytes); it is "
          "moved to the dead-letter table with the first {} bytes of each such value",
          *culprit, config_.path, intake_.max_reading(), kDeadLetterKeep);
    }
    last = *culprit;
    sqlite3_bind_int64(stmt, 1,
                       static_cast<std::int64_t>(std::min<std::uint64_t>(last, INT64_MAX)));
  }
  // Steady state: report, never throw. The forwarder simply asks again later.
  const bool failed =
      out.size() < n && rc != SQLITE_DONE && rc != SQLITE_ROW && rc != SQLITE_TOOBIG;
  if (failed && rc != peek_error_) {
    spdlog::error("store: reading {} failed: {}", config_.path,
                  sqlite::describe(reader_.get(), rc));
  } else if (!failed && peek_error_ != SQLITE_OK) {
    spdlog::info("store: reading {} works again", config_.path);
  }
  peek_error_ = failed ? rc : SQLITE_OK;
  return out;
}

void SqliteStore::ack(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return;
  {
    // Hidden first: were it queued first, a commit could delete it and
    // finish_acks() run before it is hidden, leaving it hidden forever.
    std::lock_guard lock(read_mu_);
    hidden_.insert(seqs.begin(), seqs.end());
  }
  std::lock_guard lock(mu_);
  pending_acks_.insert(pending_acks_.end(), seqs.begin(), seqs.end());
}

}  // namespace fieldgate::bridge
