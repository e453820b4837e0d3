// `fieldgate queue` as an operator runs it: the real binary against buffers
// written by the real store (in this process), stopped, crashed and running.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "bridge/store.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

const std::string kBinary = FIELDGATE_BINARY;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

config::StoreConfig store_config(const std::string& path) {
  config::StoreConfig c;
  c.path = path;
  c.commit_interval = std::chrono::milliseconds(20);
  return c;
}

Reading reading(std::string device, std::string point, Value value, std::int64_t ts) {
  Reading r;
  r.device = std::move(device);
  r.point = std::move(point);
  r.value = std::move(value);
  r.unit = "V";
  r.source_ts_ms = ts;
  return r;
}

/// 20 readings, one a minute ending now: meter/voltage (doubles) and
/// meter/relay (bools) alternating for 16, then pump/serial (a string with a
/// comma and quotes) ×3 and a failed pump/flow. Seq 1 is acked and deleted,
/// so seqs 2..20 remain (19 readings: 15 meter, 4 pump).
std::string make_buffer(const ScratchDir& dir, const std::string& name = "buffer.db") {
  const auto path = (dir.path() / name).string();
  auto store = bridge::open_sqlite_store(store_config(path));
  const auto t0 = now_ms() - 19 * 60'000;
  Batch batch;
  for (int i = 0; i < 16; ++i) {
    batch.push_back(i % 2 == 0 ? reading("meter", "voltage", 230.0 + i / 4.0, t0 + i * 60'000)
                               : reading("meter", "relay", i % 4 == 1, t0 + i * 60'000));
  }
  for (int i = 16; i < 19; ++i) {
    batch.push_back(reading("pump", "serial", std::string("SN-4, \"B\""), t0 + i * 60'000));
  }
  auto failed = reading("pump", "flow", std::monostate{}, t0 + 19 * 60'000);
  failed.quality = Quality::kTimeout;
  failed.error = "no answer within 1000 ms";
  batch.push_back(failed);
  store->append(std::move(batch));
  store->flush();
  const std::vector<std::uint64_t> first{1};
  store->ack(first);
  store->flush();
  return path;
}

RunResult queue(const ScratchDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {kBinary, "queue"});
  return run_command(std::move(args), dir.path());
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Content, size and modification time: what "left untouched" means.
std::string fingerprint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + "/" + content.str();
}

TEST(QueueCliTest, StatsReportsDepthSeqsTotalsAndGroups) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  auto result = queue(dir, {"stats", "--db", db, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto j = nlohmann::json::parse(result.out);
  EXPECT_EQ(j["rows"], 19);
  EXPECT_EQ(j["first_seq"], 2);
  EXPECT_EQ(j["last_seq"], 20);
  EXPECT_EQ(j["next_seq"], 21);
  EXPECT_EQ(j["gateway_running"], false);
  EXPECT_EQ(j["dropped"]["oldest"], 0);
  EXPECT_EQ(j["purged"], 0);
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][0]["device"], "meter");
  EXPECT_EQ(j["devices"][0]["rows"], 15);
  ASSERT_EQ(j["points"].size(), 4u);  // meter/relay, meter/voltage, pump/flow, pump/serial
  EXPECT_EQ(j["points"][3]["point"], "serial");
  EXPECT_EQ(j["points"][3]["rows"], 3);
  EXPECT_GT(j["bytes"].get<int>(), 19 * 32);

  result = queue(dir, {"stats", "--db", db});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("readings   19 "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("next 21"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("grouped by device and point"), std::string::npos) << result.out;
  EXPECT_FALSE(std::filesystem::exists(db + "-wal")) << "reading a stopped buffer made a WAL";
}

TEST(QueueCliTest, LsListsOldestFirstWithFiltersAndALimit) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  auto result = queue(dir, {"ls", "--db", db});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto all = lines(result.out);
  ASSERT_EQ(all.size(), 19u);
  EXPECT_EQ(all.front().substr(0, 10), "         2");
  EXPECT_NE(all.back().find("timeout"), std::string::npos) << all.back();
  EXPECT_NE(all.front().find("relay"), std::string::npos) << all.front();
  EXPECT_NE(all[1].find("230.5 V"), std::string::npos) << all[1];

  result = queue(dir, {"ls", "--db", db, "--device", "pump", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto pump = json_lines(result.out);
  ASSERT_EQ(pump.size(), 4u);
  EXPECT_EQ(pump[0]["seq"], 17);
  EXPECT_EQ(pump[0]["value"], "SN-4, \"B\"");
  EXPECT_TRUE(pump[3]["value"].is_null());

  result = queue(dir, {"ls", "--db", db, "--limit", "3", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto three = json_lines(result.out);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2]["seq"], 4);
  EXPECT_NE(result.err.find("3 of 19"), std::string::npos) << result.err;

  // The last 4m30s: readings at now-4m … now (5 of them).
  result = queue(dir, {"ls", "--db", db, "--since", "270s", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json_lines(result.out).size(), 5u);

  result = queue(dir, {"ls", "--db", db, "--since", "last tuesday"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--since"), std::string::npos) << result.err;
}

TEST(QueueCliTest, ShowPrintsEverythingAboutOneReading) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  auto result = queue(dir, {"show", "--db", db, "20"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("quality  timeout"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("no answer within 1000 ms"), std::string::npos) << result.out;

  result = queue(dir, {"show", "--db", db, "2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto j = nlohmann::json::parse(result.out);
  EXPECT_EQ(j["seq"], 2);
  EXPECT_EQ(j["point"], "relay");
  EXPECT_EQ(j["value"], true);
  EXPECT_EQ(j["value_kind"], "bool");
  EXPECT_EQ(j["storage_class"], "integer");
  EXPECT_GT(j["size"].get<int>(), 32);

  result = queue(dir, {"show", "--db", db, "1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no reading with seq 1"), std::string::npos) << result.err;
}

TEST(QueueCliTest, ExportWritesJsonLinesAndCsv) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  auto result = queue(dir, {"export", "--db", db});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto rows = json_lines(result.out);
  ASSERT_EQ(rows.size(), 19u);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i]["seq"], i + 2);
  EXPECT_EQ(rows[0]["value"], true);
  EXPECT_EQ(rows[1]["value"], 230.5);
  EXPECT_EQ(rows[1]["unit"], "V");
  EXPECT_EQ(rows[2]["value"], false);

  result = queue(dir, {"export", "--db", db, "--format", "csv", "--point", "serial"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto csv = lines(result.out);
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0], "seq,ts,ts_ms,device,point,value,value_kind,unit,quality,error");
  EXPECT_EQ(csv[1].substr(0, 3), "17,");
  EXPECT_NE(csv[1].find(",pump,serial,\"SN-4, \"\"B\"\"\",string,V,good,"), std::string::npos)
      << csv[1];

  const auto out = (dir.path() / "export.jsonl").string();
  result = queue(dir, {"export", "--db", db, "--output", out, "--device", "meter"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("exported 15 readings"), std::string::npos) << result.err;
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(out);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(json_lines(content.str()).size(), 15u);

  result = queue(dir, {"export", "--db", db, "--output", db});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("is the buffer itself"), std::string::npos) << result.err;
}

TEST(QueueCliTest, PurgeNeedsAFilterAndYesAndCountsWhatItDeleted) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  const auto before = fingerprint(db);
  auto result = queue(dir, {"purge", "--db", db, "--yes"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("needs at least one of"), std::string::npos) << result.err;
  result = queue(dir, {"purge", "--db", db, "--device", "pump"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("would delete 4 readings"), std::string::npos) << result.err;
  EXPECT_EQ(fingerprint(db), before) << "purge without --yes changed the file";

  result = queue(dir, {"purge", "--db", db, "--device", "pump", "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("deleted 4 readings"), std::string::npos) << result.out;
  // Readings seq 2..10 are 18..10 minutes old; seq 11 is 9 minutes old.
  result = queue(dir, {"purge", "--db", db, "--before", "570s", "--yes", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto j = nlohmann::json::parse(result.out);
  EXPECT_EQ(j["deleted"], 9);
  EXPECT_EQ(j["purged_total"], 13);

  result = queue(dir, {"stats", "--db", db, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["rows"], 6);
  auto store = bridge::open_sqlite_store(store_config(db));  // and the gateway agrees
  EXPECT_EQ(store->stats().rows, 6u);
  EXPECT_EQ(store->stats().next_seq, 21u);
}

TEST(QueueCliTest, PurgeIsRefusedWhileAGatewayHasTheBufferOpen) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  auto store = bridge::open_sqlite_store(store_config(db));
  const auto result = queue(dir, {"purge", "--db", db, "--all", "--yes"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("in use by a running fieldgate"), std::string::npos) << result.err;
  store->flush();
  EXPECT_EQ(store->stats().rows, 19u);
}

TEST(QueueCliTest, WhatIsNotAFieldgateBufferIsRefusedAndLeftByteIdentical) {
  ScratchDir dir;
  const auto foreign = (dir.path() / "other.db").string();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
                 nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  const auto garbage = dir.write("garbage.db", std::string(4096, '\x7f'));
  const auto empty = dir.write("empty.db", "");
  const auto subdir = dir.path() / "subdir";  // not dir itself: the command logs go there
  std::filesystem::create_directory(subdir);
  const std::vector<std::pair<std::string, std::string>> cases{
      {foreign, "not a fieldgate buffer"},
      {garbage.string(), "not an SQLite database"},
      {empty.string(), "is empty"},
      {(dir.path() / "missing.db").string(), "no such file"},
      {subdir.string(), "not a regular file"},
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // mtime granularity
  for (const auto& [path, message] : cases) {
    const auto before = fingerprint(path);
    for (std::vector<std::string> args : {std::vector<std::string>{"stats"},
                                          {"ls"},
                                          {"show", "1"},
                                          {"export"},
                                          {"purge", "--all", "--yes"}}) {
      args.insert(args.end(), {"--db", path});
      const auto result = queue(dir, args);
      EXPECT_EQ(result.exit_code, 1) << args[0] << " " << path;
      EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
      EXPECT_TRUE(result.out.empty()) << result.out;
    }
    EXPECT_EQ(fingerprint(path), before) << path << " was modified";
    EXPECT_FALSE(std::filesystem::exists(path + "-wal")) << path;
    EXPECT_FALSE(std::filesystem::exists(path + "-shm")) << path;
  }
}

TEST(QueueCliTest, ReadsABufferWhileTheStoreKeepsAppending) {
  ScratchDir dir;
  const auto db = (dir.path() / "buffer.db").string();
  auto store = bridge::open_sqlite_store(store_config(db));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      Batch batch;
      for (int k = 0; k < 50; ++k) {
        batch.push_back(reading("meter", "p" + std::to_string(k % 5), std::int64_t{i}, now_ms()));
      }
      store->append(std::move(batch));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::int64_t last_rows = -1;
  for (int round = 0; round < 5; ++round) {
    const auto result = queue(dir, {"stats", "--db", db, "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto j = nlohmann::json::parse(result.out);
    EXPECT_EQ(j["gateway_running"], true);
    const auto rows = j["rows"].get<std::int64_t>();
    EXPECT_GE(rows, last_rows) << "nothing is acked, so the depth only grows";
    EXPECT_EQ(j["next_seq"].get<std::int64_t>(), j["last_seq"].get<std::int64_t>() + 1);
    last_rows = rows;
    const auto ls = queue(dir, {"ls", "--db", db, "--json", "--limit", "5"});
    ASSERT_EQ(ls.exit_code, 0) << ls.err;
    const auto first = json_lines(ls.out);
    if (!first.empty()) {
      EXPECT_EQ(first[0]["seq"], 1);
    }
  }
  stop = true;
  writer.join();
  store->flush();
  const auto result = queue(dir, {"export", "--db", db});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json_lines(result.out).size(), store->stats().rows);
  EXPECT_GT(store->stats().rows, 0u);
}

TEST(QueueCliTest, ReadsTheWalOfAGatewayThatWasKilled) {
  ScratchDir dir;
  const auto db = (dir.path() / "buffer.db").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = bridge::open_sqlite_store(store_config(db));
    Batch batch;
    for (int i = 0; i < 7; ++i) batch.push_back(reading("m", "p", std::int64_t{i}, now_ms()));
    store->append(std::move(batch));
    store->flush();
    ::_exit(0);  // no destructor, no checkpoint: the readings are only in the WAL
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_GT(std::filesystem::file_size(db + "-wal"), 0u);
  const auto result = queue(dir, {"stats", "--db", db, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto j = nlohmann::json::parse(result.out);
  EXPECT_EQ(j["rows"], 7);
  EXPECT_EQ(j["gateway_running"], false);
}

TEST(QueueCliTest, AnUnprivilegedUserReadsAStoppedBufferWithoutCreatingFiles) {
  if (::geteuid() != 0 || !std::filesystem::exists("/usr/bin/setpriv")) {
    GTEST_SKIP() << "needs root and setpriv to run the command as another user";
  }
  ScratchDir dir;
  const auto db = make_buffer(dir);
  std::filesystem::permissions(
      db, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
              std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  const auto result =
      run_command({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBinary,
                   "queue", "stats", "--db", db, "--json"},
                  dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["rows"], 19);
  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(db + "-shm"));
}

}  // namespace
}  // namespace fieldgate::testing
