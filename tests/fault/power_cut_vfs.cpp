#include "tests/fault/power_cut_vfs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace fieldgate::testing::powercut {
namespace {

struct Op {
  bool truncate = false;
  std::int64_t offset = 0;  // write offset, or the truncated size
  std::string data;
};

/// What is on the platter for one file, and what is only in the cache.
struct Tracked {
  std::string durable;
  std::vector<Op> pending;
};

void apply(std::string& image, const Op& op) {
  const auto off = static_cast<std::size_t>(op.offset);
  if (op.truncate) {
    image.resize(off);
    return;
  }
  if (image.size() < off + op.data.size()) image.resize(off + op.data.size(), '\0');
  std::memcpy(image.data() + off, op.data.data(), op.data.size());
}

std::string read_whole(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[65536];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

struct State {
  std::mutex mu;
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs vfs{};
  Mode mode = Mode::kDropUnsynced;
  std::mt19937_64 rng;
  std::map<std::string, Tracked> files;  // by path; kept after close
  std::uint64_t ops = 0;
  std::uint64_t cut_at = UINT64_MAX;
};

State& state() {
  static State s;
  return s;
}

struct File {
  sqlite3_file base;
  sqlite3_file* real;  // the unix VFS's file, allocated right after this struct
  Tracked* tracked;    // nullptr for files we do not track (temp files)
};

sqlite3_file* real_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->real;
}

[[noreturn]] void cut_locked(State& s) {
  for (auto& [path, t] : s.files) {
    std::string image = t.durable;
    if (s.mode == Mode::kPartial) {
      for (const auto& op : t.pending) {
        if (s.rng() % 2 == 0) apply(image, op);
      }
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // deleted meanwhile
    if (::ftruncate(fd, static_cast<off_t>(image.size())) != 0) ::_exit(90);
    std::size_t off = 0;
    while (off < image.size()) {
      const ssize_t w =
          ::pwrite(fd, image.data() + off, image.size() - off, static_cast<off_t>(off));
      if (w <= 0) ::_exit(91);
      off += static_cast<std::size_t>(w);
    }
    ::close(fd);
  }
  ::_exit(kPowerCutExit);
}

/// Counts one operation; the power fails before the one that reaches cut_at.
void tick_locked(State& s) {
  if (++s.ops >= s.cut_at) cut_locked(s);
}

int x_close(sqlite3_file* f) {
  auto* file = reinterpret_cast<File*>(f);
  const int rc =
      file->real->pMethods != nullptr ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
  return rc;
}

int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}

int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  auto* file = reinterpret_cast<File*>(f);
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (file->tracked != nullptr) tick_locked(s);
  const int rc = file->real->pMethods->xWrite(file->real, buf, n, off);
  if (rc == SQLITE_OK && file->tracked != nullptr) {
    file->tracked->pending.push_back(
        Op{false, off, std::string(static_cast<const char*>(buf), static_cast<std::size_t>(n))});
  }
  return rc;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* file = reinterpret_cast<File*>(f);
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (file->tracked != nullptr) tick_locked(s);
  const int rc = file->real->pMethods->xTruncate(file->real, size);
  if (rc == SQLITE_OK && file->tracked != nullptr) {
    file->tracked->pending.push_back(Op{true, size, {}});
  }
  return rc;
}

int x_sync(sqlite3_file* f, int flags) {
  auto* file = reinterpret_cast<File*>(f);
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (file->tracked != nullptr) tick_locked(s);
  const int rc = file->real->pMethods->xSync(file->real, flags);
  if (rc == SQLITE_OK && file->tracked != nullptr) {
    for (const auto& op : file->tracked->pending) apply(file->tracked->durable, op);
    file->tracked->pending.clear();
  }
  return rc;
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int x_lock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  real_of(f)->pMethods->xShmBarrier(real_of(f));
}
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return real_of(f)->pMethods->xFetch(real_of(f), off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto& s = state();
  auto* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->tracked = nullptr;
  f->pMethods = nullptr;
  const int rc = s.real->xOpen(s.real, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  f->pMethods = &kMethods;
  constexpr int kDurable = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
  if (name != nullptr && (flags & kDurable) != 0) {
    std::lock_guard lock(s.mu);
    const std::string path = name;
    auto it = s.files.find(path);
    if (it == s.files.end()) it = s.files.emplace(path, Tracked{read_whole(path), {}}).first;
    file->tracked = &it->second;
  }
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  auto& s = state();
  {
    std::lock_guard lock(s.mu);
    s.files.erase(name);  // gone is gone (a sketch: unlink is not cached here)
  }
  return s.real->xDelete(s.real, name, sync_dir);
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return state().real->xAccess(state().real, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return state().real->xFullPathname(state().real, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return state().real->xDlOpen(state().real, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* out) {
  state().real->xDlError(state().real, n, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return state().real->xDlSym(state().real, h, sym);
}
void x_dl_close(sqlite3_vfs*, void* h) {
  state().real->xDlClose(state().real, h);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return state().real->xRandomness(state().real, n, out);
}
int x_sleep(sqlite3_vfs*, int us) {
  return state().real->xSleep(state().real, us);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return state().real->xCurrentTime(state().real, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return state().real->xGetLastError(state().real, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return state().real->xCurrentTimeInt64(state().real, out);
}

}  // namespace

void install(Mode mode, std::uint64_t seed) {
  auto& s = state();
  s.real = sqlite3_vfs_find(nullptr);
  s.mode = mode;
  s.rng.seed(seed);
  s.vfs.iVersion = 2;
  s.vfs.szOsFile = static_cast<int>(sizeof(File)) + s.real->szOsFile;
  s.vfs.mxPathname = s.real->mxPathname;
  s.vfs.zName = "powercut";
  s.vfs.xOpen = x_open;
  s.vfs.xDelete = x_delete;
  s.vfs.xAccess = x_access;
  s.vfs.xFullPathname = x_full_pathname;
  s.vfs.xDlOpen = x_dl_open;
  s.vfs.xDlError = x_dl_error;
  s.vfs.xDlSym = x_dl_sym;
  s.vfs.xDlClose = x_dl_close;
  s.vfs.xRandomness = x_randomness;
  s.vfs.xSleep = x_sleep;
  s.vfs.xCurrentTime = x_current_time;
  s.vfs.xGetLastError = x_get_last_error;
  s.vfs.xCurrentTimeInt64 = x_current_time_int64;
  sqlite3_vfs_register(&s.vfs, 1);
}

void arm(std::uint64_t op) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.cut_at = op > UINT64_MAX - s.ops ? UINT64_MAX : s.ops + op;
}

std::uint64_t ops() {
  auto& s = state();
  std::lock_guard lock(s.mu);
  return s.ops;
}

void cut_now() {
  auto& s = state();
  s.mu.lock();  // never released: the process ends
  cut_locked(s);
}

}  // namespace fieldgate::testing::powercut
