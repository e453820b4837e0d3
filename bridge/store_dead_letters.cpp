// The group commit's dead letters (GroupCommit, store_commit.hpp): rows
// moved to the dead_letters table whole or, when too large, in part, and
// that table's own bound.
#include <algorithm>

#include <fmt/format.h>

#include "bridge/store_commit.hpp"
#include "bridge/store_commit_steps.hpp"
#include "bridge/store_schema.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {

// A row moves within the transaction: copied to dead_letters, then deleted.
// One that is no longer there (acked, evicted) moves nothing.
void GroupCommit::move_dead(const std::vector<DeadLetterWork>& dead, std::uint64_t& rows,
                            std::uint64_t& bytes, CommitResult& out) {
  const auto now = unix_ms_now();
  for (const auto& letter : dead) {
    std::uint64_t kept = 0;  // accounted bytes of a row copied in part
    if (letter.reading) {
      const auto size = schema::accounted_size(*letter.reading);
      insert_dead(*letter.reading, size, letter.reason);
      ++out.dead_moved;
      ++out.dead_rows;
      out.dead_bytes += size;
    } else if (letter.oversize) {
      kept = copy_in_part(letter);
    } else {
      sqlite3_stmt* move = move_dead_.get();
      sqlite::ResetOnExit reset(move);
      sqlite3_bind_int64(move, 1, to_db(letter.seq));
      sqlite::bind_text(move, 2, letter.reason);
      sqlite3_bind_int64(move, 3, now);
      sqlite::check(db_, sqlite3_step(move), "move to dead_letters", SQLITE_DONE);
    }
    std::uint64_t deleted = 0;
    std::uint64_t size = 0;
    sqlite3_bind_int64(delete_one_.get(), 1, to_db(letter.seq));
    step_deleted(db_, delete_one_.get(), "delete dead letter", deleted, size);
    if (deleted > 0 && !letter.reading) {
      ++out.dead_moved;
      ++out.dead_rows;
      out.dead_bytes += letter.oversize ? kept : size;
    }
    rows -= std::min(rows, deleted);
    bytes -= std::min(bytes, size);
  }
}

// A row with a column larger than max_reading: its text columns are read
// through the incremental blob API, which knows a column's length without
// reading it, and only the first kDeadLetterKeep bytes of each are copied.
std::uint64_t GroupCommit::copy_in_part(const DeadLetterWork& letter) {
  Reading r;
  r.seq = letter.seq;
  bool text_value = false;
  {
    sqlite3_stmt* head = row_head_.get();
    sqlite::ResetOnExit reset(head);
    sqlite3_bind_int64(head, 1, to_db(letter.seq));
    const int rc = sqlite3_step(head);
    sqlite::check(db_, rc, "read dead letter", SQLITE_ROW, SQLITE_DONE);
    if (rc == SQLITE_DONE) return 0;  // gone meanwhile (acked, evicted)
    r.source_ts_ms = sqlite3_column_int64(head, 0);
    r.quality = static_cast<Quality>(static_cast<std::uint8_t>(sqlite3_column_int(head, 1)));
    const auto kind = static_cast<schema::ValueKind>(sqlite3_column_int(head, 2));
    text_value = sqlite3_column_int(head, 3) != 0;
    if (!text_value) {
      if (kind == schema::ValueKind::kDouble && sqlite3_column_type(head, 4) == SQLITE_FLOAT) {
        r.value = sqlite3_column_double(head, 4);
      } else if (sqlite3_column_type(head, 4) == SQLITE_INTEGER) {
        r.value = static_cast<std::int64_t>(sqlite3_column_int64(head, 4));
      }
    }
  }
  std::string notes;
  auto read_part = [&](const char* column) -> std::string {
    sqlite3_blob* raw = nullptr;
    if (sqlite3_blob_open(db_, "main", "readings", column, to_db(letter.seq), 0, &raw) !=
        SQLITE_OK) {
      sqlite3_blob_close(raw);
      return {};  // NULL or a number: nothing of text to keep
    }
    const auto total = static_cast<std::size_t>(std::max(0, sqlite3_blob_bytes(raw)));
    std::string part(std::min(total, kDeadLetterKeep), '\0');
    const int rc = sqlite3_blob_read(raw, part.data(), static_cast<int>(part.size()), 0);
    sqlite3_blob_close(raw);
    sqlite::check(db_, rc, "read part of a dead letter");
    if (total > part.size()) {
      notes += fmt::format("{}{} is {} bytes, the first {} kept", notes.empty() ? "" : "; ", column,
                           total, part.size());
    }
    return to_valid_utf8(part);
  };
  r.device = read_part("device");
  r.point = read_part("point");
  if (text_value) r.value = read_part("value");
  r.unit = read_part("unit");
  r.error = read_part("error");
  const auto reason = notes.empty() ? letter.reason : fmt::format("{} ({})", letter.reason, notes);
  const auto size = schema::accounted_size(r);
  insert_dead(r, size, reason);
  return size;
}

void GroupCommit::insert_dead(const Reading& r, std::uint64_t size, const std::string& reason) {
  sqlite3_stmt* ins = insert_dead_.get();
  sqlite::ResetOnExit reset(ins);
  bind_reading(ins, r, size);
  sqlite::bind_text(ins, 11, reason);
  sqlite3_bind_int64(ins, 12, unix_ms_now());
  sqlite::check(db_, sqlite3_step(ins), "insert dead letter", SQLITE_DONE);
}

// The oldest dead letters go once the table exceeds its bound, counted in
// meta.dead_dropped: an endless stream of them (a topic no broker takes)
// must not crowd out the readings that can still be delivered.
void GroupCommit::bound_dead(CommitResult& out) {
  const std::uint64_t max_bytes = db_budget_ / 16;
  if (out.dead_rows <= kMaxDeadLetters && out.dead_bytes <= max_bytes) return;
  std::int64_t last = -1;
  {
    sqlite3_stmt* scan = oldest_dead_.get();
    sqlite::ResetOnExit reset(scan);
    int rc = SQLITE_OK;
    while ((out.dead_rows > kMaxDeadLetters || out.dead_bytes > max_bytes) &&
           (rc = sqlite3_step(scan)) == SQLITE_ROW) {
      last = sqlite3_column_int64(scan, 0);
      out.dead_bytes -=
          std::min(out.dead_bytes, static_cast<std::uint64_t>(sqlite3_column_int64(scan, 1)));
      --out.dead_rows;
      ++out.dead_dropped;
    }
    if (rc != SQLITE_ROW) sqlite::check(db_, rc, "scan dead letters", SQLITE_DONE, SQLITE_OK);
  }
  if (last >= 0) {
    sqlite3_bind_int64(delete_dead_upto_.get(), 1, last);
    step_done(db_, delete_dead_upto_.get(), "drop dead letters");
  }
}

}  // namespace fieldgate::bridge
