#include "gateway/backoff.hpp"

#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, NoDelayWithoutFailures) {
  EXPECT_EQ(backoff_delay(0, milliseconds(500), milliseconds(60000)), milliseconds(0));
}

TEST(BackoffTest, DoublesFromTheBaseAfterEachFailure) {
  EXPECT_EQ(backoff_delay(1, milliseconds(500), milliseconds(60000)), milliseconds(500));
  EXPECT_EQ(backoff_delay(2, milliseconds(500), milliseconds(60000)), milliseconds(1000));
  EXPECT_EQ(backoff_delay(3, milliseconds(500), milliseconds(60000)), milliseconds(2000));
  EXPECT_EQ(backoff_delay(7, milliseconds(500), milliseconds(60000)), milliseconds(32000));
}

TEST(BackoffTest, IsCappedAndNeverOverflows) {
  EXPECT_EQ(backoff_delay(8, milliseconds(500), milliseconds(60000)), milliseconds(60000));
  EXPECT_EQ(backoff_delay(1'000'000, milliseconds(500), milliseconds(60000)), milliseconds(60000));
  // A base above the cap is cut to the cap.
  EXPECT_EQ(backoff_delay(1, milliseconds(90000), milliseconds(60000)), milliseconds(60000));
}

}  // namespace
}  // namespace fieldgate::gateway
