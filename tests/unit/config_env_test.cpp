// ${NAME} / ${NAME:-default} substitution (config/env.hpp), with a fake
// environment so the tests do not depend on the machine's.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "config/env.hpp"

namespace fieldgate::config {
namespace {

class ConfigEnvTest : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env_{
      {"HOST", "10.0.0.7"},   {"PORT", "5020"},
      {"EMPTY", ""},          {"TRICKY", "${PORT}$$"},  // a value is never expanded again
      {"_under_score1", "u"},
  };
  EnvLookup lookup_ = [this](const std::string& name) -> std::optional<std::string> {
    const auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    return it->second;
  };

  std::string ok(const std::string& text) {
    const Substituted s = substitute_env(text, lookup_);
    EXPECT_TRUE(s.ok()) << text << ": " << s.error;
    return s.text;
  }
  std::string error(const std::string& text) {
    const Substituted s = substitute_env(text, lookup_);
    EXPECT_FALSE(s.ok()) << text << " gave " << s.text;
    return s.error;
  }
};

TEST_F(ConfigEnvTest, LeavesPlainTextAlone) {
  EXPECT_EQ(ok(""), "");
  EXPECT_EQ(ok("/dev/ttyUSB0"), "/dev/ttyUSB0");
  EXPECT_FALSE(substitute_env("plain", lookup_).had_reference);
}

TEST_F(ConfigEnvTest, ReplacesSetVariables) {
  EXPECT_EQ(ok("${HOST}"), "10.0.0.7");
  EXPECT_EQ(ok("tcp://${HOST}:${PORT}/x"), "tcp://10.0.0.7:5020/x");
  EXPECT_EQ(ok("${_under_score1}"), "u");
  EXPECT_TRUE(substitute_env("${HOST}", lookup_).had_reference);
}

TEST_F(ConfigEnvTest, UsesTheDefaultWhenUnsetOrEmpty) {
  EXPECT_EQ(ok("${NOPE:-/dev/ttyUSB0}"), "/dev/ttyUSB0");
  EXPECT_EQ(ok("${PORT:-502}"), "5020");
  EXPECT_EQ(ok("${EMPTY:-fallback}"), "fallback");  // as in POSIX sh
  EXPECT_EQ(ok("${NOPE:-}"), "");
  EXPECT_EQ(ok("${NOPE:-a b:c-d}"), "a b:c-d");
  EXPECT_TRUE(substitute_env("${NOPE:-x}", lookup_).had_reference);
}

TEST_F(ConfigEnvTest, SetButEmptyWithoutDefaultIsEmpty) {
  EXPECT_EQ(ok("[${EMPTY}]"), "[]");
}

TEST_F(ConfigEnvTest, DollarDollarIsALiteralDollar) {
  EXPECT_EQ(ok("$$"), "$");
  EXPECT_EQ(ok("pa$$word"), "pa$word");
  EXPECT_EQ(ok("$${HOST}"), "${HOST}");
  EXPECT_EQ(ok("$$$${HOST}"), "$${HOST}");
  EXPECT_EQ(ok("$$${HOST}"), "$10.0.0.7");
  EXPECT_FALSE(substitute_env("$${HOST}", lookup_).had_reference);
}

TEST_F(ConfigEnvTest, DoesNothingElse) {
  // No $NAME without braces, no commands, no arithmetic, no second pass.
  EXPECT_EQ(ok("$HOST"), "$HOST");
  EXPECT_EQ(ok("$(echo hi)"), "$(echo hi)");
  EXPECT_EQ(ok("`id`"), "`id`");
  EXPECT_EQ(ok("$((1+1))"), "$((1+1))");
  EXPECT_EQ(ok("cost: 5$"), "cost: 5$");
  EXPECT_EQ(ok("${TRICKY}"), "${PORT}$$");
  EXPECT_EQ(ok("~/x"), "~/x");
}

TEST_F(ConfigEnvTest, UnsetVariableWithoutDefaultNamesTheVariable) {
  EXPECT_EQ(error("${METER_PORT}"),
            "environment variable METER_PORT is not set (write ${METER_PORT:-default} to give a "
            "default)");
  EXPECT_EQ(error("ok ${HOST} then ${MISSING}"),
            "environment variable MISSING is not set (write ${MISSING:-default} to give a "
            "default)");
}

TEST_F(ConfigEnvTest, RejectsMalformedReferences) {
  EXPECT_EQ(error("${HOST"), "unterminated \"${\" (write \"$$\" for a literal \"$\")");
  EXPECT_EQ(error("${}"),
            "invalid variable reference \"${}\" (expected ${NAME} or ${NAME:-default}, NAME of "
            "letters, digits and _)");
  EXPECT_NE(error("${1X}").find("invalid variable reference \"${1X}\""), std::string::npos);
  EXPECT_NE(error("${A-B}").find("invalid variable reference"), std::string::npos);
  EXPECT_NE(error("${A:=x}").find("invalid variable reference"), std::string::npos);
  EXPECT_NE(error("${$(id)}").find("invalid variable reference"), std::string::npos);
  EXPECT_EQ(error("${NOPE:-${HOST}}"), "nested \"${\" in the default of ${NOPE} is not supported");
}

TEST(ConfigEnvProcessTest, ReadsTheProcessEnvironment) {
  ::setenv("FIELDGATE_TEST_ENV_PROCESS", "from-env", 1);
  ::unsetenv("FIELDGATE_TEST_ENV_UNSET");
  EXPECT_EQ(process_env("FIELDGATE_TEST_ENV_PROCESS"), std::optional<std::string>("from-env"));
  EXPECT_EQ(process_env("FIELDGATE_TEST_ENV_UNSET"), std::nullopt);
  const Substituted s = substitute_env("${FIELDGATE_TEST_ENV_PROCESS}");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.text, "from-env");
  ::unsetenv("FIELDGATE_TEST_ENV_PROCESS");
}

}  // namespace
}  // namespace fieldgate::config
