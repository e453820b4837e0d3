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
#include "tests/support/json_lines.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

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
  // A dry run that did what was asked (count) succeeds: exit 0 (issue 14, E24).
  result = queue(dir, {"purge", "--db", db, "--device", "pump"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("would delete 4 readings"), std::string::npos) << result.err;
  EXPECT_EQ(fingerprint(db), before) << "purge without --yes changed the file";
  result = queue(dir, {"purge", "--db", db, "--device", "pump", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["would_delete"], 4);
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

// E15: a device's escape sequences (an OSC that retitles the terminal, a
// screen clear, an 8-bit CSI) never reach the terminal raw; JSON stays valid
// JSON with the value intact, CSV stays valid CSV.
TEST(QueueCliTest, TextAndCsvOutputEscapeADevicesTerminalSequences) {
  ScratchDir dir;
  const auto db = (dir.path() / "buffer.db").string();
  const std::string hostile =
      "\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
      "31m,\"x\"\r\nnext";
  {
    auto store = bridge::open_sqlite_store(store_config(db));
    Batch batch{reading("pump", "label", hostile, now_ms())};
    batch[0].unit = "\x1b[5m";
    auto failed = reading("pump", "flow", std::monostate{}, now_ms());
    failed.quality = Quality::kBadResponse;
    failed.error = "got \x1b[8m";
    batch.push_back(failed);
    store->append(std::move(batch));
    store->flush();
  }
  const auto raw_control = [](const std::string& text) {
    for (const char c : text) {
      const auto b = static_cast<unsigned char>(c);
      if ((b < 0x20 && c != '\n') || b == 0x7f) return true;
    }
    return text.find("\xc2\x9b") != std::string::npos;
  };
  for (std::vector<std::string> args :
       {std::vector<std::string>{"ls"}, {"show", "1"}, {"export", "--format", "csv"}}) {
    args.insert(args.end(), {"--db", db});
    const auto result = queue(dir, args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_FALSE(raw_control(result.out)) << args[0] << ": " << result.out;
    EXPECT_NE(result.out.find("\\x1B]0;pwned\\x07"), std::string::npos) << result.out;
  }
  const auto csv = queue(dir, {"export", "--db", db, "--format", "csv"});
  const auto csv_lines = lines(csv.out);
  ASSERT_EQ(csv_lines.size(), 3u) << "one header and one line per reading: " << csv.out;
  EXPECT_NE(csv_lines[1].find(",\"\\x1B]0;pwned\\x07\\x1B[2J\\u009B31m,\"\"x\"\"\\r\\nnext\","),
            std::string::npos)
      << csv_lines[1];
  const auto json = queue(dir, {"export", "--db", db});
  const auto rows = json_lines(json.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["value"], hostile) << "JSON carries the value exactly, escaped by JSON";
  EXPECT_EQ(json.out.find('\x1b'), std::string::npos) << json.out;
}

// E20: --output was opened with O_CREAT and followed a symlink into whatever
// it pointed at, and an existing file kept its mode (0666 seen).
TEST(QueueCliTest, ExportReplacesASymlinkAndWritesAPrivateFile) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  const auto victim = dir.write("victim.txt", "precious\n");
  const auto link = dir.path() / "export.jsonl";
  std::filesystem::create_symlink(victim, link);
  auto result = queue(dir, {"export", "--db", db, "--output", link.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ifstream in(victim);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "precious\n") << "the export followed the symlink";
  EXPECT_FALSE(std::filesystem::is_symlink(link));
  struct stat st {};
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto open_file = dir.write("open.csv", "old\n");
  ::chmod(open_file.c_str(), 0666);
  result = queue(dir, {"export", "--db", db, "--format", "csv", "--output", open_file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(::stat(open_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "an existing file kept its mode";
  std::ifstream csv(open_file);
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "seq,ts,ts_ms,device,point,value,value_kind,unit,quality,error");

  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  result = queue(dir, {"export", "--db", db, "--output", fifo.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("not a regular file"), std::string::npos) << result.err;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().rfind(".export", 0), std::string::npos)
        << "a temporary file was left behind: " << entry.path();
  }
}

TEST(QueueCliTest, DeadLettersAreCountedListedExportedAndPurged) {
  ScratchDir dir;
  const auto db = make_buffer(dir);
  {
    auto store = bridge::open_sqlite_store(store_config(db));
    const std::vector<bridge::DeadLetter> letters{{17, "the broker refused it"},
                                                  {18, "the topic is not valid UTF-8"}};
    store->dead_letter(letters);
    store->flush();
  }
  auto result = queue(dir, {"stats", "--db", db, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto j = nlohmann::json::parse(result.out);
  EXPECT_EQ(j["rows"], 17);
  EXPECT_EQ(j["dead_letters"], 2);
  EXPECT_EQ(j["dead_lettered"], 2);
  EXPECT_EQ(j["seq_problem"], "");
  result = queue(dir, {"stats", "--db", db});
  EXPECT_NE(result.out.find("dead       2 dead letters"), std::string::npos) << result.out;

  result = queue(dir, {"ls", "--db", db, "--device", "pump"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(lines(result.out).size(), 2u) << result.out;
  EXPECT_NE(result.err.find("2 dead letters match as well"), std::string::npos) << result.err;
  result = queue(dir, {"ls", "--db", db, "--dead"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto dead = lines(result.out);
  ASSERT_EQ(dead.size(), 2u) << result.out;
  EXPECT_NE(dead[0].find("DEAD"), std::string::npos);
  EXPECT_NE(dead[0].find("the broker refused it"), std::string::npos) << dead[0];
  result = queue(dir, {"show", "--db", db, "18"});
  EXPECT_NE(result.out.find("the topic is not valid UTF-8"), std::string::npos) << result.out;

  result = queue(dir, {"export", "--db", db, "--dead"});
  const auto exported = json_lines(result.out);
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_EQ(exported[0]["seq"], 17);
  EXPECT_EQ(exported[0]["value"], "SN-4, \"B\"");
  EXPECT_EQ(exported[1]["dead_reason"], "the topic is not valid UTF-8");
  result = queue(dir, {"export", "--db", db, "--dead", "--format", "csv"});
  EXPECT_EQ(lines(result.out).at(0),
            "seq,ts,ts_ms,device,point,value,value_kind,unit,quality,error,dead_reason,dead_ts");

  result = queue(dir, {"purge", "--db", db, "--dead", "--all", "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("deleted 2 dead letters"), std::string::npos) << result.out;
  j = nlohmann::json::parse(queue(dir, {"stats", "--db", db, "--json"}).out);
  EXPECT_EQ(j["dead_letters"], 0);
  EXPECT_EQ(j["rows"], 17) << "purging dead letters leaves the readings";
  EXPECT_EQ(j["purged"], 2);
}

}  // namespace
}  // namespace fieldgate::testing
