// store_contract_test.cpp: the store contract (store.hpp) as tests, run unchanged against
// every backend instantiated for store_contract (see sqlite_backend_test.cpp).
#include "store_contract.hpp"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace warmup::storage::testing {

void store_contract::SetUp() {
  location = GetParam().create_location();
  factory = [this] { return GetParam().open(location, false); };
  db_ = factory();
}

void store_contract::TearDown() {
  db_.reset();
  GetParam().destroy_location(location);
}

std::unique_ptr<store> store_contract::open_read_only() const {
  return GetParam().open(location, true);
}

std::string backend_name(const ::testing::TestParamInfo<store_backend>& info) {
  return info.param.name;
}

void PrintTo(const store_backend& backend, std::ostream* os) {
  *os << backend.name;
}

namespace {

constexpr day_number day0 = 20000;  // 2024-10-04, a Friday
constexpr time_ms day0_start = static_cast<time_ms>(day0) * ms_per_day;
constexpr time_ms far_future = time_ms{1} << 60;
const std::string node_a = "node-a";
const std::string node_b = "node-b";

mailbox_record make_mailbox(const std::string& email, const std::string& provider = "gmail",
                            mailbox_state state = mailbox_state::active) {
  mailbox_record r;
  r.settings.email = email;
  r.settings.display_name = "Test " + email;
  r.settings.provider = provider;
  r.settings.organisation = std::string(email_domain(email));
  r.settings.state = state;
  r.settings.created_day = day0;
  r.created_at = day0_start + 1234;
  r.updated_at = day0_start + 1234;
  return r;
}

// Sealed secrets are opaque bytes: NULs, every byte value, invalid UTF-8.
std::string sealed_bytes() {
  std::string bytes("\0\0sealed\0", 10);
  for (int b = 0; b < 256; ++b)
    bytes.push_back(static_cast<char>(b));
  bytes += std::string("\xff\xfe\x00\x80", 4);
  bytes.push_back('\0');
  return bytes;
}

// Every field away from its default, doubles that do not survive a decimal round trip.
mailbox_record unusual_mailbox() {
  mailbox_record r;
  auto& s = r.settings;
  s.email = "zoë.unusual@sub.example.org";
  s.display_name = "Zoë \"Q\" O'Brien, 日本";
  s.provider = "outlook";
  s.organisation = "Acme Holdings";
  s.timezone = "Pacific/Chatham";
  s.transport = transport_kind::smtp;
  s.ramp = {7, 0.1 + 0.2, 33, 1.0 / 3.0, true, 2.718281828459045};
  s.window = {7 * 60 + 13, 21 * 60 + 59, 17};
  s.engagement = {0.123456789012345678, 1e-300, 0.0, 1.0, 0.999999999999, 9};
  s.state = mailbox_state::throttled;
  s.created_day = -3;
  r.ramp_preset = "custom";
  r.ramp = {11, 56, day0 + 3, day0 - 1, health_band::throttle, true};
  r.created_at = -5;
  r.updated_at = (time_ms{1} << 52) + 1;
  auto& a = r.account;
  a.smtp = {"smtp.sub.example.org", 2525, mail_security::starttls};
  a.imap = {"imap.sub.example.org", 65535, mail_security::none};
  a.username = "zoë+login@sub.example.org";
  a.auth = auth_method::oauth2;
  a.oauth_client_id = "client-id.apps.example";
  a.token_url = "https://login.example.org/oauth2/token?x=1&y='2'";
  a.ca_file = "/etc/ssl/private ca/bundle.pem";
  a.tls_verify = false;
  r.sealed_secret = sealed_bytes();
  return r;
}

void expect_same(const mailbox_record& want, const mailbox_record& got) {
  const auto& a = want.settings;
  const auto& b = got.settings;
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.display_name, b.display_name);
  EXPECT_EQ(a.provider, b.provider);
  EXPECT_EQ(a.organisation, b.organisation);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.transport, b.transport);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.created_day, b.created_day);
  // Exact equality on purpose: the store must not round doubles.
  EXPECT_TRUE(a.ramp == b.ramp);
  EXPECT_TRUE(a.window == b.window);
  EXPECT_TRUE(a.engagement == b.engagement);
  EXPECT_EQ(want.ramp_preset, got.ramp_preset);
  EXPECT_TRUE(want.ramp == got.ramp);
  EXPECT_EQ(want.created_at, got.created_at);
  EXPECT_EQ(want.updated_at, got.updated_at);
  EXPECT_TRUE(want.account == got.account);
  EXPECT_EQ(want.account.smtp.host, got.account.smtp.host);
  EXPECT_EQ(want.account.imap.port, got.account.imap.port);
  EXPECT_EQ(want.account.username, got.account.username);
  EXPECT_EQ(want.sealed_secret.size(), got.sealed_secret.size());
  EXPECT_TRUE(want.sealed_secret == got.sealed_secret);
}

epoch_t hold_shard(store& s, shard_id shard = 0) {
  auto e = s.acquire_lease(shard, node_a, 0, far_future);
  EXPECT_TRUE(e.has_value());
  return e.value_or(0);
}

send_intent make_intent(mailbox_id m, day_number day, std::uint32_t slot, mailbox_id to,
                        time_ms planned_at) {
  send_intent in;
  in.key = {m, day, slot};
  in.to = to;
  in.message_id = "<" + to_string(in.key) + "@warmup.test>";
  in.planned_at = planned_at;
  in.recorded_at = planned_at + 7;
  return in;
}

send_outcome make_outcome(const slot_key& k, intent_status st, time_ms at,
                          std::string detail = {}) {
  send_outcome o;
  o.key = k;
  o.status = st;
  o.at = at;
  o.detail = std::move(detail);
  return o;
}

write_batch batch(epoch_t epoch, shard_id shard = 0) {
  write_batch b;
  b.shard = shard;
  b.epoch = epoch;
  return b;
}

registry_entry make_entry(const std::string& id, mailbox_id from, mailbox_id to) {
  registry_entry e;
  e.message_id = id;
  e.from = from;
  e.to = to;
  e.thread = 0xFEDCBA9876543210ull;  // above INT64_MAX: must survive signed storage
  e.turn = 3;
  e.sent_at = day0_start + 99;
  e.subject = "Re: Q3 planning — agenda";
  e.in_reply_to = "<parent@warmup.test>";
  e.references = "<root@warmup.test> <parent@warmup.test>";
  return e;
}

placement_update placed(const std::string& id, placement where, time_ms at,
                        bool rescued = false) {
  return placement_update{id, where, rescued, at};
}

// --- schema --------------------------------------------------------------------------

TEST_P(store_contract, fresh_store_is_at_latest_schema_version) {
  EXPECT_EQ(db().schema_version(), store::latest_schema_version());
  EXPECT_GE(store::latest_schema_version(), 1);
}

TEST_P(store_contract, repeated_migrate_is_a_no_op_and_keeps_data) {
  auto id = db().add_mailbox(make_mailbox("keep@a.test"));
  db().migrate();
  db().migrate();
  EXPECT_EQ(db().schema_version(), store::latest_schema_version());
  close();
  reopen();  // opening migrates again
  EXPECT_EQ(db().schema_version(), store::latest_schema_version());
  ASSERT_TRUE(db().get_mailbox(id).has_value());
  EXPECT_EQ(db().count_mailboxes({}), 1u);
}

TEST_P(store_contract, newer_schema_is_refused_with_both_versions_named) {
  int newer = store::latest_schema_version() + 1;
  close();
  GetParam().force_schema_version(location, newer);
  try {
    reopen();
    FAIL() << "opening a newer schema must throw schema_too_new";
  } catch (const schema_too_new& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(std::to_string(newer)), std::string::npos) << what;
    EXPECT_NE(what.find(std::to_string(store::latest_schema_version())), std::string::npos)
      << what;
  }
  EXPECT_THROW(open_read_only(), schema_too_new);
}

