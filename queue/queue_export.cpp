// `fieldgate queue export`: JSON lines or CSV, to stdout or a file that is
// replaced only when complete.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext/stdio_filebuf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/clock.hpp"
#include "core/reading_text.hpp"
#include "queue/queue_actions.hpp"

namespace fieldgate::queue {
namespace {

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

}  // namespace

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

}  // namespace fieldgate::queue
