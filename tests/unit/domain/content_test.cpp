// content_test.cpp: variety and cleanliness of composed warmup mail, threading over
// several turns, provider-styled Message-IDs, RFC 5322 output.
#include "warmup/content.hpp"
#include "warmup/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace warmup;

namespace {

mailbox_settings mailbox(std::string email, std::string provider, std::string name = {}) {
  mailbox_settings m;
  m.id = static_cast<mailbox_id>(stable_hash(email) & 0xFFFF);
  m.email = std::move(email);
  m.provider = std::move(provider);
  m.display_name = std::move(name);
  m.organisation = std::string(email_domain(m.email));
  return m;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr time_ms some_day = 1772532845000;  // Tue, 03 Mar 2026 10:14:05 UTC

// What a spam filter or a user rule could key on; none may ever appear. Fragments are
// matched anywhere, words only as whole words ("learn" is not "earn").
const std::vector<std::string> forbidden_fragments = {
  "warmup", "warm-up", "warm up", "warming", "$", "!!", "100%", "x-warm",
};
const std::vector<std::string> forbidden_words = {
  "free", "guarantee", "winner", "discount", "urgent", "act now", "click", "money", "cash",
  "credit", "prize", "cheap", "buy now", "limited time", "unsubscribe", "viagra", "casino",
  "loan", "bonus", "password", "verify", "offer", "deal", "earn", "income", "investment",
  "congratulations", "winning", "risk-free", "order now",
};

bool has_word(const std::string& text, const std::string& word) {
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool starts = at == 0 || !letter(text[at - 1]);
    bool ends = at + word.size() == text.size() || !letter(text[at + word.size()]);
    if (starts && ends)
      return true;
  }
  return false;
}

std::vector<std::string> header_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (;;) {
    auto end = text.find("\r\n", at);
    if (end == std::string::npos || end == at)
      break;
    out.push_back(text.substr(at, end - at));
    at = end + 2;
  }
  return out;
}

std::string header_value(const std::string& text, const std::string& name) {
  std::string value;
  bool in = false;
  for (const auto& line : header_lines(text)) {
    if (!line.empty() && line[0] == ' ') {
      if (in)
        value += line;  // unfolding keeps the leading space
      continue;
    }
    in = lower(line.substr(0, name.size() + 1)) == lower(name) + ":";
    if (in)
      value = line.substr(name.size() + 2);
  }
  return value;
}

}  // namespace

TEST(content, corpus_is_large) {
  EXPECT_GT(corpus_subject_count(), 5000u);
  EXPECT_GT(corpus_body_count(), 1000000u);
}

TEST(content, openers_vary) {
  auto a = mailbox("jane.doe@acme.example", "gmail");
  auto b = mailbox("bob@globex.example", "outlook");
  std::set<std::string> subjects, bodies;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto m = compose_opener(seed_of(42, i), a, b, some_day);
    subjects.insert(m.subject);
    bodies.insert(m.body);
  }
  EXPECT_GT(subjects.size(), 900u);
  EXPECT_EQ(bodies.size(), 1000u);
}

TEST(content, no_tags_or_sales_words_anywhere) {
  auto a = mailbox("jane.doe@acme.example", "gmail", "Jane Doe");
  auto b = mailbox("bob.smith@globex.example", "outlook", "Bob Smith");
  for (std::uint64_t i = 0; i < 3000; ++i) {
    auto m = compose_opener(seed_of(7, i), a, b, some_day);
    auto r = compose_reply(seed_of(8, i), b, m, some_day + ms_per_hour);
    for (const auto* text : {&m.subject, &m.body, &r.subject, &r.body}) {
      auto l = lower(*text);
      for (const auto& fragment : forbidden_fragments)
        ASSERT_EQ(l.find(fragment), std::string::npos) << fragment << " in: " << *text;
      for (const auto& word : forbidden_words)
        ASSERT_FALSE(has_word(l, word)) << word << " in: " << *text;
      EXPECT_EQ(text->find('['), std::string::npos) << *text;  // no [tag]
    }
    auto raw = lower(to_rfc5322(r));
    EXPECT_EQ(raw.find("x-warmup"), std::string::npos);
    EXPECT_EQ(raw.find("\r\nx-"), std::string::npos);  // no custom headers at all
  }
}

