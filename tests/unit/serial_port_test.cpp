// What a technician reads when a serial port cannot be opened for lack of
// permission: the port's group and the command that fixes it.
#include "core/serial_port.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace fieldgate::serial {
namespace {

using ::testing::HasSubstr;

TEST(SerialPortErrors, PermissionDeniedNamesThePortsGroupAndTheFix) {
  // Tests may run as root, for whom nothing is denied: the message is built
  // from the errno, as open() would report it, and the file's real group.
  const auto path =
      std::filesystem::temp_directory_path() / ("fieldgate-tty-" + std::to_string(::getpid()));
  std::ofstream(path).put('\n');
  const struct group* dialout = ::getgrnam("dialout");
  const gid_t gid = dialout != nullptr ? dialout->gr_gid : ::getegid();
  ASSERT_EQ(::chown(path.c_str(), static_cast<uid_t>(-1), gid), 0);
  const std::string group_name = ::getgrgid(gid)->gr_name;
  const std::string user = ::getpwuid(::geteuid())->pw_name;

  const std::string message = describe_open_error(path.string(), EACCES);
  EXPECT_THAT(message, HasSubstr(path.string() + ": Permission denied"));
  EXPECT_THAT(message, HasSubstr("belongs to group " + group_name));
  EXPECT_THAT(message, HasSubstr("sudo usermod -aG " + group_name + " " + user));
  std::filesystem::remove(path);
}

TEST(SerialPortErrors, ADeviceTheServiceMayNotOpenPointsAtDeviceAllow) {
  const std::string message = describe_open_error("/dev/ttyXRUSB0", EPERM);
  EXPECT_THAT(message, HasSubstr("/dev/ttyXRUSB0: Operation not permitted"));
  EXPECT_THAT(message, HasSubstr("DeviceAllow=char-"));
}

TEST(SerialPortErrors, OtherErrorsAreTheSystemsWords) {
  EXPECT_EQ(describe_open_error("/dev/ttyUSB9", ENOENT), "/dev/ttyUSB9: No such file or directory");
}

TEST(SerialPortErrors, OpenReportsAMissingPortByName) {
  SerialPort port;
  EXPECT_EQ(port.open("/nonexistent/ttyUSB0", SerialSettings{}),
            "/nonexistent/ttyUSB0: No such file or directory");
  EXPECT_FALSE(port.is_open());
}

}  // namespace
}  // namespace fieldgate::serial
