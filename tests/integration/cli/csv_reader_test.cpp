// csv_reader_test.cpp: the CSV reader behind `mailbox import` and the --for duration parser,
// tested in-process (they are part of warmup_app).
#include "app/cli_session.hpp"
#include "app/csv_reader.hpp"

#include <gtest/gtest.h>

using namespace warmup::app;

namespace {
std::vector<csv_record> read_all(std::string_view text) {
  csv_reader r(text);
  std::vector<csv_record> out;
  while (auto rec = r.next())
    out.push_back(*rec);
  return out;
}
using fields = std::vector<std::string>;
}  // namespace

TEST(csv_reader, plain_and_quoted_fields_with_line_numbers) {
  auto recs = read_all("a,b,c\n 1 , \" 2 \",3\n\"x,y\",\"say \"\"hi\"\"\",\n\"multi\nline\",z,\nlast,row,here");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].fields, (fields{"a", "b", "c"}));
  EXPECT_EQ(recs[0].line, 1u);
  EXPECT_EQ(recs[1].fields, (fields{"1", " 2 ", "3"})) << "quoted spaces are kept";
  EXPECT_EQ(recs[2].fields, (fields{"x,y", "say \"hi\"", ""}));
  EXPECT_EQ(recs[2].line, 3u);
  EXPECT_EQ(recs[3].fields, (fields{"multi\nline", "z", ""}));
  EXPECT_EQ(recs[3].line, 4u);
  EXPECT_EQ(recs[4].line, 6u) << "a quoted line break counts as a line";
  EXPECT_EQ(recs[4].fields, (fields{"last", "row", "here"}));
  for (const auto& r : recs)
    EXPECT_FALSE(r.problem);
}

TEST(csv_reader, crlf_bom_and_blank_lines) {
  auto recs = read_all("\xEF\xBB\xBF" "email\r\na@b.c\r\n\r\nd@e.f\r\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].fields, fields{"email"});
  EXPECT_EQ(recs[1].fields, fields{"a@b.c"});
  EXPECT_TRUE(recs[2].blank());
  EXPECT_EQ(recs[3].line, 4u);
  EXPECT_EQ(recs[3].fields, fields{"d@e.f"});
}

TEST(csv_reader, malformed_quotes_are_reported_and_reading_goes_on) {
  auto recs = read_all("\"ab\"cd,e\nok,1\n\"never closed,2\n");
  ASSERT_EQ(recs.size(), 3u);
  ASSERT_TRUE(recs[0].problem);
  EXPECT_NE(recs[0].problem->find("after a closing quote"), std::string::npos);
  EXPECT_FALSE(recs[1].problem);
  EXPECT_EQ(recs[1].fields, (fields{"ok", "1"}));
  ASSERT_TRUE(recs[2].problem);
  EXPECT_NE(recs[2].problem->find("not closed"), std::string::npos);
  EXPECT_EQ(recs[2].line, 3u);
}

TEST(csv_reader, reads_a_large_file_quickly) {
  std::string text = "email,name\n";
  for (int i = 0; i < 100000; ++i)
    text += "user" + std::to_string(i) + "@example.com,\"User, " + std::to_string(i) + "\"\n";
  auto recs = read_all(text);
  ASSERT_EQ(recs.size(), 100001u);
  EXPECT_EQ(recs.back().fields, (fields{"user99999@example.com", "User, 99999"}));
  EXPECT_EQ(recs.back().line, 100001u);
}

TEST(duration, units_and_combinations) {
  EXPECT_EQ(parse_duration_seconds("90s"), 90.0);
  EXPECT_EQ(parse_duration_seconds("10m"), 600.0);
  EXPECT_EQ(parse_duration_seconds("2h"), 7200.0);
  EXPECT_EQ(parse_duration_seconds("1h30m"), 5400.0);
  EXPECT_EQ(parse_duration_seconds("1d"), 86400.0);
  EXPECT_EQ(parse_duration_seconds("500ms"), 0.5);
  EXPECT_EQ(parse_duration_seconds("45"), 45.0);
  EXPECT_EQ(parse_duration_seconds("1.5m"), 90.0);
  for (const char* bad : {"", "0s", "abc", "10x", "1h30", "-5s", "m", "10 m"})
    EXPECT_FALSE(parse_duration_seconds(bad)) << bad;
}

TEST(redaction, hides_url_passwords) {
  EXPECT_EQ(redact_url("postgresql://warm:s3cret@db:5432/warmup"),
            "postgresql://warm:***@db:5432/warmup");
  EXPECT_EQ(redact_url("postgresql://db/warmup"), "postgresql://db/warmup");
  EXPECT_EQ(redact_url("postgresql://user@db/warmup"), "postgresql://user@db/warmup");
}
