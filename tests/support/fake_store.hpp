// Test support: an in-memory Store with the interface's semantics (seq
// assignment, peek after a seq, ack deletes) and a record of every ack, for
// forwarder tests that need no disk; and AckRecorder, which wraps a real store
// to record the same.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "bridge/store.hpp"

namespace fieldgate::testing {

/// When each seq was acked (steady clock), in ack order.
struct AckRecord {
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point at;
};

class AckLog {
 public:
  void record(std::span<const std::uint64_t> seqs) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    for (auto s : seqs) records_.push_back({s, now});
  }
  [[nodiscard]] std::vector<AckRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AckRecord> records_;
};

/// Every appended reading is committed at once (and the listener called).
class FakeStore final : public bridge::Store {
 public:
  void append(Batch&& batch) override {
    std::function<void()> listener;
    {
      std::lock_guard lock(mutex_);
      for (auto& r : batch) {
        r.seq = next_seq_++;
        rows_.emplace(r.seq, std::move(r));
        ++accepted_;
      }
      listener = listener_;
    }
    if (listener) listener();
  }

  void flush() override {}

  std::vector<Reading> peek(std::uint64_t after, std::size_t n) override {
    std::lock_guard lock(mutex_);
    std::vector<Reading> out;
    for (auto it = rows_.upper_bound(after); it != rows_.end() && out.size() < n; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  void ack(std::span<const std::uint64_t> seqs) override {
    acks_.record(seqs);
    std::lock_guard lock(mutex_);
    for (auto s : seqs) acked_ += rows_.erase(s);
  }

  void dead_letter(std::span<const bridge::DeadLetter> letters) override {
    std::lock_guard lock(mutex_);
    for (const auto& letter : letters) {
      if (rows_.erase(letter.seq) > 0) dead_.push_back(letter);
    }
  }

  /// Every reading dead-lettered so far, in order.
  [[nodiscard]] std::vector<bridge::DeadLetter> dead_letters() const {
    std::lock_guard lock(mutex_);
    return dead_;
  }

  bridge::StoreStats stats() override {
    std::lock_guard lock(mutex_);
    bridge::StoreStats s;
    s.rows = rows_.size();
    s.dead_letters = dead_.size();
    s.dead_lettered = dead_.size();
    s.next_seq = next_seq_;
    s.accepted = accepted_;
    s.acked = acked_;
    if (!rows_.empty()) {
      s.oldest_ts_ms = rows_.begin()->second.source_ts_ms;
      s.newest_ts_ms = rows_.rbegin()->second.source_ts_ms;
    }
    s.path = ":memory:";
    return s;
  }

  void set_commit_listener(std::function<void()> listener) override {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
  }

  [[nodiscard]] const AckLog& acks() const { return acks_; }

 private:
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Reading> rows_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t accepted_ = 0;
  std::uint64_t acked_ = 0;
  std::vector<bridge::DeadLetter> dead_;
  std::function<void()> listener_;
  AckLog acks_;
};

/// Passes everything to `inner` and records the acks.
class AckRecorder final : public bridge::Store {
 public:
  explicit AckRecorder(bridge::Store& inner) : inner_(inner) {}
  void append(Batch&& batch) override { inner_.append(std::move(batch)); }
  void flush() override { inner_.flush(); }
  std::vector<Reading> peek(std::uint64_t after, std::size_t n) override {
    return inner_.peek(after, n);
  }
  std::vector<Reading> claim(std::uint64_t after, std::size_t n) override {
    return inner_.claim(after, n);
  }
  void ack(std::span<const std::uint64_t> seqs) override {
    acks_.record(seqs);
    inner_.ack(seqs);
  }
  void dead_letter(std::span<const bridge::DeadLetter> letters) override {
    inner_.dead_letter(letters);
  }
  bridge::StoreStats stats() override { return inner_.stats(); }
  void set_commit_listener(std::function<void()> listener) override {
    inner_.set_commit_listener(std::move(listener));
  }
  [[nodiscard]] const AckLog& acks() const { return acks_; }

 private:
  bridge::Store& inner_;
  AckLog acks_;
};

}  // namespace fieldgate::testing