// --- mailboxes -----------------------------------------------------------------------

TEST_P(store_contract, add_assigns_distinct_ids_and_get_returns_the_record) {
  auto a = db().add_mailbox(make_mailbox("a@a.test"));
  auto b = db().add_mailbox(make_mailbox("b@a.test"));
  EXPECT_NE(a, b);
  EXPECT_NE(a, no_mailbox);
  EXPECT_NE(b, no_mailbox);
  auto got = db().get_mailbox(b);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->settings.id, b);
  expect_same(make_mailbox("b@a.test"), *got);
  EXPECT_FALSE(db().get_mailbox(b + 1000));
}

TEST_P(store_contract, every_setting_round_trips_exactly) {
  auto want = unusual_mailbox();
  want.settings.id = 777;  // ignored: the store assigns ids
  auto id = db().add_mailbox(want);
  auto got = db().get_mailbox(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->settings.id, id);
  expect_same(want, *got);
  // Defaults round-trip too (a second, default record).
  mailbox_record plain;
  plain.settings.email = "plain@a.test";
  auto id2 = db().add_mailbox(plain);
  auto got2 = db().get_mailbox(id2);
  ASSERT_TRUE(got2);
  expect_same(plain, *got2);
}

TEST_P(store_contract, accounts_and_sealed_secrets_round_trip_through_every_read) {
  auto want = unusual_mailbox();
  ASSERT_EQ(want.sealed_secret.size(), 10u + 256u + 5u);
  ASSERT_EQ(want.sealed_secret[0], '\0');
  auto id = db().add_mailbox(want);
  auto other = make_mailbox("plain@a.test");
  other.sealed_secret = std::string(1, '\0');  // a single NUL is not "no secret"
  auto id2 = db().add_mailboxes({other})[0];
  expect_same(want, *db().get_mailbox(id));
  expect_same(want, *db().find_mailbox(want.settings.email));
  auto listed = db().list_mailboxes({});
  ASSERT_EQ(listed.size(), 2u);
  expect_same(want, listed[0]);
  expect_same(other, listed[1]);
  EXPECT_EQ(db().get_mailbox(id2)->sealed_secret, std::string(1, '\0'));
  // A state change keeps both.
  ASSERT_TRUE(db().set_mailbox_state(id, mailbox_state::paused));
  auto got = db().get_mailbox(id);
  EXPECT_TRUE(got->account == want.account);
  EXPECT_EQ(got->sealed_secret, want.sealed_secret);
  // The defaults: an unconfigured account and no secret.
  auto plain = db().get_mailbox(db().add_mailbox(make_mailbox("none@a.test")));
  EXPECT_FALSE(plain->account.configured());
  EXPECT_TRUE(plain->account == mail_account{});
  EXPECT_TRUE(plain->sealed_secret.empty());
}

TEST_P(store_contract, update_replaces_what_the_user_owns_and_nothing_else) {
  auto original = make_mailbox("upd@a.test");
  auto id = db().add_mailbox(original);
  ASSERT_TRUE(db().set_mailbox_state(id, mailbox_state::throttled));
  auto changed = unusual_mailbox();          // other settings, account and secret bytes
  changed.settings.id = id;
  changed.settings.email = "someone.else@b.test";   // ignored: the email is the identity
  changed.settings.state = mailbox_state::active;   // ignored: set_mailbox_state owns it
  changed.ramp.ramp_day = 99;                        // ignored: the engine owns ramp state
  changed.updated_at = original.updated_at + 5000;
  ASSERT_TRUE(db().update_mailbox(changed));
  auto got = *db().get_mailbox(id);
  EXPECT_EQ(got.settings.email, "upd@a.test");
  EXPECT_EQ(got.settings.state, mailbox_state::throttled);
  EXPECT_EQ(got.ramp.ramp_day, original.ramp.ramp_day);
  EXPECT_EQ(got.settings.display_name, changed.settings.display_name);
  EXPECT_EQ(got.settings.timezone, changed.settings.timezone);
  EXPECT_EQ(got.settings.ramp, changed.settings.ramp);
  EXPECT_EQ(got.settings.window, changed.settings.window);
  EXPECT_EQ(got.settings.engagement, changed.settings.engagement);
  EXPECT_EQ(got.ramp_preset, changed.ramp_preset);
  EXPECT_TRUE(got.account == changed.account);
  EXPECT_EQ(got.sealed_secret, changed.sealed_secret);
  EXPECT_EQ(got.updated_at, changed.updated_at);
  changed.settings.id = id + 1000;
  EXPECT_FALSE(db().update_mailbox(changed)) << "an unknown id";
}

TEST_P(store_contract, add_mailboxes_adds_all_in_order_or_none_on_a_duplicate) {
  db().add_mailbox(make_mailbox("taken@a.test"));
  auto ids = db().add_mailboxes({make_mailbox("x1@a.test"), make_mailbox("x2@a.test"),
                                 make_mailbox("x3@b.test", "outlook")});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  EXPECT_EQ(db().get_mailbox(ids[2])->settings.email, "x3@b.test");
  EXPECT_EQ(db().get_mailbox(ids[2])->settings.provider, "outlook");
  EXPECT_THROW(db().add_mailboxes({make_mailbox("y1@a.test"), make_mailbox("TAKEN@a.test")}),
               duplicate_mailbox);
  EXPECT_FALSE(db().find_mailbox("y1@a.test"));
  EXPECT_EQ(db().count_mailboxes({}), 4u);
  EXPECT_TRUE(db().add_mailboxes({}).empty());
}

TEST_P(store_contract, find_is_case_insensitive) {
  auto id = db().add_mailbox(make_mailbox("alice@example.com"));
  for (const char* spelling : {"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.Com"}) {
    auto got = db().find_mailbox(spelling);
    ASSERT_TRUE(got) << spelling;
    EXPECT_EQ(got->settings.id, id);
    EXPECT_EQ(got->settings.email, "alice@example.com");
  }
  EXPECT_FALSE(db().find_mailbox("alice@example.co"));
  EXPECT_FALSE(db().find_mailbox(""));
}

TEST_P(store_contract, duplicate_email_in_any_case_is_refused) {
  db().add_mailbox(make_mailbox("bob@b.test"));
  EXPECT_THROW(db().add_mailbox(make_mailbox("bob@b.test")), duplicate_mailbox);
  EXPECT_THROW(db().add_mailbox(make_mailbox("BOB@B.test")), duplicate_mailbox);
  EXPECT_EQ(db().count_mailboxes({}), 1u);
  // The failed insert left the store usable.
  EXPECT_NO_THROW(db().add_mailbox(make_mailbox("carol@b.test")));
}

