// Fault scenarios on the gateway's side: the process SIGKILLed at random
// moments under heavy load and restarted; the disk full during commits, then
// freed; the database's directory read-only at start; the file corrupted at
// rest between runs. The real binary and broker, checked by seq.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/fault/fault_rig.hpp"
#include "tests/support/mqtt_helpers.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

Ms between(std::mt19937_64& rng, int lo_ms, int hi_ms) {
  return Ms(lo_ms + static_cast<int>(rng() % static_cast<std::uint64_t>(hi_ms - lo_ms + 1)));
}

void expect_clean_under_load(const CheckReport& r, FaultRig& rig) {
  EXPECT_EQ(r.lost, 0) << r.summary() << "\n" << rig.gateway_log();
  EXPECT_EQ(r.dropped, 0u) << r.summary();
  EXPECT_EQ(r.buffered, 0u) << r.summary();
  EXPECT_EQ(r.reordered, 0u) << r.summary();
  EXPECT_EQ(r.unexpected, 0u) << r.summary();
  EXPECT_EQ(r.received_in_skipped, 0u)
      << "a seq counted as never handed out arrived: " << r.summary();
  EXPECT_GT(r.accepted, 500u) << "too little load to prove anything: " << r.summary();
  std::printf("[ check ] %s\n", r.summary().c_str());
}

void gateway_kills(int qos) {
  const std::string name = "gateway-kill/qos" + std::to_string(qos);
  const auto seed = fault_seed(name);
  std::mt19937_64 rng(seed);
  Tally tally;
  for (int it = 0; it < iterations(1, 4); ++it) {
    RigOptions o;
    o.qos = qos;
    o.poll_interval = "10ms";  // 2400 readings/s: commits and publishes all the time
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    const int kills = iterations(4, 10);
    for (int k = 0; k < kills; ++k) {
      // Sometimes while it is still starting, mostly in full flow.
      std::this_thread::sleep_for(between(rng, k % 3 == 2 ? 10 : 200, 1500));
      rig.kill_gateway();
      rig.start_gateway();
      ASSERT_TRUE(rig.wait_progress(100, 30s)) << "no delivery after restart " << k << "\n"
                                               << rig.gateway_log();
    }
    const auto report = rig.finish();
    expect_clean_under_load(report, rig);
    tally.add(report);
    if (::testing::Test::HasFailure()) break;
  }
  tally.print(name, seed);
}

TEST(GatewayFaults, GatewayKilledAtRandomMomentsQos1) {
  gateway_kills(1);
}
TEST(GatewayFaults, GatewayKilledAtRandomMomentsQos2) {
  gateway_kills(2);
}

// Spill mode gives up what is in memory when the process dies (that is its
// documented price), but never a seq: before each restart, the file already
// records as taken every seq the subscriber has seen, so no reading of the
// next process can be mistaken for an earlier one. What had reached the file
// is delivered, in order.
TEST(GatewayFaults, GatewayKilledInSpillModeNeverHandsASeqOutTwice) {
  const std::string name = "gateway-kill/spill";
  const auto seed = fault_seed(name);
  std::mt19937_64 rng(seed);
  RigOptions o;
  o.poll_interval = "10ms";
  o.store_extra = "mode = \"spill\"\nspill_after = \"200ms\"";
  FaultRig rig(o);
  rig.start_gateway();
  ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
  for (int k = 0; k < iterations(3, 10); ++k) {
    std::this_thread::sleep_for(between(rng, 200, 1500));
    if (k % 2 == 1) rig.link().set_blackhole(true);  // unconfirmed readings spill meanwhile
    std::this_thread::sleep_for(between(rng, 0, 1000));
    rig.kill_gateway();
    rig.link().set_blackhole(false);
    std::uint64_t seen = 0;
    for (const auto& m : rig.subscriber().messages()) {
      if (!not_a_reading(m.topic)) seen = std::max(seen, seq_of(m));
    }
    const auto a = rig.accepted();
    const auto taken = std::max(a.last_seq, a.reserved_upto);
    EXPECT_GE(taken, seen) << "kill " << k << ": the file would hand out seqs already delivered";
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(100, 30s)) << "no delivery after restart " << k << "\n"
                                             << rig.gateway_log();
  }
  const auto report = rig.finish();
  std::printf("[ check ] %s\n", report.summary().c_str());
  EXPECT_EQ(report.unexpected, 0u) << report.summary();
  EXPECT_EQ(report.lost, 0) << "a reading that had reached the file was lost: " << report.summary();
  EXPECT_EQ(report.reordered, 0u) << report.summary();
  EXPECT_EQ(report.buffered, 0u) << report.summary();
  EXPECT_EQ(report.dropped, 0u) << report.summary();
  std::printf("[ info ] seed %llu\n", static_cast<unsigned long long>(seed));
}

