// `fieldgate run` on a buffer with hostile rows (issue 14: B7, C8, C11): the
// real binary, a real mosquitto and an independent subscriber. Rows are
// written the way another tool (or an older fieldgate) could have written
// them: straight into the SQLite file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bridge/store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error);
  const std::string text = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK) << text;
}

/// A buffer holding meter/v seq 1, then `row_sql` as seq 2 (an SQL row of
/// the readings table), then meter/v seq 3; next seq 4.
std::string buffer_with_row(const ScratchDir& dir, const std::string& row_sql) {
  const auto path = (dir.path() / "buffer.db").string();
  {
    config::StoreConfig c;
    c.path = path;
    auto store = bridge::open_sqlite_store(c);  // creates the schema
  }
  const auto ts = unix_ms();
  exec_sql(path, fmt::format("INSERT INTO readings VALUES (1, 'meter', 'v', {0}, 0, 3, 1.5, 'V', "
                             "'', 40); INSERT INTO readings VALUES {1}; INSERT INTO readings "
                             "VALUES (3, 'meter', 'v', {0}, 0, 3, 3.5, 'V', '', 40); UPDATE meta "
                             "SET value = 4 WHERE key IN ('next_seq', 'next_seq_used');",
                             ts, row_sql));
  return path;
}

/// A gateway whose only device is never reachable (its failed readings flow
/// too), publishing stats every second.
std::filesystem::path write_config(const ScratchDir& dir, const std::string& db,
                                   const std::string& broker) {
  return dir.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
status_interval = "1s"
drain_timeout = "2s"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "1s"
[[devices.points]]
name = "v"
kind = "input"
address = 0
type = "float32"
)",
                                               db, broker, free_loopback_port()));
}

std::set<std::uint64_t> reading_seqs(const Subscriber& sub) {
  std::set<std::uint64_t> out;
  for (const auto& m : sub.messages()) {
    if (m.topic.find("/status") == std::string::npos) out.insert(seq_of(m));
  }
  return out;
}

std::size_t stats_messages(const Subscriber& sub) {
  std::size_t n = 0;
  for (const auto& m : sub.messages()) n += m.topic == "fieldgate/gw/status/stats" ? 1 : 0;
  return n;
}

nlohmann::json queue_stats(const ScratchDir& dir, const std::string& db) {
  const auto result = run_command({kBinary, "queue", "stats", "--json", "--db", db}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

/// Peak resident memory of a running process (kB), from /proc.
long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// B7: before, Paho refused the topic (rc -5), the session ended and the stats
// message, with that topic in last_error, threw nlohmann's type_error 316 on
// the main thread: abort at every start, nothing behind the row delivered.
TEST(RunHostileBufferTest, ARowThatIsNotUtf8NeitherStopsTheGatewayNorBlocksTheRowsBehind) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  const auto db = buffer_with_row(
      dir, fmt::format("(2, CAST(X'6DE9746572' AS TEXT), 'v', {}, 0, 4, CAST(X'3231B043' AS "
                       "TEXT), CAST(X'B043' AS TEXT), '', 40)",
                       unix_ms()));
  Subscriber sub(broker.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "run", "-c", write_config(dir, db, broker.uri()).string()},
      dir.path());
  ASSERT_TRUE(wait_until([&] { return reading_seqs(sub).contains(3); }, 20s)) << run->stderr_text();
  EXPECT_TRUE(reading_seqs(sub).contains(1));
  EXPECT_FALSE(reading_seqs(sub).contains(2));
  const auto stats_before = stats_messages(sub);
  ASSERT_TRUE(wait_until([&] { return stats_messages(sub) >= stats_before + 2; }, 20s))
      << "the gateway stopped publishing its stats:\n"
      << run->stderr_text();
  EXPECT_EQ(run->wait_exit(10ms), -1) << "the gateway ended:\n" << run->stderr_text();
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(30s), 0) << run->stderr_text();
  const auto j = queue_stats(dir, db);
  EXPECT_EQ(j.at("dead_letters"), 1) << j.dump();
  const auto ls = run_command({kBinary, "queue", "ls", "--dead", "--db", db}, dir.path());
  EXPECT_NE(ls.out.find("m\\xE9ter"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("not valid UTF-8"), std::string::npos) << ls.out;
}

// C11: before, a 100 MB row stalled delivery for good, RSS grew to 0.4-1.2 GB
// and SIGTERM was not honoured.
TEST(RunHostileBufferTest, AHugeRowIsDeadLetteredWithoutLoadingItAndSigtermStillEndsTheGateway) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  constexpr long kRowBytes = 100L * 1000 * 1000;
  const auto db = buffer_with_row(
      dir, fmt::format("(2, 'meter', 'v', {}, 0, 4, replace(hex(zeroblob({})), '0', 'x'), 'V', "
                       "'', 40)",
                       unix_ms(), kRowBytes / 2));
  Subscriber sub(broker.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "run", "-c", write_config(dir, db, broker.uri()).string()},
      dir.path());
  ASSERT_TRUE(wait_until([&] { return reading_seqs(sub).contains(3); }, 30s)) << run->stderr_text();
  EXPECT_TRUE(reading_seqs(sub).contains(1));
  EXPECT_FALSE(reading_seqs(sub).contains(2));
  const long peak_kb = peak_rss_kb(run->pid());
  EXPECT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, kRowBytes / 1024 / 2) << "the row was loaded into memory";
  const auto stop_sent = std::chrono::steady_clock::now();
  ::kill(run->pid(), SIGTERM);
  // README (`fieldgate run`, Signals): drain_timeout (2 s here) plus about 10 s.
  EXPECT_EQ(run->wait_exit(30s), 0) << run->stderr_text();
  std::printf("100 MB row: peak RSS %ld kB; SIGTERM to exit %lld ms\n", peak_kb,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - stop_sent)
                                         .count()));
  const auto j = queue_stats(dir, db);
  EXPECT_EQ(j.at("dead_letters"), 1) << j.dump();
  EXPECT_LT(j.at("dead_bytes").get<long>(), 10'000) << "only the start of the value is kept";
  const auto show = run_command({kBinary, "queue", "show", "--db", db, "2"}, dir.path());
  EXPECT_NE(show.out.find("value is 100000000 bytes, the first 4096 kept"), std::string::npos)
      << show.out.substr(0, 2000);
}

// C8: before, every commit failed (a seq past INT64_MAX), the gateway kept
// "polling" and lost everything at stop.
TEST(RunHostileBufferTest, DamagedSeqBookkeepingRefusesToStartAndTouchesNothing) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  const auto db =
      buffer_with_row(dir, fmt::format("(2, 'meter', 'v', {}, 0, 3, 2.5, 'V', '', 40)", unix_ms()));
  exec_sql(db, "UPDATE meta SET value = 9223372036854775806 WHERE key = 'next_seq'");
  auto read_all = [&] {
    std::ifstream in(db, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const auto before = read_all();
  const auto result = run_command(
      {kBinary, "run", "-c", write_config(dir, db, broker.uri()).string()}, dir.path(), 30s);
  EXPECT_EQ(result.exit_code, 65) << result.err;
  EXPECT_NE(result.err.find("meta.next_seq is 9223372036854775806"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("left untouched"), std::string::npos) << result.err;
  EXPECT_EQ(read_all(), before) << "the buffer was modified";
  const auto j = queue_stats(dir, db);
  EXPECT_EQ(j.at("rows"), 3);
  EXPECT_NE(j.at("seq_problem").get<std::string>(), "");
}

}  // namespace
}  // namespace fieldgate::testing