TEST_P(store_contract, list_and_count_filter_and_paginate) {
  // id order = insertion order; a mix of providers, domains and states.
  std::vector<mailbox_id> ids;
  ids.push_back(db().add_mailbox(make_mailbox("m0@a.test", "gmail")));
  ids.push_back(db().add_mailbox(make_mailbox("m1@b.test", "outlook")));
  ids.push_back(db().add_mailbox(make_mailbox("m2@a.test", "gmail", mailbox_state::paused)));
  ids.push_back(db().add_mailbox(make_mailbox("m3@b.test", "gmail")));
  ids.push_back(db().add_mailbox(make_mailbox("m4@a.test", "outlook", mailbox_state::paused)));
  ids.push_back(db().add_mailbox(make_mailbox("m5@a.test", "gmail")));
  ASSERT_TRUE(db().remove_mailbox(ids[5]));

  auto emails = [&](const mailbox_filter& f) {
    std::vector<std::string> out;
    for (const auto& r : db().list_mailboxes(f))
      out.push_back(r.settings.email);
    return out;
  };
  using v = std::vector<std::string>;
  EXPECT_EQ(emails({}), (v{"m0@a.test", "m1@b.test", "m2@a.test", "m3@b.test", "m4@a.test"}));
  EXPECT_EQ(db().count_mailboxes({}), 5u);

  mailbox_filter all;
  all.include_removed = true;
  EXPECT_EQ(db().list_mailboxes(all).size(), 6u);
  EXPECT_EQ(db().count_mailboxes(all), 6u);

  mailbox_filter paused;
  paused.state = mailbox_state::paused;
  EXPECT_EQ(emails(paused), (v{"m2@a.test", "m4@a.test"}));
  EXPECT_EQ(db().count_mailboxes(paused), 2u);

  mailbox_filter removed;
  removed.state = mailbox_state::removed;
  EXPECT_EQ(emails(removed), (v{"m5@a.test"}));

  mailbox_filter gmail;
  gmail.provider = "gmail";
  EXPECT_EQ(emails(gmail), (v{"m0@a.test", "m2@a.test", "m3@b.test"}));
  EXPECT_EQ(db().count_mailboxes(gmail), 3u);

  mailbox_filter domain_a;
  domain_a.domain = "a.test";
  EXPECT_EQ(emails(domain_a), (v{"m0@a.test", "m2@a.test", "m4@a.test"}));

  mailbox_filter combined;
  combined.provider = "gmail";
  combined.domain = "a.test";
  combined.state = mailbox_state::active;
  EXPECT_EQ(emails(combined), (v{"m0@a.test"}));
  EXPECT_EQ(db().count_mailboxes(combined), 1u);

  // Pages in id order; count ignores pagination.
  mailbox_filter page;
  page.limit = 2;
  EXPECT_EQ(emails(page), (v{"m0@a.test", "m1@b.test"}));
  page.offset = 2;
  EXPECT_EQ(emails(page), (v{"m2@a.test", "m3@b.test"}));
  page.offset = 4;
  EXPECT_EQ(emails(page), (v{"m4@a.test"}));
  page.offset = 10;
  EXPECT_TRUE(emails(page).empty());
  EXPECT_EQ(db().count_mailboxes(page), 5u);
  page.offset = 0;
  page.limit = 0;
  EXPECT_TRUE(emails(page).empty());

  auto listed = db().list_mailboxes({});
  for (std::size_t i = 0; i < listed.size(); ++i)
    EXPECT_EQ(listed[i].settings.id, ids[i]);
}

TEST_P(store_contract, state_changes_persist_and_unknown_ids_report_false) {
  auto id = db().add_mailbox(make_mailbox("s@a.test"));
  auto before = db().get_mailbox(id)->updated_at;
  for (auto s : {mailbox_state::paused, mailbox_state::disconnected, mailbox_state::restarting,
                 mailbox_state::throttled, mailbox_state::active}) {
    ASSERT_TRUE(db().set_mailbox_state(id, s));
    auto got = db().get_mailbox(id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->settings.state, s);
    EXPECT_GE(got->updated_at, before);
  }
  EXPECT_FALSE(db().set_mailbox_state(id + 100, mailbox_state::paused));
  EXPECT_FALSE(db().remove_mailbox(id + 100));
  // Other fields are untouched by a state change.
  auto got = db().get_mailbox(id);
  auto want = make_mailbox("s@a.test");
  got->updated_at = want.updated_at;
  expect_same(want, *got);
}

// What a running node compares every few seconds to find what the CLI or the console
// changed: every mailbox, removed ones too, in id order, with the state and updated_at its
// whole record has.
TEST_P(store_contract, mailbox_stamps_list_every_mailbox_with_state_and_change_time) {
  EXPECT_TRUE(db().mailbox_stamps().empty());
  auto a = db().add_mailbox(make_mailbox("a@stamp.test"));
  auto b = db().add_mailbox(make_mailbox("b@stamp.test"));
  auto c = db().add_mailbox(make_mailbox("c@stamp.test"));
  ASSERT_TRUE(db().set_mailbox_state(b, mailbox_state::paused));
  ASSERT_TRUE(db().remove_mailbox(c));
  auto edited = *db().get_mailbox(a);
  edited.settings.timezone = "Asia/Tokyo";
  edited.updated_at += 7777;
  ASSERT_TRUE(db().update_mailbox(edited));
  auto stamps = db().mailbox_stamps();
  ASSERT_EQ(stamps.size(), 3u);
  const mailbox_id ids[] = {a, b, c};
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    auto whole = db().get_mailbox(ids[i]);
    ASSERT_TRUE(whole);
    EXPECT_EQ(stamps[i].id, ids[i]);
    EXPECT_EQ(stamps[i].state, whole->settings.state) << ids[i];
    EXPECT_EQ(stamps[i].updated_at, whole->updated_at) << ids[i];
  }
  EXPECT_EQ(stamps[0].updated_at, edited.updated_at);
  EXPECT_EQ(stamps[1].state, mailbox_state::paused);
  EXPECT_EQ(stamps[2].state, mailbox_state::removed);
}

TEST_P(store_contract, remove_is_soft_and_hides_the_mailbox_from_default_views) {
  auto keep = db().add_mailbox(make_mailbox("keep@a.test"));
  auto gone = db().add_mailbox(make_mailbox("gone@a.test"));
  ASSERT_TRUE(db().remove_mailbox(gone));
  auto got = db().get_mailbox(gone);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->settings.state, mailbox_state::removed);
  EXPECT_TRUE(db().find_mailbox("gone@a.test"));
  auto listed = db().list_mailboxes({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].settings.id, keep);
  EXPECT_EQ(db().status(day0_start, 0).total_mailboxes, 1u);
  // The email stays taken: the history belongs to that address.
  EXPECT_THROW(db().add_mailbox(make_mailbox("gone@a.test")), duplicate_mailbox);
}

// --- leases --------------------------------------------------------------------------

TEST_P(store_contract, lease_acquire_on_a_free_shard_starts_at_epoch_one) {
  EXPECT_FALSE(db().get_lease(4));
  auto e = db().acquire_lease(4, node_a, 1000, 500);
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, 1u);
  auto l = db().get_lease(4);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->shard, 4u);
  EXPECT_EQ(l->owner, node_a);
  EXPECT_EQ(l->epoch, 1u);
  EXPECT_EQ(l->expires_at, 1500);
  EXPECT_FALSE(db().get_lease(5));  // shards are independent
}

TEST_P(store_contract, lease_held_by_another_owner_is_refused_until_it_expires) {
  ASSERT_EQ(db().acquire_lease(1, node_a, 1000, 500), epoch_t{1});
  EXPECT_FALSE(db().acquire_lease(1, node_b, 1499, 500));
  auto l = db().get_lease(1);
  EXPECT_EQ(l->owner, node_a);
  EXPECT_EQ(l->epoch, 1u);
  EXPECT_EQ(l->expires_at, 1500);
  // expires_at <= now counts as expired: the steal succeeds and bumps the epoch.
  EXPECT_EQ(db().acquire_lease(1, node_b, 1500, 500), epoch_t{2});
  l = db().get_lease(1);
  EXPECT_EQ(l->owner, node_b);
  EXPECT_EQ(l->epoch, 2u);
  EXPECT_EQ(l->expires_at, 2000);
  // The old owner can neither renew nor take it back while it is live.
  EXPECT_FALSE(db().renew_lease(1, node_a, 1, 1600, 500));
  EXPECT_FALSE(db().acquire_lease(1, node_a, 1600, 500));
}

TEST_P(store_contract, lease_reacquire_by_the_owner_increments_the_epoch) {
  EXPECT_EQ(db().acquire_lease(0, node_a, 0, 100), epoch_t{1});
  EXPECT_EQ(db().acquire_lease(0, node_a, 10, 100), epoch_t{2});  // a restart
  EXPECT_EQ(db().acquire_lease(0, node_a, 20, 100), epoch_t{3});
  EXPECT_EQ(db().get_lease(0)->expires_at, 120);
}

