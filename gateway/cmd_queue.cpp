#include "gateway/cmd_queue.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext/stdio_filebuf.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bridge/queue_db.hpp"
#include "config/units.hpp"
#include "core/clock.hpp"
#include "gateway/reading_format.hpp"

namespace fieldgate::gateway {
namespace {

using bridge::QueueDb;
using bridge::QueueError;
using bridge::QueueFilter;
using bridge::StoredReading;

constexpr int kExitQueueOk = 0;
constexpr int kExitQueueError = 1;
constexpr long long kDefaultLsLimit = 50;


std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024ULL * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  if (n < 1024ULL * 1024 * 1024) {
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024));
  }
  return fmt::format("{:.2f} GiB", static_cast<double>(n) / (1024.0 * 1024 * 1024));
}

/// "3d 4h", "12m 5s", "800ms": the two largest units, for people.
std::string human_age(std::int64_t ms) {
  if (ms < 0) return "in the future";
  if (ms < 1000) return fmt::format("{}ms", ms);
  const std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

nlohmann::json reading_json(const StoredReading& s) {
  auto j = to_json(s.reading);
  j["seq"] = s.reading.seq;
  if (s.dead) {
    j["dead_reason"] = s.reason;
    j["dead_ts"] = iso8601(s.dead_ms);
    j["dead_ts_ms"] = s.dead_ms;
  }
  return j;
}

// RFC 4180, and safe to open in a terminal or a spreadsheet's text view:
// control characters and bytes that are not UTF-8 are escaped (printable()),
// so a field never holds a raw escape sequence; one that then holds a comma,
// a quote or a backslash escape is quoted.
std::string csv_field(std::string_view raw) {
  const std::string text = printable(raw);
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string csv_line(const StoredReading& s) {
  const auto& r = s.reading;
  const auto value =
      std::holds_alternative<std::monostate>(r.value) ? std::string() : format_value(r.value);
  auto line = fmt::format("{},{},{},{},{},{},{},{},{},{}", r.seq, iso8601(r.source_ts_ms),
                          r.source_ts_ms, csv_field(r.device), csv_field(r.point), csv_field(value),
                          bridge::schema::to_string(s.kind), csv_field(r.unit),
                          to_string(r.quality), csv_field(r.error));
  if (s.dead) line += fmt::format(",{},{}", csv_field(s.reason), iso8601(s.dead_ms));
  return line + "\n";
}
constexpr const char* kCsvHeader =
    "seq,ts,ts_ms,device,point,value,value_kind,unit,quality,error\n";
constexpr const char* kCsvDeadHeader =
    "seq,ts,ts_ms,device,point,value,value_kind,unit,quality,error,dead_reason,dead_ts\n";

QueueFilter filter_of(const QueueOptions& o, std::int64_t now_ms) {
  QueueFilter f;
  if (!o.device.empty()) f.device = o.device;
  if (!o.point.empty()) f.point = o.point;
  std::string error;
  if (!o.since.empty()) {
    f.since_ms = parse_time_arg(o.since, now_ms, error);
    if (!f.since_ms) throw QueueError("--since: " + error);
  }
  if (!o.before.empty()) {
    f.before_ms = parse_time_arg(o.before, now_ms, error);
    if (!f.before_ms) throw QueueError("--before: " + error);
  }
  if (o.limit > 0) f.limit = static_cast<std::uint64_t>(o.limit);
  f.dead = o.dead;
  return f;
}

int run_stats(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  const auto s = db.summary();
  for (const auto& note : db.notes()) fmt::print(err, "note: {}\n", note);
  if (o.json) {
    auto groups = [](const std::vector<bridge::GroupCount>& list, bool points) {
      auto arr = nlohmann::json::array();
      for (const auto& g : list) {
        nlohmann::json j{{"device", g.device},
                         {"rows", g.rows},
                         {"bytes", g.bytes},
                         {"oldest_ts_ms", g.oldest_ts_ms},
                         {"newest_ts_ms", g.newest_ts_ms}};
        if (points) j["point"] = g.point;
        arr.push_back(std::move(j));
      }
      return arr;
    };
    nlohmann::json j{
        {"path", s.path},
        {"schema_version", s.schema_version},
        {"created_ms", s.meta.created_ms},
        {"gateway_running", s.writer_active},
        {"rows", s.rows},
        {"bytes", s.bytes},
        {"file_bytes", s.file_bytes},
        {"oldest_ts_ms", s.oldest_ts_ms},
        {"newest_ts_ms", s.newest_ts_ms},
        {"first_seq", s.first_seq},
        {"last_seq", s.last_seq},
        {"next_seq", s.next_seq},
        {"reserved_upto", s.reserved_upto},
        {"dropped",
         {{"oldest", s.meta.dropped_oldest},
          {"newest", s.meta.dropped_newest},
          {"expired", s.meta.dropped_expired}}},
        {"purged", s.meta.purged},
        {"dead_letters", s.dead_letters},
        {"dead_bytes", s.dead_bytes},
        {"dead_lettered", s.meta.dead_lettered},
        {"dead_dropped", s.meta.dead_dropped},
        {"refused_oversize", s.meta.refused_oversize},
        {"seq_problem", s.seq_problem},
        {"devices", groups(s.devices, false)},
        {"points", groups(s.points, true)},
        {"notes", db.notes()},
    };
    if (s.rows > 0) {
      j["oldest_ts"] = iso8601(s.oldest_ts_ms);
      j["newest_ts"] = iso8601(s.newest_ts_ms);
    }
    out << json_line(j) << '\n';
    return kExitQueueOk;
  }
  const auto now = unix_ms_now();
  fmt::print(out, "buffer     {} (schema {}, created {})\n", s.path, s.schema_version,
             s.meta.created_ms > 0 ? iso8601(s.meta.created_ms) : "?");
  fmt::print(out, "gateway    {}\n",
             s.writer_active ? "running (has the buffer open)" : "not running");
  fmt::print(out, "readings   {} ({} accounted; {} on disk with the WAL)\n", s.rows,
             human_bytes(s.bytes), human_bytes(s.file_bytes));
  if (s.rows > 0) {
    fmt::print(out, "oldest     {} ({} ago)\n", iso8601(s.oldest_ts_ms),
               human_age(now - s.oldest_ts_ms));
    fmt::print(out, "newest     {} ({} ago)\n", iso8601(s.newest_ts_ms),
               human_age(now - s.newest_ts_ms));
    fmt::print(out, "seq        {}..{} buffered, next {}\n", s.first_seq, s.last_seq, s.next_seq);
  } else {
    fmt::print(out, "seq        next {}\n", s.next_seq);
  }
  if (s.reserved_upto != 0) {
    fmt::print(out, "           up to {} reserved{}\n", s.reserved_upto,
               s.writer_active ? " by the running gateway"
                               : " by a gateway that did not stop cleanly (never used again)");
  }
  fmt::print(out, "dropped    {} oldest evicted, {} newest refused, {} expired; {} purged\n",
             s.meta.dropped_oldest, s.meta.dropped_newest, s.meta.dropped_expired, s.meta.purged);
  fmt::print(out, "refused    {} readings larger than [mqtt] max_payload, at acquisition\n",
             s.meta.refused_oversize);
  fmt::print(out,
             "dead       {} dead letters ({}) that could not be sent{}; {} since created, {} "
             "deleted over the table's bound\n",
             s.dead_letters, human_bytes(s.dead_bytes),
             s.dead_letters > 0 ? " (queue ls --dead)" : "", s.meta.dead_lettered,
             s.meta.dead_dropped);
  if (!s.seq_problem.empty()) {
    fmt::print(out,
               "PROBLEM    {}: a gateway refuses to start on this buffer (docs/QUEUE.md, "
               "\"Damaged seq bookkeeping\")\n",
               printable(s.seq_problem));
  }
  if (s.rows == 0) return kExitQueueOk;
  std::size_t dw = 6, pw = 5;
  for (const auto& g : s.points) {
    dw = std::max(dw, g.device.size());
    pw = std::max(pw, g.point.size());
  }
  fmt::print(out, "\nby device\n");
  for (const auto& g : s.devices) {
    fmt::print(out, "  {:<{}}  {:>10}  {:>10}\n", printable(g.device), dw + pw + 2, g.rows,
               human_bytes(g.bytes));
  }
  fmt::print(out, "by point\n");
  for (const auto& g : s.points) {
    fmt::print(out, "  {:<{}}  {:<{}}  {:>10}  {:>10}\n", printable(g.device), dw,
               printable(g.point), pw, g.rows, human_bytes(g.bytes));
  }
  // Topics are not stored: the forwarder maps device/point to a topic with
  // the configuration in force when it publishes.
  fmt::print(out,
             "(grouped by device and point: topics are computed by the forwarder from the "
             "configuration when it publishes)\n");
  return kExitQueueOk;
}

int run_ls(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  for (const auto& note : db.notes()) fmt::print(err, "note: {}\n", note);
  auto filter = filter_of(o, unix_ms_now());
  if (o.limit < 0) filter.limit = kDefaultLsLimit;
  std::vector<StoredReading> rows;
  db.for_each(filter, [&](const StoredReading& s) {
    if (o.json) {
      out << json_line(reading_json(s)) << '\n';
    } else {
      rows.push_back(s);
    }
    return true;
  });
  if (!o.json) {
    std::size_t dw = 1, pw = 1;
    for (const auto& s : rows) {
      dw = std::max(dw, s.reading.device.size());
      pw = std::max(pw, s.reading.point.size());
    }
    for (const auto& s : rows) {
      fmt::print(out, "{:>10}  {}", s.reading.seq, format_reading(s.reading, dw, pw));
      if (s.dead) {
        fmt::print(out, "  DEAD {}: {}", iso8601(s.dead_ms), printable(s.reason));
      }
      fmt::print(out, "\n");
    }
  }
  if (!o.dead && db.has_dead()) {
    QueueFilter dead = filter;
    dead.dead = true;
    dead.limit.reset();
    if (const auto n = db.count(dead); n > 0) {
      fmt::print(err,
                 "{} dead letters match as well: readings that could not be sent (queue ls "
                 "--dead)\n",
                 n);
    }
  }
  if (filter.limit) {
    auto all = filter;
    all.limit.reset();
    const auto total = db.count(all);
    if (total > *filter.limit) {
      fmt::print(err, "{} of {} matching {} shown (--limit N, --limit 0 for all, or export)\n",
                 *filter.limit, total, o.dead ? "dead letters" : "readings");
    }
  }
  return kExitQueueOk;
}

int run_show(const QueueOptions& o, std::ostream& out) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  const auto found = db.find(o.seq);
  if (!found) {
    throw QueueError(fmt::format(
        "no reading with seq {} in {} (delivered, dropped, purged, or not assigned yet)", o.seq,
        o.db));
  }
  const auto& r = found->reading;
  if (o.json) {
    auto j = reading_json(*found);
    j["error"] = r.error;
    j["value_kind"] = std::string(bridge::schema::to_string(found->kind));
    j["storage_class"] = found->storage_class;
    j["size"] = found->size;
    out << json_line(j) << '\n';
    return kExitQueueOk;
  }
  fmt::print(out, "seq      {}\n", r.seq);
  fmt::print(out, "device   {}\n", printable(r.device));
  fmt::print(out, "point    {}\n", printable(r.point));
  fmt::print(out, "time     {} (ts_ms {})\n", iso8601(r.source_ts_ms), r.source_ts_ms);
  fmt::print(out, "value    {} ({}, stored as {})\n", printable(format_value(r.value)),
             bridge::schema::to_string(found->kind), found->storage_class);
  fmt::print(out, "unit     {}\n", r.unit.empty() ? "-" : printable(r.unit));
  fmt::print(out, "quality  {}\n", to_string(r.quality));
  fmt::print(out, "error    {}\n", r.error.empty() ? "-" : printable(r.error));
  fmt::print(out, "size     {} bytes (accounted)\n", found->size);
  if (found->dead) {
    fmt::print(out, "DEAD     since {}: {}\n", iso8601(found->dead_ms),
               printable(found->reason));
  }
  return kExitQueueOk;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec);
}

