// mailbox_table_test.cpp: the node's settings table: rows never move, and a reader on
// another thread sees a row only once it is complete, while one writer adds rows.
#include "actors/mailbox_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace warmup;

namespace {

mailbox_settings row(mailbox_id id) {
  mailbox_settings m;
  m.id = id;
  m.email = "mailbox" + std::to_string(id) + "@a-long-enough-domain.test";  // heap, not SSO
  m.provider = "gmail.sim";
  return m;
}

}  // namespace

TEST(mailbox_table, assign_add_and_gaps) {
  mailbox_table t;
  t.assign(5);
  EXPECT_EQ(t.size(), 5u);
  for (const auto& m : t)
    EXPECT_EQ(m.id, no_mailbox);
  t[3] = row(3);
  const auto* three = &t[3];
  EXPECT_EQ(t.add(row(2)), nullptr) << "ids below the table are the start-up load's";
  const auto* far = t.add(row(5000));   // several chunks further
  ASSERT_NE(far, nullptr);
  EXPECT_EQ(t.size(), 5001u);
  EXPECT_EQ(far->id, 5000u);
  EXPECT_EQ(t[4999].id, no_mailbox) << "a gap is a default row";
  EXPECT_EQ(&t[3], three) << "rows never move";
  EXPECT_EQ(t[3].email, row(3).email);
  EXPECT_EQ(t.add(row(mailbox_table::max_chunks * mailbox_table::chunk_rows)), nullptr);
}

TEST(mailbox_table, readers_see_only_complete_rows_while_one_writer_adds) {
  mailbox_table t;
  t.assign(100);
  for (mailbox_id i = 0; i < 100; ++i)
    t[i] = row(i);
  constexpr mailbox_id last = 30'000;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> checked{0}, wrong{0};
  auto reader = [&] {
    while (!done.load()) {
      auto n = t.size();
      for (std::size_t i = n > 64 ? n - 64 : 0; i < n; ++i) {
        const auto& m = t[i];
        if (m.id != i || m.email != row(static_cast<mailbox_id>(i)).email)
          ++wrong;
        ++checked;
      }
    }
  };
  std::thread r1(reader), r2(reader);
  for (mailbox_id i = 100; i <= last; ++i)
    ASSERT_NE(t.add(row(i)), nullptr);
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(t.size(), last + 1u);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(checked.load(), 0u);
}