/// A mount for one test (needs CAP_SYS_ADMIN; the test skips without it).
class Mount {
 public:
  static Mount tmpfs(const std::filesystem::path& where, const std::string& size) {
    std::filesystem::create_directories(where);
    Mount m(where);
    const std::string options = "size=" + size + ",mode=0700";
    m.ok_ = ::mount("tmpfs", where.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!m.ok_) m.error_ = std::strerror(errno);
    return m;
  }
  /// `where` bound onto itself, read-only.
  static Mount read_only(const std::filesystem::path& where) {
    Mount m(where);
    m.ok_ = ::mount(where.c_str(), where.c_str(), nullptr, MS_BIND, nullptr) == 0;
    if (m.ok_ &&
        ::mount(nullptr, where.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      m.error_ = std::strerror(errno);
      ::umount2(where.c_str(), MNT_DETACH);
      m.ok_ = false;
    } else if (!m.ok_) {
      m.error_ = std::strerror(errno);
    }
    return m;
  }
  Mount(Mount&& o) noexcept : where_(o.where_), ok_(o.ok_), error_(o.error_) { o.ok_ = false; }
  ~Mount() { release(); }
  void release() {
    if (ok_) ::umount2(where_.c_str(), MNT_DETACH);
    ok_ = false;
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  explicit Mount(std::filesystem::path where) : where_(std::move(where)) {}
  std::filesystem::path where_;
  bool ok_ = false;
  std::string error_;
};

/// Fills the file system holding `path` until write() fails.
void fill_up(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  const std::string chunk(65536, 'f');
  while (out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
  }
}

TEST(GatewayFaults, DiskFullDuringCommitsThenFreed) {
  const auto seed = fault_seed("disk-full");
  std::mt19937_64 rng(seed);
  Tally tally;
  for (int it = 0; it < iterations(1, 3); ++it) {
    ScratchDir space;
    auto mount = Mount::tmpfs(space.path() / "tmpfs", "24m");
    if (!mount.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (" << mount.error() << ")";
    RigOptions o;
    o.db_dir = (space.path() / "tmpfs").string();
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    const auto filler = space.path() / "tmpfs" / "filler";
    for (int round = 0; round < iterations(2, 5); ++round) {
      // Full while the link is down too, so the buffer has to grow.
      if (round % 2 == 1) rig.link().set_blackhole(true);
      std::this_thread::sleep_for(between(rng, 200, 800));
      fill_up(filler);
      std::this_thread::sleep_for(between(rng, 1000, 3000));
      ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
      std::filesystem::remove(filler);
      if (round % 2 == 1) rig.link().set_blackhole(false);
      ASSERT_TRUE(rig.wait_progress(100, 30s)) << rig.gateway_log();
    }
    const auto report = rig.finish();
    expect_clean_under_load(report, rig);
    EXPECT_NE(rig.gateway_log().find("work again"), std::string::npos)
        << "the disk never filled up:\n"
        << rig.gateway_log();
    tally.add(report);
    mount.release();
    if (::testing::Test::HasFailure()) break;
  }
  tally.print("disk-full", seed);
}

// The buffer's directory turns read-only while the gateway is stopped: it
// refuses to start with a clear message (exit 3, for systemd to retry), and
// once the file system is writable again every buffered reading goes out.
TEST(GatewayFaults, ReadOnlyDatabaseRefusedThenDelivered) {
  const auto seed = fault_seed("read-only");
  ScratchDir space;
  const auto db_dir = space.path() / "db";
  std::filesystem::create_directories(db_dir);
  RigOptions o;
  o.db_dir = db_dir.string();
  FaultRig rig(o);
  rig.link().set_blackhole(true);  // readings stay in the buffer
  rig.start_gateway();
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(rig.stop_gateway(), 0) << rig.gateway_log();
  const auto buffered = rig.accepted().still_buffered.size();
  ASSERT_GT(buffered, 100u);

  auto ro = Mount::read_only(db_dir);
  if (!ro.ok()) GTEST_SKIP() << "cannot make a read-only bind mount (" << ro.error() << ")";
  rig.start_gateway();
  ASSERT_TRUE(wait_until([&] { return !rig.gateway_running(); }, 20s))
      << "a gateway that cannot write its buffer must not run";
  EXPECT_EQ(rig.stop_gateway(), 3) << "run's exit status for a buffer it cannot open";
  EXPECT_NE(rig.gateway_log().find(rig.db()), std::string::npos) << rig.gateway_log();
  ro.release();

  rig.link().set_blackhole(false);
  rig.start_gateway();
  ASSERT_TRUE(rig.wait_progress(buffered, 30s)) << rig.gateway_log();
  const auto report = rig.finish();
  expect_clean_under_load(report, rig);
  Tally tally;
  tally.add(report);
  tally.print("read-only", seed);
}

// Corrupted at rest (random bytes over a random page, or the header): the
// gateway must not crash-loop. Either SQLite cannot tell (the damage is in
// row data) and the file is used, or it is moved aside and a fresh buffer
// starts. Either way it runs, publishes and stops cleanly. Readings in a
// moved file are not sent (docs/QUEUE.md), so no seq check across the damage.
TEST(GatewayFaults, CorruptedAtRestDoesNotStopTheGateway) {
  const auto seed = fault_seed("corrupt-at-rest");
  std::mt19937_64 rng(seed);
  int moved = 0, used = 0;
  for (int it = 0; it < iterations(2, 8); ++it) {
    FaultRig rig;
    rig.link().set_blackhole(true);
    rig.start_gateway();
    std::this_thread::sleep_for(between(rng, 1000, 2500));
    ASSERT_EQ(rig.stop_gateway(), 0) << rig.gateway_log();
    const auto size = std::filesystem::file_size(rig.db());
    ASSERT_GT(size, 8192u);
    {
      std::fstream f(rig.db(), std::ios::in | std::ios::out | std::ios::binary);
      const auto pages = size / 4096;
      const auto page = it % 2 == 0 ? 0 : 1 + rng() % (pages - 1);
      const auto offset = page * 4096 + (page == 0 ? 0 : rng() % 2048);
      std::string garbage(it % 2 == 0 ? 100 : 2048, '\0');
      for (auto& c : garbage) c = static_cast<char>(rng());
      f.seekp(static_cast<std::streamoff>(offset));
      f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    rig.link().set_blackhole(false);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
    EXPECT_EQ(rig.stop_gateway(), 0) << rig.gateway_log();
    bool aside = false;
    for (const auto& e : std::filesystem::directory_iterator(rig.dir())) {
      aside |= e.path().filename().string().find(".corrupt-") != std::string::npos;
    }
    (aside ? moved : used) += 1;
    if (aside) {
      EXPECT_NE(rig.gateway_log(true).find("UNUSABLE"), std::string::npos);
    }
    if (::testing::Test::HasFailure()) break;
  }
  std::printf(
      "FAULT-FIGURES scenario=corrupt-at-rest seed=%llu iterations=%d moved_aside=%d "
      "used_as_is=%d\n",
      static_cast<unsigned long long>(seed), moved + used, moved, used);
}

}  // namespace
}  // namespace fieldgate::testing