/// The export file, written as a private temporary file beside --output and
/// renamed over it only when complete: a symlink at --output is replaced,
/// never followed; the file is 0600 whatever an earlier one's mode was; an
/// export that fails leaves the old file (or none) instead of half a file.
class ExportFile {
 public:
  explicit ExportFile(std::string target) : target_(std::move(target)) {
    struct stat st {};
    if (::lstat(target_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      throw QueueError(fmt::format("--output {} exists and is not a regular file", target_));
    }
    const auto path = std::filesystem::path(target_);
    auto pattern = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // O_EXCL, mode 0600
    if (fd < 0) {
      throw QueueError(
          fmt::format("cannot create a file beside {}: {}", target_, std::strerror(errno)));
    }
    temp_ = pattern;
    buf_ = std::make_unique<__gnu_cxx::stdio_filebuf<char>>(fd, std::ios::out | std::ios::binary);
    stream_ = std::make_unique<std::ostream>(buf_.get());
  }
  ~ExportFile() {
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  ExportFile(const ExportFile&) = delete;
  ExportFile& operator=(const ExportFile&) = delete;

  std::ostream& stream() { return *stream_; }

  /// Flushes, closes and renames over the target; throws QueueError.
  void commit() {
    stream_->flush();
    const bool written = static_cast<bool>(*stream_) && buf_->close() != nullptr;
    if (!written) throw QueueError(fmt::format("writing {} failed", target_));
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      throw QueueError(fmt::format("cannot replace {}: {}", target_, std::strerror(errno)));
    }
    temp_.clear();
  }

 private:
  std::string target_;
  std::string temp_;  // removed unless renamed
  std::unique_ptr<__gnu_cxx::stdio_filebuf<char>> buf_;
  std::unique_ptr<std::ostream> stream_;
};

int run_export(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  const bool csv = o.format == "csv" && !o.json;
  QueueDb db(o.db, QueueDb::Mode::kRead);
  for (const auto& note : db.notes()) fmt::print(err, "note: {}\n", note);
  const auto filter = filter_of(o, unix_ms_now());
  std::unique_ptr<ExportFile> file;
  std::ostream* sink = &out;
  if (!o.output.empty()) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (same_file(o.output, o.db + suffix)) {
        throw QueueError(fmt::format("--output {} is the buffer itself", o.output));
      }
    }
    file = std::make_unique<ExportFile>(o.output);
    sink = &file->stream();
  }
  if (csv) *sink << (o.dead ? kCsvDeadHeader : kCsvHeader);
  const auto n = db.for_each(filter, [&](const StoredReading& s) {
    if (csv) {
      *sink << csv_line(s);
    } else {
      *sink << json_line(reading_json(s)) << '\n';
    }
    return static_cast<bool>(*sink);
  });
  if (file) {
    file->commit();
    fmt::print(err, "exported {} {} to {}\n", n, o.dead ? "dead letters" : "readings", o.output);
    return kExitQueueOk;
  }
  sink->flush();
  if (!*sink) throw QueueError("writing stdout failed");
  return kExitQueueOk;
}