TEST_P(store_contract, lease_renew_needs_owner_current_epoch_and_an_unexpired_lease) {
  ASSERT_EQ(db().acquire_lease(2, node_a, 1000, 500), epoch_t{1});
  EXPECT_TRUE(db().renew_lease(2, node_a, 1, 1200, 500));
  EXPECT_EQ(db().get_lease(2)->expires_at, 1700);
  EXPECT_FALSE(db().renew_lease(2, node_b, 1, 1300, 500));   // not the owner
  EXPECT_FALSE(db().renew_lease(2, node_a, 2, 1300, 500));   // wrong epoch
  EXPECT_FALSE(db().renew_lease(3, node_a, 1, 1300, 500));   // no such lease
  EXPECT_EQ(db().get_lease(2)->expires_at, 1700);
  EXPECT_FALSE(db().renew_lease(2, node_a, 1, 1700, 500));   // expired at 1700
  EXPECT_EQ(db().get_lease(2)->epoch, 1u);
}

TEST_P(store_contract, lease_release_frees_the_shard_and_keeps_the_epoch) {
  ASSERT_EQ(db().acquire_lease(3, node_a, 1000, far_future), epoch_t{1});
  db().release_lease(3, node_b, 1);  // not the owner: no effect
  db().release_lease(3, node_a, 2);  // wrong epoch: no effect
  EXPECT_EQ(db().get_lease(3)->expires_at, 1000 + far_future);
  db().release_lease(3, node_a, 1);
  auto l = db().get_lease(3);
  EXPECT_EQ(l->expires_at, 0);
  EXPECT_EQ(l->epoch, 1u);
  EXPECT_EQ(db().acquire_lease(3, node_b, 1001, 100), epoch_t{2});
}

// --- node registry -------------------------------------------------------------------

node_info make_node(const std::string& id, std::uint64_t generation, std::uint32_t capacity = 1) {
  node_info n;
  n.id = id;
  n.address = id + ".cluster.test:4242";
  n.generation = generation;
  n.capacity = capacity;
  return n;
}

TEST_P(store_contract, nodes_register_heartbeat_and_older_generations_are_refused) {
  EXPECT_TRUE(db().list_nodes().empty());
  EXPECT_FALSE(db().heartbeat("node-b", 1));  // unknown node
  ASSERT_TRUE(db().register_node(make_node("node-b", 7, 3)));
  ASSERT_TRUE(db().register_node(make_node("node-a", 1)));
  auto nodes = db().list_nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, "node-a");  // ordered by id
  EXPECT_EQ(nodes[1].id, "node-b");
  EXPECT_EQ(nodes[1].address, "node-b.cluster.test:4242");
  EXPECT_EQ(nodes[1].generation, 7u);
  EXPECT_EQ(nodes[1].capacity, 3u);
  EXPECT_GT(nodes[1].heartbeat_at, 0);
  auto first_beat = nodes[1].heartbeat_at;

  EXPECT_TRUE(db().heartbeat("node-b", 7));
  EXPECT_FALSE(db().heartbeat("node-b", 6));  // a stale incarnation
  EXPECT_FALSE(db().heartbeat("node-b", 8));  // not registered yet
  EXPECT_GE(db().list_nodes()[1].heartbeat_at, first_beat);

  // A restart registers a higher generation, with a new address; the old one is refused.
  auto restarted = make_node("node-b", 8, 5);
  restarted.address = "10.0.0.9:4242";
  ASSERT_TRUE(db().register_node(restarted));
  EXPECT_FALSE(db().register_node(make_node("node-b", 7, 3)));
  EXPECT_FALSE(db().heartbeat("node-b", 7));
  EXPECT_TRUE(db().heartbeat("node-b", 8));
  nodes = db().list_nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1].generation, 8u);
  EXPECT_EQ(nodes[1].address, "10.0.0.9:4242");
  EXPECT_EQ(nodes[1].capacity, 5u);
  // The same generation again (a re-register after a lost reply) is accepted.
  EXPECT_TRUE(db().register_node(restarted));
  // A generation above INT64_MAX survives.
  ASSERT_TRUE(db().register_node(make_node("node-c", 0xF000000000000001ull)));
  EXPECT_EQ(db().list_nodes()[2].generation, 0xF000000000000001ull);
  EXPECT_TRUE(db().heartbeat("node-c", 0xF000000000000001ull));
}

// --- batched writes ------------------------------------------------------------------

TEST_P(store_contract, stale_or_missing_lease_rejects_the_whole_batch) {
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto peer = db().add_mailbox(make_mailbox("p@a.test"));
  auto before = db().get_mailbox(m);

  auto full = [&](epoch_t epoch, shard_id shard) {
    auto b = batch(epoch, shard);
    b.intents.push_back(make_intent(m, day0, 0, peer, day0_start));
    b.outcomes.push_back(make_outcome({m, day0, 0}, intent_status::sent, day0_start + 5));
    b.registry.push_back(make_entry("<x@warmup.test>", m, peer));
    b.placements.push_back(placed("<x@warmup.test>", placement::inbox, day0_start + 9));
    b.stats.push_back({m, day_stats{day0, 1, 1}});
    b.ramps.push_back({m, ramp_state{5, 75}, mailbox_state::throttled});
    b.plans.push_back({m, day0, 4, {day0_start + 1, day0_start + 2}});
    return b;
  };
  auto expect_nothing_written = [&] {
    EXPECT_TRUE(db().intents(m, day0 - 1, day0 + 1).empty());
    EXPECT_TRUE(db().pending_intents().empty());
    EXPECT_FALSE(db().find_message("<x@warmup.test>"));
    EXPECT_TRUE(db().stats(m, day0 - 1, day0 + 1).empty());
    EXPECT_FALSE(db().plan(m, day0));
    auto now = db().get_mailbox(m);
    EXPECT_EQ(now->settings.state, mailbox_state::active);
    EXPECT_TRUE(now->ramp == before->ramp);
    EXPECT_EQ(db().status(day0_start + ms_per_hour, 0).inbox_today, 0u);
  };

  // No lease row at all: writers must hold a lease.
  auto r = db().apply(full(1, 9));
  EXPECT_TRUE(r.stale_epoch);
  expect_nothing_written();

  // A lease taken over: epoch 1 is stale once node_b holds epoch 2.
  ASSERT_EQ(db().acquire_lease(9, node_a, 0, 100), epoch_t{1});
  ASSERT_EQ(db().acquire_lease(9, node_b, 100, 100), epoch_t{2});
  r = db().apply(full(1, 9));
  EXPECT_TRUE(r.stale_epoch);
  expect_nothing_written();
  // A future epoch is just as wrong.
  EXPECT_TRUE(db().apply(full(3, 9)).stale_epoch);
  expect_nothing_written();

  // The current epoch goes through, everything at once.
  r = db().apply(full(2, 9));
  EXPECT_FALSE(r.stale_epoch);
  ASSERT_EQ(r.intent_inserted.size(), 1u);
  EXPECT_TRUE(r.intent_inserted[0]);
  EXPECT_EQ(db().intents(m, day0, day0).size(), 1u);
  EXPECT_TRUE(db().find_message("<x@warmup.test>"));
  EXPECT_EQ(db().stats(m, day0, day0).size(), 1u);
  EXPECT_TRUE(db().plan(m, day0));
  EXPECT_EQ(db().get_mailbox(m)->settings.state, mailbox_state::throttled);
}

