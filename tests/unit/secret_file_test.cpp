// The files `fieldgate run` reads for its MQTT session (bridge/mqtt_session):
// the password file, the systemd credential and the TLS files must be regular
// files of bounded size, opened without blocking (issue 14, C9); a password
// file that its group or others can read gets a warning, as ssh gives for a
// private key, but a systemd credential does not (issue 14, D19).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>

#include "bridge/mqtt_session.hpp"

namespace fieldgate::bridge::detail {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("fieldgate-secret-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const auto p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }
  std::string fifo(const std::string& name) const {
    const auto p = (path_ / name).string();
    EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0);
    return p;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

config::GatewayConfig gateway() {
  config::GatewayConfig g;
  g.name = "gw1";
  return g;
}

// The error of make_session_settings(), or "" when it succeeds. Bounded: a
// FIFO that blocks is opened by a writer after 10 s so the test ends (and fails).
std::string settings_error(const config::MqttConfig& m, const std::string& fifo = {}) {
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      (void)make_session_settings(m, gateway());
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready && !fifo.empty()) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    ADD_FAILURE() << "reading " << fifo << " blocked";
  }
  return result.get();
}

TEST(SecretFiles, AFifoAsPasswordFileIsRefusedWithoutBlocking) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.fifo("pw");
  EXPECT_EQ(settings_error(m, m.password_file),
            "mqtt.password_file: cannot read " + m.password_file +
                ": it is a FIFO (named pipe), not a regular file");
}

TEST(SecretFiles, DevZeroAsPasswordFileIsRefused) {
  config::MqttConfig m;
  m.username = "user";
  m.password_file = "/dev/zero";
  EXPECT_EQ(settings_error(m),
            "mqtt.password_file: cannot read /dev/zero: it is a character device, not a regular "
            "file");
}

TEST(SecretFiles, APasswordFileAbove64KiBIsRefused) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("pw", std::string(64 * 1024, 'x') + "\n", 0600);
  EXPECT_THAT(settings_error(m), HasSubstr("it is larger than 64KiB"));
}

TEST(SecretFiles, AFifoAsCredentialIsRefused) {
  TempDir dir;
  const ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  const std::string fifo = dir.fifo("mqtt-password");
  config::MqttConfig m;
  m.username = "user";
  EXPECT_EQ(settings_error(m, fifo), "mqtt.password_credential: cannot read " + fifo +
                                         ": it is a FIFO (named pipe), not a regular file");
}

TEST(SecretFiles, TlsFilesMustBeRegularFiles) {
  TempDir dir;
  config::MqttConfig m;
  m.broker = "mqtts://localhost";
  m.tls_enabled = true;
  m.tls.ca_file = dir.fifo("ca.pem");
  EXPECT_EQ(settings_error(m, m.tls.ca_file),
            "mqtt.tls.ca_file: cannot read " + m.tls.ca_file +
                ": it is a FIFO (named pipe), not a regular file");
  m.tls.ca_file = dir.write("ca.pem.real", "-----BEGIN CERTIFICATE-----\n", 0644);
  m.tls.cert_file = "/dev/zero";
  m.tls.key_file = dir.write("key.pem", "k", 0600);
  EXPECT_EQ(settings_error(m),
            "mqtt.tls.cert_file: cannot read /dev/zero: it is a character device, not a regular "
            "file");
}

TEST(PasswordMode, AFileOthersCanReadGetsAWarningSayingHowToFixIt) {
  TempDir dir;
  const ScopedEnv env("CREDENTIALS_DIRECTORY", "");
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("pw", "s3cret\n", 0644);
  std::string warning;
  EXPECT_EQ(read_password(m, nullptr, &warning), "s3cret");
  EXPECT_EQ(warning, "mqtt.password_file " + m.password_file +
                         " has mode 0644: its group and others can read or change it; only its "
                         "owner should (chmod 600 " +
                         m.password_file + ")");
  // The same line reaches the log through the session settings.
  EXPECT_EQ(make_session_settings(m, gateway()).password_warning, warning);

  ASSERT_EQ(::chmod(m.password_file.c_str(), 0640), 0);
  (void)read_password(m, nullptr, &warning);
  EXPECT_THAT(warning, HasSubstr("has mode 0640: its group can read or change it"));
  ASSERT_EQ(::chmod(m.password_file.c_str(), 0602), 0);
  (void)read_password(m, nullptr, &warning);
  EXPECT_THAT(warning, HasSubstr("has mode 0602: others can read or change it"));
}

TEST(PasswordMode, OwnerOnlyModesGetNoWarning) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  for (const mode_t mode : {0600, 0400}) {
    m.password_file = dir.write("pw" + std::to_string(mode), "s3cret\n", mode);
    std::string warning = "unset";
    EXPECT_EQ(read_password(m, nullptr, &warning), "s3cret");
    EXPECT_EQ(warning, "") << std::oct << mode;
  }
}

TEST(PasswordMode, ASystemdCredentialGetsNoWarning) {
  // systemd writes a credential 0400 and gives the service's user read access
  // with an ACL entry, which stat() shows in the group bits: 0440.
  TempDir dir;
  const ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("mqtt-password", "from-systemd\n", 0440);
  std::string warning = "unset";
  EXPECT_EQ(read_password(m, nullptr, &warning), "from-systemd");
  EXPECT_EQ(warning, "");
  // Through password_credential (no password_file): not checked either.
  m.password_file.clear();
  EXPECT_EQ(read_password(m, nullptr, &warning), "from-systemd");
  EXPECT_EQ(warning, "");
}

}  // namespace
}  // namespace fieldgate::bridge::detail
