// Helpers shared by the store's unit tests (store_*_test.cpp): a scratch
// directory (tests/support/ is linked into the integration tests only),
// readings and configs. Real SQLite files throughout, no mocks.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bridge/store.hpp"
#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge::testing {

/// A fresh directory under the temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    auto pattern = (std::filesystem::temp_directory_path() / "fieldgate-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline Reading make_reading(std::string device, std::string point, Value value,
                            std::int64_t ts_ms = 0) {
  Reading r;
  r.device = std::move(device);
  r.point = std::move(point);
  r.value = std::move(value);
  r.unit = "V";
  r.source_ts_ms = ts_ms != 0 ? ts_ms : now_ms();
  return r;
}

/// `n` good readings of meter/p<i % 3>, values 0..n-1.
inline Batch make_batch(int n, int first_value = 0) {
  Batch batch;
  for (int i = 0; i < n; ++i) {
    batch.push_back(make_reading("meter", "p" + std::to_string(i % 3),
                                 static_cast<std::int64_t>(first_value + i)));
  }
  return batch;
}

/// A config whose timer never fires during a test: commits happen on flush()
/// (or commit_batch) only, so tests need no timing.
inline config::StoreConfig manual_config(const std::string& path) {
  config::StoreConfig c;
  c.path = path;
  c.commit_interval = std::chrono::hours(1);
  c.commit_batch = 1'000'000;
  c.max_age = std::chrono::hours(24 * 365);
  return c;
}

/// first, first + 1, …, last.
inline std::vector<std::uint64_t> seq_range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto s = first; s <= last; ++s) out.push_back(s);
  return out;
}

/// Runs `work` in a forked child that then ends with _exit() while the store
/// `work` opened into its argument is still open: its files are left as a
/// SIGKILL or a crash would leave them. True if `work` returned true.
inline bool in_a_process_that_dies(const std::function<bool(std::unique_ptr<Store>&)>& work) {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    std::unique_ptr<Store> store;
    _exit(work(store) ? 0 : 1);  // `store` is never destroyed
  }
  int status = 0;
  return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

inline std::vector<std::uint64_t> seqs_of(const std::vector<Reading>& readings) {
  std::vector<std::uint64_t> seqs;
  for (const auto& r : readings) seqs.push_back(r.seq);
  return seqs;
}

/// Polls `done` until it holds or `timeout` passes (generous bounds only).
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace fieldgate::bridge::testing