TEST_P(store_contract, apply_many_fences_each_batch_on_its_own) {
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  ASSERT_EQ(db().acquire_lease(0, node_a, 0, far_future), epoch_t{1});
  ASSERT_EQ(db().acquire_lease(1, node_a, 0, 100), epoch_t{1});
  ASSERT_EQ(db().acquire_lease(1, node_b, 100, far_future), epoch_t{2});  // 1 is stale

  std::vector<write_batch> batches(3);
  batches[0] = batch(1, 0);
  batches[0].intents.push_back(make_intent(m, day0, 0, to, day0_start));
  batches[0].stats.push_back({m, day_stats{day0, 1}});
  batches[1] = batch(1, 1);  // stale: nothing of it may land
  batches[1].intents.push_back(make_intent(m, day0, 1, to, day0_start));
  batches[1].stats.push_back({m, day_stats{day0, 10}});
  batches[1].plans.push_back({m, day0, 9, {day0_start}});
  batches[2] = batch(1, 0);
  batches[2].intents.push_back(make_intent(m, day0, 0, to, day0_start));  // dup of [0]
  batches[2].intents.push_back(make_intent(m, day0, 2, to, day0_start));
  batches[2].stats.push_back({m, day_stats{day0, 100}});

  auto results = db().apply_many(batches);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0].stale_epoch);
  EXPECT_TRUE(results[1].stale_epoch);
  EXPECT_FALSE(results[2].stale_epoch);
  EXPECT_EQ(results[0].intent_inserted, std::vector<bool>{true});
  EXPECT_EQ(results[2].intent_inserted, (std::vector<bool>{false, true}));

  auto rows = db().intents(m, day0, day0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].intent.key.slot, 0u);
  EXPECT_EQ(rows[1].intent.key.slot, 2u);
  auto st = db().stats(m, day0, day0);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].planned, 101u);
  EXPECT_FALSE(db().plan(m, day0));
  EXPECT_TRUE(db().apply_many({}).empty());
}

TEST_P(store_contract, empty_batch_with_the_current_epoch_is_accepted) {
  auto e = hold_shard(db());
  auto r = db().apply(batch(e));
  EXPECT_FALSE(r.stale_epoch);
  EXPECT_TRUE(r.intent_inserted.empty());
  EXPECT_TRUE(batch(e).empty());
  auto b = batch(e);
  b.plans.push_back({});
  EXPECT_FALSE(b.empty());
}

TEST_P(store_contract, an_intent_key_is_inserted_once) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));

  auto first = batch(e);
  first.intents.push_back(make_intent(m, day0, 0, to, day0_start + 100));
  first.intents.push_back(make_intent(m, day0, 1, to, day0_start + 200));
  auto dup = make_intent(m, day0, 1, to, day0_start + 999);
  dup.message_id = "<other@warmup.test>";
  first.intents.push_back(dup);  // same key inside the same batch
  auto r = db().apply(first);
  ASSERT_FALSE(r.stale_epoch);
  EXPECT_EQ(r.intent_inserted, (std::vector<bool>{true, true, false}));

  auto again = batch(e);
  again.intents.push_back(dup);                                         // exists
  again.intents.push_back(make_intent(m, day0, 2, to, day0_start + 300));  // new
  again.intents.push_back(make_intent(m, day0 + 1, 0, to, day0_start));    // new (day)
  r = db().apply(again);
  EXPECT_EQ(r.intent_inserted, (std::vector<bool>{false, true, true}));

  auto rows = db().intents(m, day0, day0);
  ASSERT_EQ(rows.size(), 3u);
  // The first write wins: the duplicate changed nothing.
  EXPECT_EQ(rows[1].intent.key, (slot_key{m, day0, 1}));
  EXPECT_EQ(rows[1].intent.message_id, make_intent(m, day0, 1, to, 0).message_id);
  EXPECT_EQ(rows[1].intent.planned_at, day0_start + 200);
  EXPECT_EQ(rows[1].intent.recorded_at, day0_start + 207);
  EXPECT_EQ(rows[1].intent.to, to);
  EXPECT_FALSE(rows[1].outcome);
}

TEST_P(store_contract, outcomes_complete_intents_and_leave_the_rest_pending) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  auto b = batch(e);
  for (std::uint32_t slot = 0; slot < 5; ++slot)
    b.intents.push_back(make_intent(m, day0, slot, to, day0_start + slot));
  b.intents.push_back(make_intent(m, day0, reply_slot_base, to, day0_start + 50));
  // An outcome in the same batch as its intent.
  b.outcomes.push_back(make_outcome({m, day0, 0}, intent_status::sent, day0_start + 10));
  ASSERT_FALSE(db().apply(b).stale_epoch);

  auto later = batch(e);
  later.outcomes.push_back(
    make_outcome({m, day0, 1}, intent_status::failed, day0_start + 11, "421 try later"));
  later.outcomes.push_back(
    make_outcome({m, day0, 2}, intent_status::bounced, day0_start + 12, "550 no such user"));
  later.outcomes.push_back(make_outcome({m, day0, 3}, intent_status::skipped, day0_start + 13));
  // An outcome for an unknown key changes nothing.
  later.outcomes.push_back(make_outcome({m, day0, 77}, intent_status::sent, day0_start + 14));
  ASSERT_FALSE(db().apply(later).stale_epoch);

  auto rows = db().intents(m, day0, day0);
  ASSERT_EQ(rows.size(), 6u);
  auto expect_outcome = [&](std::size_t i, intent_status st, time_ms at, const char* detail) {
    ASSERT_TRUE(rows[i].outcome) << i;
    EXPECT_EQ(rows[i].outcome->key, rows[i].intent.key);
    EXPECT_EQ(rows[i].outcome->status, st);
    EXPECT_EQ(rows[i].outcome->at, at);
    EXPECT_EQ(rows[i].outcome->detail, detail);
  };
  expect_outcome(0, intent_status::sent, day0_start + 10, "");
  expect_outcome(1, intent_status::failed, day0_start + 11, "421 try later");
  expect_outcome(2, intent_status::bounced, day0_start + 12, "550 no such user");
  expect_outcome(3, intent_status::skipped, day0_start + 13, "");
  EXPECT_FALSE(rows[4].outcome);
  EXPECT_EQ(rows[5].intent.key.slot, reply_slot_base);
  EXPECT_FALSE(rows[5].outcome);

  auto pending = db().pending_intents();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, (slot_key{m, day0, 4}));
  EXPECT_EQ(pending[1].key, (slot_key{m, day0, reply_slot_base}));
  EXPECT_EQ(pending[0].message_id, make_intent(m, day0, 4, to, 0).message_id);
  EXPECT_EQ(pending[0].to, to);
  EXPECT_EQ(pending[0].planned_at, day0_start + 4);
  EXPECT_EQ(pending[0].recorded_at, day0_start + 11);

  // Reconciling after a crash: pending becomes skipped, nothing stays pending.
  auto reconcile = batch(e);
  for (const auto& p : pending)
    reconcile.outcomes.push_back(make_outcome(p.key, intent_status::skipped, day0_start + 99));
  ASSERT_FALSE(db().apply(reconcile).stale_epoch);
  EXPECT_TRUE(db().pending_intents().empty());
}

TEST_P(store_contract, intents_query_is_per_mailbox_and_day_range_inclusive) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto other = db().add_mailbox(make_mailbox("o@a.test"));
  auto b = batch(e);
  for (day_number d = day0 - 2; d <= day0 + 2; ++d) {
    b.intents.push_back(make_intent(m, d, 0, other, 0));
    b.intents.push_back(make_intent(other, d, 0, m, 0));
  }
  ASSERT_FALSE(db().apply(b).stale_epoch);
  auto rows = db().intents(m, day0 - 1, day0 + 1);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].intent.key.day, day0 - 1);
  EXPECT_EQ(rows[2].intent.key.day, day0 + 1);
  for (const auto& r : rows)
    EXPECT_EQ(r.intent.key.mailbox, m);
  EXPECT_EQ(db().pending_intents().size(), 10u);
}