TEST(content, bodies_greet_the_recipient_and_sign_with_the_sender) {
  auto a = mailbox("jane.doe@acme.example", "gmail");  // no display name: derived
  auto b = mailbox("bob@globex.example", "outlook", "Robert Smith");
  auto m = compose_opener(1, a, b, some_day);
  EXPECT_EQ(m.from_name, "Jane Doe");
  EXPECT_EQ(m.to_name, "Robert Smith");
  EXPECT_NE(m.body.find("Robert"), std::string::npos) << m.body;
  EXPECT_TRUE(m.body.ends_with("\nJane\n")) << m.body;
  EXPECT_EQ(m.body.find('\r'), std::string::npos);
  EXPECT_EQ(m.body.find("{"), std::string::npos);  // every placeholder filled
  EXPECT_EQ(m.subject.find("{"), std::string::npos);
}

TEST(content, threading_headers_over_four_turns) {
  auto a = mailbox("ann@one.example", "gmail", "Ann Lee");
  auto b = mailbox("ben@two.example", "yahoo", "Ben Ode");
  auto c = mailbox("cat@three.example", "custom", "Cat Wu");
  auto opener = compose_opener(11, a, b, some_day);
  opener.cc = {c.email};
  EXPECT_EQ(opener.turn, 1);
  EXPECT_TRUE(opener.in_reply_to.empty());
  EXPECT_TRUE(opener.references.empty());
  EXPECT_NE(opener.thread, 0u);

  std::vector<mail_message> thread = {opener};
  for (int turn = 2; turn <= 4; ++turn) {
    const auto& parent = thread.back();
    const auto& who = parent.from == a.email ? b : a;
    thread.push_back(compose_reply(static_cast<std::uint64_t>(100 + turn), who, parent,
                                   parent.date + 3 * ms_per_hour));
  }
  for (std::size_t i = 1; i < thread.size(); ++i) {
    const auto& m = thread[i];
    const auto& parent = thread[i - 1];
    EXPECT_EQ(m.turn, static_cast<int>(i) + 1);
    EXPECT_EQ(m.thread, opener.thread);
    EXPECT_EQ(m.subject, "Re: " + opener.subject);  // once, never "Re: Re:"
    EXPECT_EQ(m.in_reply_to, parent.message_id);
    EXPECT_EQ(m.to, parent.from);
    EXPECT_EQ(m.to_name, parent.from_name);
    // References: every earlier id, oldest first.
    std::string expected;
    for (std::size_t j = 0; j < i; ++j)
      expected += (j ? " " : "") + thread[j].message_id;
    EXPECT_EQ(m.references, expected);
    // Reply-all keeps the Cc'd mailbox on the thread, never the sender itself.
    EXPECT_EQ(m.cc, std::vector<std::string>{c.email});
    // Short answer on top, then the parent's own words quoted below an attribution.
    auto quote = m.body.find(" wrote:\n");
    ASSERT_NE(quote, std::string::npos) << m.body;
    auto on = m.body.rfind("\nOn ", quote);
    ASSERT_NE(on, std::string::npos);
    EXPECT_NE(m.body.find(parent.from_name + " <" + parent.from + "> wrote:"),
              std::string::npos);
    auto first_parent_line = parent.body.substr(0, parent.body.find('\n'));
    EXPECT_NE(m.body.find("> " + first_parent_line), std::string::npos) << m.body;
    EXPECT_EQ(m.body.find(">> "), std::string::npos);  // quotes never nest
    EXPECT_LT(on, 300u);  // the answer itself is short
  }
  // Replying to a subject that already carries "RE:" does not stack prefixes.
  auto odd = opener;
  odd.subject = "RE: re: Lunch";
  EXPECT_EQ(compose_reply(5, b, odd, some_day).subject, "Re: Lunch");
}

