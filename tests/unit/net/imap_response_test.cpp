// imap_response_test.cpp: the IMAP response reader on responses captured from Dovecot,
// Gmail and Outlook-style servers.
#include "net/imap_response.hpp"

#include <gtest/gtest.h>

using namespace warmup::net;

TEST(imap_response, capabilities_from_untagged_and_greeting) {
  auto caps = parse_capabilities({
    "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] Dovecot (Debian) ready.",
    "* CAPABILITY IMAP4rev1 NAMESPACE UIDPLUS move SPECIAL-USE",
    "A002 OK Logged in"});
  EXPECT_TRUE(caps.count("AUTH=XOAUTH2"));
  EXPECT_TRUE(caps.count("MOVE"));        // upper-cased
  EXPECT_TRUE(caps.count("UIDPLUS"));
  EXPECT_FALSE(caps.count("IDLE"));
}

TEST(imap_response, list_reads_attributes_quoted_names_and_nil_delimiter) {
  auto folders = parse_list({
    R"(* LIST (\HasNoChildren \Junk) "/" Junk)",
    R"(* LIST (\HasChildren \Noselect) "/" "[Gmail]")",
    R"(* LIST (\HasNoChildren \Sent) "/" "[Gmail]/Sent Mail")",
    R"(* LIST (\HasNoChildren) "/" "Quote \"it\"")",
    R"(* LIST () NIL Flat)",
    R"(* LIST (\HasNoChildren) "/" {5})",
    "A003 OK List completed."});
  ASSERT_EQ(folders.size(), 5u);
  EXPECT_EQ(folders[0].name, "Junk");
  EXPECT_TRUE(folders[0].has("\\junk"));
  EXPECT_EQ(folders[2].name, "[Gmail]/Sent Mail");
  EXPECT_TRUE(folders[2].has("\\Sent"));
  EXPECT_EQ(folders[3].name, "Quote \"it\"");
  EXPECT_EQ(folders[4].delimiter, '\0');
}

TEST(imap_response, namespace_prefix_and_delimiter) {
  auto dovecot = parse_namespace({R"(* NAMESPACE (("" "/")) NIL NIL)"});
  ASSERT_TRUE(dovecot);
  EXPECT_EQ(dovecot->first, "");
  EXPECT_EQ(dovecot->second, '/');
  auto courier = parse_namespace({R"(* NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")))"});
  ASSERT_TRUE(courier);
  EXPECT_EQ(courier->first, "INBOX.");
  EXPECT_EQ(courier->second, '.');
  EXPECT_FALSE(parse_namespace({"A1 OK done"}));
}

TEST(imap_response, special_use_wins_over_names) {
  std::vector<imap_folder> folders{
    {"Junk", '/', {"\\HasNoChildren"}},
    {"Bulk", '/', {"\\Junk"}},
    {"Sent", '/', {}},
  };
  auto f = pick_special_folders(folders, "", '/');
  EXPECT_EQ(f.junk, "Bulk");
  EXPECT_EQ(f.sent, "Sent");    // by name: no \Sent attribute
  EXPECT_EQ(f.archive, "");
}

TEST(imap_response, name_fallbacks_gmail_outlook_and_prefix) {
  auto gmail = pick_special_folders({{"INBOX", '/', {}}, {"[Gmail]/Spam", '/', {}},
                                     {"[Gmail]/Sent Mail", '/', {}}}, "", '/');
  EXPECT_EQ(gmail.junk, "[Gmail]/Spam");
  EXPECT_EQ(gmail.sent, "[Gmail]/Sent Mail");
  auto outlook = pick_special_folders({{"Inbox", '/', {}}, {"Junk Email", '/', {}},
                                       {"Sent Items", '/', {}}, {"Archive", '/', {}}}, "", '/');
  EXPECT_EQ(outlook.junk, "Junk Email");
  EXPECT_EQ(outlook.sent, "Sent Items");
  EXPECT_EQ(outlook.archive, "Archive");
  EXPECT_EQ(outlook.inbox, "Inbox");
  auto prefixed = pick_special_folders({{"INBOX", '.', {}}, {"INBOX.spam", '.', {}}}, "INBOX.", '.');
  EXPECT_EQ(prefixed.junk, "INBOX.spam");
  EXPECT_EQ(prefixed.prefix, "INBOX.");
}