TEST_P(store_contract, stats_deltas_accumulate_per_mailbox_and_day) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto other = db().add_mailbox(make_mailbox("o@a.test"));
  day_stats one{day0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  day_stats two{day0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  auto b = batch(e);
  b.stats.push_back({m, one});
  b.stats.push_back({m, two});  // twice in one batch adds too
  b.stats.push_back({other, one});
  b.stats.push_back({m, day_stats{day0 + 1, 0, 1}});
  ASSERT_FALSE(db().apply(b).stale_epoch);
  auto b2 = batch(e);
  b2.stats.push_back({m, one});
  ASSERT_FALSE(db().apply(b2).stale_epoch);

  auto rows = db().stats(m, day0, day0 + 1);
  ASSERT_EQ(rows.size(), 2u);
  day_stats want{day0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120};
  EXPECT_TRUE(rows[0] == want);
  EXPECT_TRUE(rows[1] == (day_stats{day0 + 1, 0, 1}));
  auto o = db().stats(other, day0, day0);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_TRUE(o[0] == one);
  EXPECT_TRUE(db().stats(m, day0 + 2, day0 + 9).empty());
  EXPECT_EQ(db().stats(m, day0 + 1, day0 + 1).size(), 1u);
}

TEST_P(store_contract, plans_round_trip_and_a_new_plan_replaces_the_old) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  plan_record p{m, day0, 7, {day0_start + 28'800'123, day0_start + 30'000'456, -1,
                             (time_ms{1} << 62) + 5}};
  auto b = batch(e);
  b.plans.push_back(p);
  b.plans.push_back({m, day0 + 1, 0, {}});
  ASSERT_FALSE(db().apply(b).stale_epoch);
  auto got = db().plan(m, day0);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->mailbox, m);
  EXPECT_EQ(got->day, day0);
  EXPECT_EQ(got->target, 7);
  EXPECT_EQ(got->slot_times, p.slot_times);
  auto empty = db().plan(m, day0 + 1);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->target, 0);
  EXPECT_TRUE(empty->slot_times.empty());
  EXPECT_FALSE(db().plan(m, day0 + 2));

  auto replan = batch(e);
  replan.plans.push_back({m, day0, 2, {day0_start + 1}});
  ASSERT_FALSE(db().apply(replan).stale_epoch);
  got = db().plan(m, day0);
  EXPECT_EQ(got->target, 2);
  EXPECT_EQ(got->slot_times, (std::vector<time_ms>{day0_start + 1}));
}

TEST_P(store_contract, registry_keeps_the_first_entry_and_placements_update_it) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  auto entry = make_entry("<abc@warmup.test>", m, to);
  auto b = batch(e);
  b.registry.push_back(entry);
  auto clash = make_entry("<abc@warmup.test>", to, m);
  clash.subject = "something else";
  b.registry.push_back(clash);
  ASSERT_FALSE(db().apply(b).stale_epoch);

  auto got = db().find_message("<abc@warmup.test>");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->message_id, entry.message_id);
  EXPECT_EQ(got->from, m);
  EXPECT_EQ(got->to, to);
  EXPECT_EQ(got->thread, entry.thread);
  EXPECT_EQ(got->turn, 3);
  EXPECT_EQ(got->sent_at, entry.sent_at);
  EXPECT_EQ(got->subject, entry.subject);
  EXPECT_EQ(got->in_reply_to, entry.in_reply_to);
  EXPECT_EQ(got->references, entry.references);
  EXPECT_FALSE(db().find_message("<ABC@warmup.test>"));  // Message-IDs are exact

  auto p = batch(e);
  p.placements.push_back(placed("<abc@warmup.test>", placement::spam, day0_start + 50, true));
  p.placements.push_back(placed("<unknown@warmup.test>", placement::inbox, day0_start + 51));
  ASSERT_FALSE(db().apply(p).stale_epoch);
  auto s = db().status(day0_start + ms_per_hour, 0);
  EXPECT_EQ(s.spam_today, 1u);
  EXPECT_EQ(s.inbox_today, 0u);
  // A later look moves it (the message was rescued and then seen in the inbox).
  auto again = batch(e);
  again.placements.push_back(placed("<abc@warmup.test>", placement::inbox, day0_start + 60));
  ASSERT_FALSE(db().apply(again).stale_epoch);
  s = db().status(day0_start + ms_per_hour, 0);
  EXPECT_EQ(s.spam_today, 0u);
  EXPECT_EQ(s.inbox_today, 1u);
  EXPECT_TRUE(db().find_message("<abc@warmup.test>"));
}

TEST_P(store_contract, count_messages_counts_registered_ids_once_and_nothing_else) {
  EXPECT_EQ(db().count_messages(), 0u);
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  auto b = batch(e);
  b.registry.push_back(make_entry("<one@warmup.test>", m, to));
  b.registry.push_back(make_entry("<two@warmup.test>", to, m));
  b.registry.push_back(make_entry("<one@warmup.test>", to, m));  // kept once
  // Intents and outcomes are not registry rows.
  auto in = make_intent(m, day0, 0, to, day0_start);
  b.intents.push_back(in);
  b.outcomes.push_back(make_outcome(in.key, intent_status::sent, day0_start + 1));
  ASSERT_FALSE(db().apply(b).stale_epoch);
  EXPECT_EQ(db().count_messages(), 2u);

  auto stale = batch(e + 1);  // not the held epoch
  stale.registry.push_back(make_entry("<three@warmup.test>", m, to));
  EXPECT_TRUE(db().apply(stale).stale_epoch);
  EXPECT_EQ(db().count_messages(), 2u);
  EXPECT_EQ(open_read_only()->count_messages(), 2u);
}

TEST_P(store_contract, ramp_updates_write_ramp_state_and_state_but_never_revive) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto gone = db().add_mailbox(make_mailbox("g@a.test"));
  ASSERT_TRUE(db().remove_mailbox(gone));
  ramp_state rs{12, 50, day0 + 4, day0, health_band::pause, true};
  auto b = batch(e);
  b.ramps.push_back({m, rs, mailbox_state::paused});
  b.ramps.push_back({gone, rs, mailbox_state::active});
  ASSERT_FALSE(db().apply(b).stale_epoch);
  auto got = db().get_mailbox(m);
  EXPECT_TRUE(got->ramp == rs);
  EXPECT_EQ(got->settings.state, mailbox_state::paused);
  // Settings are untouched by a ramp update.
  auto want = make_mailbox("m@a.test");
  want.ramp = rs;
  want.settings.state = mailbox_state::paused;
  got->updated_at = want.updated_at;
  expect_same(want, *got);
  EXPECT_EQ(db().get_mailbox(gone)->settings.state, mailbox_state::removed);
}

// --- status --------------------------------------------------------------------------

TEST_P(store_contract, status_of_an_empty_store_is_all_zero) {
  auto s = db().status(day0_start + 5, ms_per_minute);
  EXPECT_EQ(s.now, day0_start + 5);
  EXPECT_EQ(s.total_mailboxes, 0u);
  EXPECT_EQ(s.active_mailboxes, 0u);
  EXPECT_EQ(s.active_mailboxes_today, 0u);
  EXPECT_EQ(s.sends_today, 0u);
  EXPECT_EQ(s.planned_today, 0u);
  EXPECT_EQ(s.overdue, 0u);
  EXPECT_EQ(s.inbox_today, 0u);
  EXPECT_EQ(s.spam_today, 0u);
  EXPECT_EQ(s.inbox_rate_today, 0.0);
}

// A hand-built UTC day [lo, hi): every figure below is counted by hand.
class status_day {
public:
  static constexpr time_ms lo = day0_start;
  static constexpr time_ms hi = day0_start + ms_per_day;
  static constexpr time_ms h = ms_per_hour;