TEST(content, rfc5322_date_format) {
  auto a = mailbox("ann@one.example", "gmail", "Ann Lee");
  auto b = mailbox("ben@two.example", "gmail", "Ben Ode");
  auto text = to_rfc5322(compose_opener(3, a, b, some_day));
  EXPECT_EQ(header_value(text, "Date"), "Tue, 03 Mar 2026 10:14:05 +0000");
  auto leap = to_rfc5322(compose_opener(3, a, b, 951782400000));  // 2000-02-29 00:00:00
  EXPECT_EQ(header_value(leap, "Date"), "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST(content, message_ids_are_styled_per_provider) {
  const std::regex gmail(R"(<CA[A-Za-z0-9+_]{40}@mail\.gmail\.com>)");
  const std::regex outlook(
    R"(<([A-Z0-9]+PR[0-9]{2}MB[0-9]{4})[0-9A-F]{28}@\1\.(NAM|EUR)PRD[0-9]{2}\.PROD\.OUTLOOK\.COM>)");
  const std::regex yahoo(R"(<[0-9]{10}\.[0-9]{13}@mail\.yahoo\.com>)");
  const std::regex generic(R"(<[0-9a-f]{16}\.[0-9a-f]{16}@acme\.example>)");
  for (std::uint64_t s = 0; s < 200; ++s) {
    EXPECT_TRUE(std::regex_match(make_message_id("gmail", "gmail.com", s), gmail));
    EXPECT_TRUE(std::regex_match(make_message_id("google", "acme.example", s), gmail));
    auto o = make_message_id("outlook", "contoso.example", s);
    EXPECT_TRUE(std::regex_match(o, outlook)) << o;
    EXPECT_TRUE(std::regex_match(make_message_id("yahoo", "yahoo.com", s), yahoo));
    EXPECT_TRUE(std::regex_match(make_message_id("custom", "acme.example", s), generic));
  }
  // An opener's id follows its sender's provider.
  auto g = compose_opener(1, mailbox("a@gmail.com", "gmail"), mailbox("b@x.example", "custom"),
                          some_day);
  EXPECT_TRUE(std::regex_match(g.message_id, gmail));
  auto y = compose_reply(2, mailbox("b@yahoo.com", "yahoo"), g, some_day);
  EXPECT_TRUE(std::regex_match(y.message_id, yahoo));
}

TEST(content, message_ids_are_unique_and_deterministic) {
  for (auto provider : {"gmail", "outlook", "yahoo", "custom"}) {
    std::set<std::string> ids;
    for (std::uint64_t s = 0; s < 20000; ++s)
      ids.insert(make_message_id(provider, "acme.example", seed_of(s, 3)));
    EXPECT_EQ(ids.size(), 20000u) << provider;
    EXPECT_EQ(make_message_id(provider, "acme.example", 77),
              make_message_id(provider, "acme.example", 77));
  }
  auto a = mailbox("ann@one.example", "gmail");
  auto b = mailbox("ben@two.example", "outlook");
  auto m1 = compose_opener(9, a, b, some_day);
  auto m2 = compose_opener(9, a, b, some_day);
  EXPECT_EQ(m1.message_id, m2.message_id);
  EXPECT_EQ(m1.subject, m2.subject);
  EXPECT_EQ(m1.body, m2.body);
  EXPECT_NE(compose_opener(10, a, b, some_day).message_id, m1.message_id);
}

TEST(content, rfc5322_text_is_well_formed) {
  auto a = mailbox("ann@one.example", "gmail", "Ann Lee");
  auto b = mailbox("ben@two.example", "outlook", "O'Brien, Ben");  // needs quoting
  auto c = mailbox("cat@three.example", "custom", "Cat Wu");
  auto m = compose_opener(21, a, b, some_day);
  m.cc = {c.email};
  mail_message last = m;
  for (int turn = 2; turn <= 4; ++turn)
    last = compose_reply(static_cast<std::uint64_t>(turn), turn % 2 ? a : b, last,
                         last.date + ms_per_hour);
  for (const auto* msg : {&m, &last}) {
    auto text = to_rfc5322(*msg);
    // CRLF everywhere: no bare LF, no bare CR.
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "bare LF at " << i;
      }
      if (text[i] == '\r') {
        ASSERT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR at " << i;
      }
    }
    EXPECT_TRUE(text.ends_with("\r\n"));
    // Headers, one blank line, then the body.
    auto blank = text.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos);
    std::set<std::string> names;
    for (const auto& line : header_lines(text)) {
      EXPECT_LE(line.size(), 998u) << line;  // a long Message-ID cannot be folded
      if (line[0] == ' ')
        continue;  // folded continuation
      auto colon = line.find(':');
      ASSERT_NE(colon, std::string::npos) << line;
      ASSERT_EQ(line[colon + 1], ' ');
      names.insert(line.substr(0, colon));
    }
    for (auto name : {"Date", "From", "To", "Cc", "Subject", "Message-ID", "MIME-Version",
                      "Content-Type", "Content-Transfer-Encoding"})
      EXPECT_TRUE(names.count(name)) << name;
    EXPECT_EQ(header_value(text, "Subject"), msg->subject);
    EXPECT_EQ(header_value(text, "Message-ID"), msg->message_id);
    EXPECT_EQ(header_value(text, "Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(header_value(text, "MIME-Version"), "1.0");
    std::string body = text.substr(blank + 4);
    std::string unix_body;
    for (char ch : body)
      if (ch != '\r')
        unix_body += ch;
    EXPECT_EQ(unix_body, msg->body);
  }
  EXPECT_EQ(header_value(to_rfc5322(m), "From"), "Ann Lee <ann@one.example>");
  auto reply = to_rfc5322(last);
  // References grows with the thread: folded between ids, within 78 columns.
  auto refs_at = reply.find("\r\nReferences: ");
  ASSERT_NE(refs_at, std::string::npos);
  auto refs_end = reply.find("\r\n", refs_at + 2);
  EXPECT_EQ(reply.substr(refs_end, 3), "\r\n ");
  EXPECT_EQ(header_value(reply, "From"), "\"O'Brien, Ben\" <ben@two.example>");
  EXPECT_EQ(header_value(reply, "In-Reply-To"), last.in_reply_to);
  EXPECT_EQ(header_value(reply, "References"), last.references);  // unfolds to the same
  EXPECT_EQ(header_value(reply, "To"), "Ann Lee <ann@one.example>");
  EXPECT_EQ(header_value(reply, "Cc"), "cat@three.example");
  EXPECT_EQ(header_value(to_rfc5322(m), "In-Reply-To"), "");
}

