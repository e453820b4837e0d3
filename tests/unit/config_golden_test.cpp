// Golden error cases: every tests/testcases/<case>/gateway.toml must fail to
// load with exactly the text of expected-error.txt, one
// "gateway.toml:line:col: key_path: message" line per issue.
//
// To accept new output after a deliberate message change, run with
// FIELDGATE_UPDATE_GOLDEN=1 and review the diff of expected-error.txt files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

const fs::path kCasesDir = fs::path(FIELDGATE_SOURCE_DIR) / "tests" / "testcases";

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kCasesDir, ec)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Changes the working directory for its lifetime.
class CurrentDirectory {
 public:
  explicit CurrentDirectory(const fs::path& dir) : saved_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~CurrentDirectory() { fs::current_path(saved_); }
  CurrentDirectory(const CurrentDirectory&) = delete;
  CurrentDirectory& operator=(const CurrentDirectory&) = delete;

 private:
  fs::path saved_;
};

class ConfigGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigGoldenTest, ReportsExactlyTheExpectedIssues) {
  const fs::path dir = kCasesDir / GetParam();
  const fs::path input = dir / "gateway.toml";
  const fs::path expected_file = dir / "expected-error.txt";
  ASSERT_TRUE(fs::exists(input)) << input << " is missing";

  std::string actual;
  try {
    // The file name as a user would pass it from inside the case directory,
    // and from there, so that a case's own models (model_dirs = ["models"])
    // are found and named as the user would see them.
    const CurrentDirectory in_case(dir);
    (void)fieldgate::test_support::load_config_string(read_file(input), "gateway.toml");
    actual = "(loaded without error)";
  } catch (const ConfigError& e) {
    actual = e.what();
  }
  actual += '\n';

  if (std::getenv("FIELDGATE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(expected_file, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << expected_file;
  }
  ASSERT_TRUE(fs::exists(expected_file)) << expected_file << " is missing";
  EXPECT_EQ(read_file(expected_file), actual) << "case " << GetParam();
}

// gtest names allow only letters, digits and "_".
std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = param.param;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(ConfigCases, ConfigGoldenTest, ::testing::ValuesIn(case_names()),
                         test_name);

// An empty or misplaced directory must not pass as "all cases green".
TEST(ConfigGoldenInventoryTest, HasTheCasesItShould) {
  const std::vector<std::string> names = case_names();
  EXPECT_GE(names.size(), 45u) << "cases found in " << kCasesDir;
  for (const std::string& name : names) {
    EXPECT_TRUE(fs::exists(kCasesDir / name / "expected-error.txt")) << name;
  }
}

}  // namespace
}  // namespace fieldgate::config