int run_purge(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  const auto filter = filter_of(o, unix_ms_now());
  if (filter.matches_everything() && !o.all) {
    throw QueueError("purge needs at least one of --device, --point, --before or --all");
  }
  const char* what = o.dead ? "dead letters" : "readings";
  if (!o.yes) {
    // A dry run that counted is a success: exit 0 (docs/QUEUE.md).
    QueueDb db(o.db, QueueDb::Mode::kRead);
    const auto n = db.count(filter);
    if (o.json) {
      out << nlohmann::json{{"path", o.db}, {"would_delete", n}, {"dead", o.dead}}.dump() << '\n';
    }
    fmt::print(err, "purge would delete {} {} from {}; add --yes to delete them\n", n, what, o.db);
    return kExitQueueOk;
  }
  QueueDb db(o.db, QueueDb::Mode::kPurge);
  const auto deleted = db.purge(filter, o.all);
  const auto total = db.summary().meta.purged;
  if (o.json) {
    out << nlohmann::json{{"path", o.db},
                          {"deleted", deleted},
                          {"dead", o.dead},
                          {"purged_total", total}}
               .dump()
        << '\n';
  } else {
    fmt::print(out, "deleted {} {} from {} ({} purged in total)\n", deleted, what, o.db, total);
  }
  return kExitQueueOk;
}

}  // namespace