TEST(content, non_ascii_names_are_encoded) {
  auto a = mailbox("jose@one.example", "gmail", "Jos\xC3\xA9 Garc\xC3\xAD" "a");
  auto b = mailbox("ben@two.example", "gmail", "Ben");
  auto text = to_rfc5322(compose_opener(4, a, b, some_day));
  for (unsigned char ch : text.substr(0, text.find("\r\n\r\n")))
    ASSERT_LT(ch, 0x80) << "raw 8-bit header byte";
  EXPECT_EQ(header_value(text, "From"), "=?UTF-8?B?Sm9zw6kgR2FyY8OtYQ==?= <jose@one.example>");
  // The body signs "José": sent quoted-printable so every byte stays 7-bit.
  EXPECT_EQ(header_value(text, "Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_NE(text.find("Jos=C3=A9"), std::string::npos);
  for (unsigned char ch : text)
    ASSERT_LT(ch, 0x80);
}

// A message composed without its body (for a transport that never reads one) is the same
// message in every other field: same Message-ID, subject, threading, recipients.
TEST(content, omitting_the_body_changes_nothing_else) {
  auto a = mailbox("ann@one.example", "gmail", "Ann Lee");
  auto b = mailbox("ben@two.example", "outlook", "Ben Ode");
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    auto full = compose_opener(seed, a, b, some_day);
    auto bare = compose_opener(seed, a, b, some_day, body_text::omit);
    EXPECT_FALSE(full.body.empty());
    EXPECT_TRUE(bare.body.empty());
    full.body.clear();
    EXPECT_EQ(to_rfc5322(bare), to_rfc5322(full)) << "seed " << seed;
    auto reply_full = compose_reply(seed + 1000, b, full, some_day + ms_per_hour);
    auto reply_bare = compose_reply(seed + 1000, b, full, some_day + ms_per_hour, body_text::omit);
    EXPECT_FALSE(reply_full.body.empty());
    EXPECT_TRUE(reply_bare.body.empty());
    reply_full.body.clear();
    EXPECT_EQ(to_rfc5322(reply_bare), to_rfc5322(reply_full)) << "seed " << seed;
  }
}