  explicit status_day(store& s) {
    auto e = epoch = hold_shard(s);
    m1 = s.add_mailbox(make_mailbox("m1@a.test", "gmail", mailbox_state::active));
    m2 = s.add_mailbox(make_mailbox("m2@b.test", "gmail", mailbox_state::throttled));
    m3 = s.add_mailbox(make_mailbox("m3@a.test", "outlook", mailbox_state::paused));
    m4 = s.add_mailbox(make_mailbox("m4@a.test", "gmail", mailbox_state::active));
    auto m5 = s.add_mailbox(make_mailbox("m5@a.test", "gmail", mailbox_state::active));
    s.remove_mailbox(m5);
    // total 4 (m5 removed), active 3 (m1, m2 throttled, m4)

    auto b = batch(e);
    // m1, local day = UTC day: slots 0..4; 0 and 1 sent, 2 missed, 3 in grace, 4 later.
    b.plans.push_back({m1, day0, 5, {lo + 1 * h, lo + 2 * h, lo + 11 * h,
                                     lo + 11 * h + 50 * ms_per_minute, lo + 13 * h}});
    intent(b, m1, day0, 0, lo + 1 * h, intent_status::sent, lo + 1 * h + 5);
    intent(b, m1, day0, 1, lo + 2 * h, intent_status::sent, lo + 2 * h + 5);
    // m1 reply slot: failed, so not a send.
    intent(b, m1, day0, reply_slot_base, lo + 4 * h, intent_status::failed, lo + 4 * h);
    // m2, local day = UTC day - 1 (a time zone behind UTC): slots 0, 1 before lo do not
    // count; slot 1 was sent exactly at lo (counts today); slot 2 is due and missed.
    b.plans.push_back({m2, day0 - 1, 3, {lo - 2 * h, lo - 1, lo + 30 * ms_per_minute}});
    intent(b, m2, day0 - 1, 0, lo - 2 * h, intent_status::sent, lo - 2 * h);  // yesterday
    intent(b, m2, day0 - 1, 1, lo - 1, intent_status::sent, lo);
    // m2 sent again at hi: tomorrow's first millisecond, not today.
    intent(b, m2, day0 + 1, 0, hi, intent_status::sent, hi);
    // m3, local day + 1 (ahead of UTC): one slot late today, two tomorrow (one exactly at
    // hi, the first millisecond of tomorrow).
    b.plans.push_back({m3, day0 + 1, 3, {lo + 23 * h, hi, hi + 1 * h}});
    // m3, today: slots out of time order; 0 and 2 are due, 2 has an intent (pending);
    // slot 1, not due yet, was recorded early (so "count the range 0..2" would be wrong).
    b.plans.push_back({m3, day0, 3, {lo + 1 * h, lo + 20 * h, lo + 2 * h}});
    intent(b, m3, day0, 2, lo + 2 * h, std::nullopt, 0);
    intent(b, m3, day0, 1, lo + 20 * h, std::nullopt, 0);
    // m4: a plan two days away is not today's business.
    b.plans.push_back({m4, day0 + 3, 1, {lo + 3 * h}});
    // planned today: m1 5 + m2 1 + m3 (1 + 3) = 10; overdue: m1 1 + m2 1 + m3 1 = 3.

    b.registry.push_back(make_entry("<p1>", m1, m2));
    b.registry.push_back(make_entry("<p2>", m1, m2));
    b.registry.push_back(make_entry("<p3>", m1, m2));
    b.registry.push_back(make_entry("<p4>", m1, m2));
    b.registry.push_back(make_entry("<p5>", m1, m2));
    b.registry.push_back(make_entry("<p6>", m1, m2));
    b.registry.push_back(make_entry("<p7>", m1, m2));
    b.placements.push_back(placed("<p1>", placement::inbox, lo));          // today
    b.placements.push_back(placed("<p2>", placement::inbox, lo + 1 * h));  // today
    b.placements.push_back(placed("<p3>", placement::spam, lo + 3 * h));   // today
    b.placements.push_back(placed("<p4>", placement::spam, lo - 1));       // yesterday
    b.placements.push_back(placed("<p5>", placement::inbox, hi));          // tomorrow
    b.placements.push_back(placed("<p6>", placement::missing, lo + 2 * h));  // neither
    // <p7> never placed.
    EXPECT_FALSE(s.apply(b).stale_epoch);
  }

  mailbox_id m1 = no_mailbox, m2 = no_mailbox, m3 = no_mailbox, m4 = no_mailbox;
  epoch_t epoch = 0;

private:
  static void intent(write_batch& b, mailbox_id m, day_number day, std::uint32_t slot,
                     time_ms planned, std::optional<intent_status> st, time_ms at) {
    b.intents.push_back(make_intent(m, day, slot, m, planned));
    if (st)
      b.outcomes.push_back(make_outcome({m, day, slot}, *st, at));
  }
};

TEST_P(store_contract, status_counts_a_hand_built_day) {
  status_day day(db());
  constexpr auto lo = status_day::lo;
  constexpr auto h = status_day::h;
  auto s = db().status(lo + 12 * h, 30 * ms_per_minute);
  EXPECT_EQ(s.now, lo + 12 * h);
  EXPECT_EQ(s.total_mailboxes, 4u);
  EXPECT_EQ(s.active_mailboxes, 3u);
  EXPECT_EQ(s.sends_today, 3u);             // m1 x2, m2 at lo
  EXPECT_EQ(s.active_mailboxes_today, 2u);  // m1, m2
  EXPECT_EQ(s.planned_today, 10u);
  EXPECT_EQ(s.overdue, 3u);
  EXPECT_EQ(s.inbox_today, 2u);
  EXPECT_EQ(s.spam_today, 1u);
  EXPECT_DOUBLE_EQ(s.inbox_rate_today, 2.0 / 3.0);
}

TEST_P(store_contract, status_overdue_follows_now_and_grace) {
  status_day day(db());
  constexpr auto lo = status_day::lo;
  constexpr auto h = status_day::h;
  // A slot is overdue once its time < now - grace: m2's 00:30 slot, exactly at now, is not.
  EXPECT_EQ(db().status(lo + 30 * ms_per_minute, 0).overdue, 0u);
  EXPECT_EQ(db().status(lo + 30 * ms_per_minute + 1, 0).overdue, 1u);
  // At 12:00 with a 1 h grace, m1's 11:00 slot is not overdue yet.
  EXPECT_EQ(db().status(lo + 12 * h, h).overdue, 2u);
  // Late in the day everything past without an intent is overdue: m1 slots 2, 3, 4;
  // m2 slot 2; m3 (today) slot 0; m3 (local tomorrow) slot 0 at 23:00.
  EXPECT_EQ(db().status(lo + 23 * h + 1, 0).overdue, 6u);
  // Recording an intent for a missed slot clears it, whatever the outcome.
  auto b = batch(day.epoch);
  b.intents.push_back(make_intent(day.m1, day0, 2, day.m2, lo + 11 * h));
  ASSERT_FALSE(db().apply(b).stale_epoch);
  EXPECT_EQ(db().status(lo + 23 * h + 1, 0).overdue, 5u);
}

TEST_P(store_contract, status_uses_the_utc_day_containing_now) {
  status_day day(db());
  constexpr auto hi = status_day::hi;
  // The last millisecond of the day still sees it ...
  auto last = db().status(hi - 1, 0);
  EXPECT_EQ(last.sends_today, 3u);
  EXPECT_EQ(last.inbox_today, 2u);
  EXPECT_EQ(last.planned_today, 10u);
  // ... the next one is another day: m2's send at hi, <p5> in the inbox at hi, m3's
  // local-tomorrow slots at hi and hi + 1 h.
  auto next = db().status(hi, 0);
  EXPECT_EQ(next.sends_today, 1u);
  EXPECT_EQ(next.active_mailboxes_today, 1u);
  EXPECT_EQ(next.inbox_today, 1u);
  EXPECT_EQ(next.spam_today, 0u);
  EXPECT_DOUBLE_EQ(next.inbox_rate_today, 1.0);
  EXPECT_EQ(next.planned_today, 2u);
  EXPECT_EQ(next.overdue, 0u);
  EXPECT_EQ(next.total_mailboxes, 4u);
}

// --- meta ----------------------------------------------------------------------------