TEST(imap_response, search_results) {
  EXPECT_EQ(parse_search({"* SEARCH 3 5 12", "A4 OK Search completed"}),
            (std::vector<std::uint32_t>{3, 5, 12}));
  EXPECT_TRUE(parse_search({"* SEARCH", "A4 OK Search completed"}).empty());
}

TEST(imap_response, copyuid_after_move_maps_old_to_new_uids) {
  // Dovecot's answer to UID MOVE: COPYUID in an untagged OK
  auto c = parse_copyuid({"* OK [COPYUID 1795894904 4,7:8 10:12] Moved UIDs.", "* 1 EXPUNGE",
                          "A010 OK Move completed"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uidvalidity, 1795894904u);
  EXPECT_EQ(c->moved.at(4), 10u);
  EXPECT_EQ(c->moved.at(7), 11u);
  EXPECT_EQ(c->moved.at(8), 12u);
  // COPY: in the tagged OK
  auto tagged = parse_copyuid({"A5 OK [COPYUID 9 3 44] Copy completed."});
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->moved.at(3), 44u);
  // set sizes that differ are refused, not half-mapped
  EXPECT_FALSE(parse_copyuid({"* OK [COPYUID 9 3:4 44] odd"}));
  EXPECT_FALSE(parse_copyuid({"A5 OK Copy completed."}));
}

TEST(imap_response, uid_sets_are_bounded) {
  EXPECT_EQ(expand_uid_set("1:3,7"), (std::vector<std::uint32_t>{1, 2, 3, 7}));
  EXPECT_EQ(expand_uid_set("5:3"), (std::vector<std::uint32_t>{3, 4, 5}));
  EXPECT_TRUE(expand_uid_set("1:4294967295").empty());
  EXPECT_TRUE(expand_uid_set("1:x").empty());
  EXPECT_TRUE(expand_uid_set("").empty());
}

TEST(imap_response, appenduid_and_tagged_status) {
  EXPECT_EQ(parse_appenduid({"A015 OK [APPENDUID 1795894905 17] Append completed."}), 17u);
  EXPECT_FALSE(parse_appenduid({"A015 OK Append completed."}));
  auto s = parse_tagged({"* 0 EXISTS", "A004 NO [TRYCREATE] Mailbox doesn't exist: Warmup"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tag, "A004");
  EXPECT_EQ(s->status, "NO");
  EXPECT_EQ(s->code, "TRYCREATE");
  auto auth = parse_tagged({"A002 NO [AUTHENTICATIONFAILED] Authentication failed."});
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->code, "AUTHENTICATIONFAILED");
  EXPECT_FALSE(parse_tagged({"* OK ready"}));
}

TEST(imap_response, fetch_flags_in_any_order) {
  auto f = parse_fetch_flags({R"(* 1 FETCH (UID 7 FLAGS (\Seen \Flagged)))",
                              R"(* 2 FETCH (FLAGS () UID 9))", "A7 OK Fetch completed."});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.at(7), (std::vector<std::string>{"\\Seen", "\\Flagged"}));
  EXPECT_TRUE(f.at(9).empty());
}

TEST(imap_response, quoting_urls_and_dates) {
  EXPECT_EQ(imap_quote("Junk Email"), "\"Junk Email\"");
  EXPECT_EQ(imap_quote(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(imap_url_path("[Gmail]/Spam"), "%5BGmail%5D/Spam");
  EXPECT_EQ(imap_url_path("Junk Email"), "Junk%20Email");
  EXPECT_EQ(imap_date(0), "1-Jan-1970");
  EXPECT_EQ(imap_date(20'785), "28-Nov-2026");
  EXPECT_EQ(imap_date(11'016), "29-Feb-2000");
}
