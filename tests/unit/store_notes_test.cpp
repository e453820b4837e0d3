// The drivers' notes on their devices (Store::note, the SunSpec layout) kept
// in the buffer's meta across restarts, in both store modes, bounded, and
// ignored by what reads the meta's counters.
#include <gtest/gtest.h>

#include "bridge/store_schema.hpp"
#include "queue/queue_db.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

TEST(StoreNotesTest, ANoteSurvivesARestartInBothModes) {
  for (const auto mode : {config::StoreMode::kDisk, config::StoreMode::kSpill}) {
    TempDir dir;
    const auto path = dir.file("buffer.db");
    auto config = manual_config(path);
    config.mode = mode;
    {
      auto store = open_sqlite_store(config);
      EXPECT_EQ(store->note("sunspec.layout.inv"), std::nullopt);
      store->set_note("sunspec.layout.inv", "sunspec 1 base 40000 models 1@40002+66");
      store->set_note("sunspec.layout.other", "first");
      store->set_note("sunspec.layout.other", "second");
      EXPECT_EQ(store->note("sunspec.layout.other"), "second");  // at once, before a commit
      store->flush();
    }
    auto store = open_sqlite_store(config);
    EXPECT_EQ(store->note("sunspec.layout.inv"), "sunspec 1 base 40000 models 1@40002+66");
    EXPECT_EQ(store->note("sunspec.layout.other"), "second");
    // The counters are unaffected: the text value is not read as a number.
    EXPECT_EQ(store->stats().dropped_oldest, 0U);
    store.reset();
    queue::QueueDb db(path, queue::QueueDb::Mode::kRead);
    EXPECT_EQ(db.summary().meta.notes.at("sunspec.layout.other"), "second");
  }
}

TEST(StoreNotesTest, AnOversizeNoteIsNotKept) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  store->set_note("big", std::string(schema::kMaxNoteBytes + 1, 'x'));
  EXPECT_EQ(store->note("big"), std::nullopt);
}

}  // namespace
}  // namespace fieldgate::bridge::testing