TEST_P(store_contract, meta_values_are_stored_and_overwritten) {
  EXPECT_FALSE(db().get_meta("engine_clock"));
  db().put_meta("engine_clock", "1728000000000");
  db().put_meta("empty", "");
  std::string odd = "line1\nline2\t\"quoted\" 日本 ";
  odd.push_back('\x01');
  db().put_meta("odd", odd);
  EXPECT_EQ(db().get_meta("engine_clock"), "1728000000000");
  EXPECT_EQ(db().get_meta("empty"), "");
  EXPECT_EQ(db().get_meta("odd"), odd);
  db().put_meta("engine_clock", "1728000000001");
  EXPECT_EQ(db().get_meta("engine_clock"), "1728000000001");
  EXPECT_FALSE(db().get_meta("ENGINE_CLOCK"));
}

// --- durability and concurrent readers -----------------------------------------------

// Writes `batches` committed batches, then reports on `report` and waits to be killed.
[[noreturn]] void write_then_wait_for_kill(const store_backend& backend,
                                           const std::string& location, mailbox_id m,
                                           mailbox_id to, epoch_t epoch, int batches,
                                           int report) {
  try {
    auto s = backend.open(location, false);
    for (int i = 0; i < batches; ++i) {
      auto b = batch(epoch);
      for (std::uint32_t slot = 0; slot < 50; ++slot) {
        b.intents.push_back(make_intent(m, day0 + i, slot, to, day0_start + slot));
        if (slot % 2 == 0)
          b.outcomes.push_back(
            make_outcome({m, day0 + i, slot}, intent_status::sent, day0_start + slot));
      }
      b.stats.push_back({m, day_stats{day0 + i, 50, 25}});
      b.registry.push_back(make_entry("<kill-" + std::to_string(i) + ">", m, to));
      b.plans.push_back({m, day0 + i, 50, {day0_start, day0_start + 1}});
      if (s->apply(b).stale_epoch)
        _exit(3);
    }
    s->put_meta("child", "done");
    char ok = 'k';
    if (write(report, &ok, 1) != 1)
      _exit(4);
    for (;;)
      pause();  // the connection stays open: no clean close, no checkpoint
  } catch (...) {
    _exit(2);
  }
}

TEST_P(store_contract, committed_writes_survive_sigkill_of_the_writer) {
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  auto epoch = hold_shard(db());
  close();  // no connection crosses the fork

  constexpr int batches = 8;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    write_then_wait_for_kill(GetParam(), location, m, to, epoch, batches, fds[1]);
  }
  ::close(fds[1]);
  pollfd pfd{fds[0], POLLIN, 0};
  int ready = poll(&pfd, 1, 20'000);
  char got = 0;
  bool reported = ready == 1 && read(fds[0], &got, 1) == 1 && got == 'k';
  ::close(fds[0]);
  kill(child, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(reported) << "the writer did not finish (exit status " << wstatus << ")";
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);

  reopen();
  EXPECT_EQ(db().get_meta("child"), "done");
  auto rows = db().intents(m, day0, day0 + batches - 1);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(batches * 50));
  std::size_t sent = 0;
  for (const auto& r : rows)
    sent += r.outcome && r.outcome->status == intent_status::sent;
  EXPECT_EQ(sent, static_cast<std::size_t>(batches * 25));
  EXPECT_EQ(db().pending_intents().size(), static_cast<std::size_t>(batches * 25));
  auto st = db().stats(m, day0, day0 + batches - 1);
  ASSERT_EQ(st.size(), static_cast<std::size_t>(batches));
  for (const auto& d : st) {
    EXPECT_EQ(d.planned, 50u);
    EXPECT_EQ(d.sent, 25u);
  }
  for (int i = 0; i < batches; ++i) {
    EXPECT_TRUE(db().find_message("<kill-" + std::to_string(i) + ">")) << i;
    EXPECT_TRUE(db().plan(m, day0 + i)) << i;
  }
  // The store is fully usable after the crash.
  auto b = batch(epoch);
  b.intents.push_back(make_intent(m, day0 + batches, 0, to, 0));
  EXPECT_EQ(db().apply(b).intent_inserted, std::vector<bool>{true});
}

TEST_P(store_contract, read_only_store_sees_committed_writes_of_an_open_writer) {
  auto e = hold_shard(db());
  auto m = db().add_mailbox(make_mailbox("m@a.test"));
  auto to = db().add_mailbox(make_mailbox("t@a.test"));
  auto b = batch(e);
  b.intents.push_back(make_intent(m, day0, 0, to, day0_start));
  ASSERT_FALSE(db().apply(b).stale_epoch);

  auto reader = open_read_only();  // the writer (db()) stays open throughout
  EXPECT_EQ(reader->schema_version(), store::latest_schema_version());
  ASSERT_TRUE(reader->get_mailbox(m));
  EXPECT_EQ(reader->intents(m, day0, day0).size(), 1u);
  EXPECT_EQ(reader->status(day0_start, 0).total_mailboxes, 2u);

  // Later commits become visible to the same read-only connection.
  auto later = batch(e);
  later.intents.push_back(make_intent(m, day0, 1, to, day0_start));
  later.outcomes.push_back(make_outcome({m, day0, 1}, intent_status::sent, day0_start + 1));
  ASSERT_FALSE(db().apply(later).stale_epoch);
  db().add_mailbox(make_mailbox("n@a.test"));
  EXPECT_EQ(reader->intents(m, day0, day0).size(), 2u);
  EXPECT_EQ(reader->count_mailboxes({}), 3u);
  EXPECT_EQ(reader->status(day0_start + 5, 0).sends_today, 1u);
  EXPECT_TRUE(reader->find_mailbox("N@A.TEST"));

  // And it cannot write.
  EXPECT_THROW(reader->add_mailbox(make_mailbox("x@a.test")), store_error);
  EXPECT_THROW(reader->put_meta("k", "v"), store_error);
  EXPECT_FALSE(db().find_mailbox("x@a.test"));
  // The writer still writes while the reader is open.
  EXPECT_NO_THROW(db().put_meta("k", "v"));
  EXPECT_EQ(reader->get_meta("k"), "v");
}

}  // namespace
}  // namespace warmup::storage::testing

namespace warmup::storage::testing {

// A batch grown from others (a mailbox activation's writes, a shard's lazy rows at the
// gateway) keeps every row and their order, kind by kind; the source is left empty.
TEST(write_batch_append, moves_every_row_in_order_and_empties_the_source) {
  write_batch to;
  to.shard = 3;
  to.epoch = 7;
  to.outcomes.push_back({{1, 20000, 0}, intent_status::sent, 10, {}});
  write_batch from;
  from.shard = 9;
  from.epoch = 1;
  from.intents.push_back({{1, 20000, 1}, 2, "<a@t>", 11, 12});
  from.outcomes.push_back({{1, 20000, 1}, intent_status::bounced, 13, "550"});
  registry_entry e;
  e.message_id = "<a@t>";
  from.registry.push_back(e);
  from.placements.push_back({"<a@t>", placement::inbox, false, 14});
  stats_delta d;
  d.mailbox = 1;
  d.delta.day = 20000;
  d.delta.sent = 1;
  from.stats.push_back(d);
  from.ramps.push_back({1, ramp_state{}, mailbox_state::active});
  plan_record p;
  p.mailbox = 1;
  p.day = 20000;
  from.plans.push_back(p);
  append(to, std::move(from));
  EXPECT_EQ(to.shard, 3u);
  EXPECT_EQ(to.epoch, 7u);
  ASSERT_EQ(to.outcomes.size(), 2u);
  EXPECT_EQ(to.outcomes[0].key.slot, 0u) << "rows already there stay first";
  EXPECT_EQ(to.outcomes[1].status, intent_status::bounced);
  EXPECT_EQ(to.intents.size(), 1u);
  EXPECT_EQ(to.registry.size(), 1u);
  EXPECT_EQ(to.placements.size(), 1u);
  EXPECT_EQ(to.stats.size(), 1u);
  EXPECT_EQ(to.ramps.size(), 1u);
  EXPECT_EQ(to.plans.size(), 1u);
  EXPECT_TRUE(from.empty());
}

}  // namespace warmup::storage::testing
