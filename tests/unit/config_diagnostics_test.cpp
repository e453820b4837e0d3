// Diagnostics keeps where each key was read, by a hash of its key path, for
// the checks that run across tables: it must answer exactly as a map of the
// paths did — the latest record of a path, the fallback for a path never
// read — whatever the order of the records and the questions.
#include "config/diagnostics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace fieldgate::config {
namespace {

bool same(SourcePos a, SourcePos b) {
  return a.line == b.line && a.column == b.column;
}

TEST(ConfigDiagnosticsTest, PositionIsWhereTheKeyWasReadOrTheFallback) {
  Diagnostics diag("gateway.toml");
  diag.remember("devices[0].points[1].address", {12, 11});
  diag.remember("devices[0].points[1].kind", {13, 8});
  diag.remember("mqtt.topic", {4, 9});
  const SourcePos table{10, 1};
  EXPECT_TRUE(same(diag.position("devices[0].points[1].address", table), {12, 11}));
  EXPECT_TRUE(same(diag.position("devices[0].points[1].kind", table), {13, 8}));
  EXPECT_TRUE(same(diag.position("mqtt.topic", table), {4, 9}));
  // Never read: the enclosing table's position, also for a path that only
  // starts like a remembered one.
  EXPECT_TRUE(same(diag.position("devices[0].points[1].type", table), table));
  EXPECT_TRUE(same(diag.position("devices[0].points[1].address.x", table), table));
  EXPECT_TRUE(same(diag.position("", table), table));
}

TEST(ConfigDiagnosticsTest, TheLatestRecordOfAPathWinsAlsoAfterAQuestion) {
  Diagnostics diag("gateway.toml");
  diag.remember("devices[0].qos", {3, 7});
  diag.remember("devices[0].qos", {5, 7});
  EXPECT_TRUE(same(diag.position("devices[0].qos", {}), {5, 7}));
  // Records after the first question are seen by the next one.
  diag.remember("devices[0].qos", {9, 7});
  diag.remember("devices[1].qos", {20, 7});
  EXPECT_TRUE(same(diag.position("devices[0].qos", {}), {9, 7}));
  EXPECT_TRUE(same(diag.position("devices[1].qos", {}), {20, 7}));
}

TEST(ConfigDiagnosticsTest, TenThousandPointsEachAnswerTheirOwnLine) {
  Diagnostics diag("gateway.toml");
  for (int i = 0; i < 10000; ++i) {
    diag.remember(
        "devices[" + std::to_string(i / 100) + "].points[" + std::to_string(i % 100) + "].address",
        {1000 + i, 11});
  }
  for (int i = 0; i < 10000; i += 37) {
    const std::string path =
        "devices[" + std::to_string(i / 100) + "].points[" + std::to_string(i % 100) + "].address";
    ASSERT_TRUE(same(diag.position(path, {}), {1000 + i, 11})) << path;
  }
}

}  // namespace
}  // namespace fieldgate::config