// std::chrono::parse is not in GCC 12's library; strptime() reads the date and
// time, and only the optional fraction and UTC offset are handled here.
std::optional<std::int64_t> parse_time_arg(std::string_view text, std::int64_t now_ms,
                                           std::string& error) {
  if (auto d = config::parse_duration(text)) return now_ms - d.value->count();
  const std::string s(text);
  std::tm tm{};
  const char* rest = nullptr;
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    rest = strptime(s.c_str(), format, &tm);
    if (rest != nullptr) break;
  }
  std::int64_t ms = 0;
  std::int64_t offset_min = 0;
  bool ok = rest != nullptr;
  if (ok && *rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
    }
    for (int d = digits; d < 3; ++d) ms *= 10;
    ok = digits > 0;
  }
  if (ok && (*rest == 'Z' || *rest == 'z')) {
    ++rest;
  } else if (ok && (*rest == '+' || *rest == '-')) {
    const int sign = *rest == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    int used = 0;
    ok = std::sscanf(rest + 1, "%2d:%2d%n", &hh, &mm, &used) == 2 ||
         std::sscanf(rest + 1, "%2d%2d%n", &hh, &mm, &used) == 2;
    ok = ok && hh <= 23 && mm <= 59;
    rest += 1 + used;
    offset_min = sign * (hh * 60 + mm);
  }
  if (!ok || *rest != '\0') {
    error = fmt::format(
        "expected a time such as 2026-11-25T12:00:00Z (UTC unless an offset is given) or a "
        "duration such as 2h (meaning 2h ago), got \"{}\"",
        text);
    return std::nullopt;
  }
  const auto secs = static_cast<std::int64_t>(timegm(&tm));
  return (secs - offset_min * 60) * 1000 + ms;
}

