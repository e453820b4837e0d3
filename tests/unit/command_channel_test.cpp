// The command channel's result queue without a broker: bounded in count and
// bytes, and every result that does not go out is counted as dropped — when
// not connected, when the queue is full, when the session ends first.
#include "bridge/command_channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace fieldgate::bridge::detail {
namespace {

TEST(CommandChannelTest, TheResultQueueIsBoundedAndEveryDropIsCounted) {
  std::atomic<int> wakes{0};
  CommandChannel channel([&wakes] { ++wakes; });
  channel.start_session();
  for (std::size_t i = 0; i < kMaxQueuedResults + 44; ++i) {
    channel.queue_result("t/set/result", "{}", 1, true);
  }
  EXPECT_EQ(channel.result_counts().dropped, 44u) << "beyond the queue: dropped, counted";
  EXPECT_EQ(wakes, static_cast<int>(kMaxQueuedResults));
  channel.queue_result("t/set/result", "{}", 1, false);
  EXPECT_EQ(channel.result_counts().dropped, 45u) << "not connected: dropped, counted";
  // A new session starts empty: what waited is dropped, never sent late.
  channel.start_session();
  EXPECT_EQ(channel.result_counts().dropped, 45u + kMaxQueuedResults);
  EXPECT_EQ(channel.result_counts().published, 0u);
}

TEST(CommandChannelTest, TheResultQueueIsBoundedInBytes) {
  CommandChannel channel([] {});
  const std::string big(kMaxQueuedResultBytes / 4, 'x');
  for (int i = 0; i < 5; ++i) channel.queue_result("t/set/result", big, 1, true);
  EXPECT_EQ(channel.result_counts().dropped, 1u);
}

}  // namespace
}  // namespace fieldgate::bridge::detail