int run_queue(const QueueOptions& options, std::ostream& out, std::ostream& err) {
  try {
    if (options.action == "stats") return run_stats(options, out, err);
    if (options.action == "ls") return run_ls(options, out, err);
    if (options.action == "show") return run_show(options, out);
    if (options.action == "export") return run_export(options, out, err);
    if (options.action == "purge") return run_purge(options, out, err);
    throw QueueError("unknown queue command " + options.action);
  } catch (const std::exception& e) {
    fmt::print(err, "fieldgate queue {}: {}\n", options.action, e.what());
    return kExitQueueError;
  }
}

void add_queue_command(CLI::App& app, int& exit_code) {
  auto* queue = app.add_subcommand(
      "queue",
      "Inspect the store-and-forward buffer and its dead letters: read-only except purge, also "
      "while the gateway runs (exit 0, 1 on error)");
  queue->require_subcommand(1);
  // The callbacks own the options: they must outlive add_queue_command().
  auto options = std::make_shared<QueueOptions>();
  auto add = [&](const char* name, const char* help) {
    auto* cmd = queue->add_subcommand(name, help);
    cmd->add_option("--db", options->db, "The buffer database ([store] path)")->required();
    cmd->add_flag("--json", options->json, "Machine-readable output (JSON)");
    cmd->callback([options, &exit_code, name] {
      options->action = name;
      exit_code = run_queue(*options, std::cout, std::cerr);
    });
    return cmd;
  };
  auto add_filters = [&](CLI::App* cmd, bool since) {
    cmd->add_option("--device", options->device, "Only this device");
    cmd->add_option("--point", options->point, "Only this point");
    if (since) {
      cmd->add_option("--since", options->since,
                      "Only readings at or after TIME (ISO 8601, UTC by default) or in the last "
                      "DURATION (e.g. 2h)");
    }
    cmd->add_option("--before", options->before,
                    "Only readings before TIME, or older than DURATION (e.g. 48h)");
  };

  add("stats", "Depth, bytes, oldest/newest, next seq, dropped totals, counts per device/point");

  auto* ls = add("ls", "List buffered readings, oldest first");
  add_filters(ls, true);
  ls->add_flag("--dead", options->dead,
               "List the dead letters (readings that could not be sent) instead");
  ls->add_option("--limit", options->limit, "At most N readings (default 50, 0 = all)")
      ->check(CLI::NonNegativeNumber);

  auto* show = add("show", "Everything stored about one reading");
  show->add_option("seq", options->seq, "The reading's seq")->required();

  auto* exp = add("export", "Write buffered readings as JSON lines or CSV");
  add_filters(exp, true);
  exp->add_option("--limit", options->limit, "At most N readings (default all)")
      ->check(CLI::NonNegativeNumber);
  exp->add_option("--format", options->format, "jsonl or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();
  exp->add_option("--output", options->output,
                  "Write to FILE (a new 0600 file renamed into place) instead of stdout");
  exp->add_flag("--dead", options->dead, "Export the dead letters instead");

  auto* purge = add("purge",
                    "Delete buffered readings (gateway stopped; needs a filter or --all, and "
                    "--yes)");
  add_filters(purge, false);
  purge->add_flag("--all", options->all, "Every buffered reading");
  purge->add_flag("--yes", options->yes, "Really delete (without it, only says how many, exit 0)");
  purge->add_flag("--dead", options->dead, "Delete dead letters instead of readings");
}

}  // namespace fieldgate::gateway
