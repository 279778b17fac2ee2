// rotated_token_test.cpp: the engine's mail transport against the real postfix + dovecot
// and a token server that rotates refresh tokens (as Microsoft does) and revokes the old
// one: the new token is sealed into the store, so a restart logs in with it.
#include "mail_stack.hpp"

#include "actors/engine_context.hpp"
#include "actors/mail_transport.hpp"
#include "actors/services.hpp"
#include "messages/messages.hpp"
#include "net/oauth_token_source.hpp"
#include "net/secret_box.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

using namespace warmup;
using warmup::mail_test::stack;

namespace {

// The stack is started by the environment mail_clients_test.cpp registers (same executable).

// A fixed test key: the store holds sealed bytes only.
const auto box = net::secret_box::from_key_text(std::string(64, '7'));

std::string seal(const account_secret& s) { return box.seal(encode_secret(s)); }

account_secret open_sealed(const std::string& sealed) {
  auto plain = box.open(sealed);
  if (!plain)
    throw std::runtime_error("the sealed secret does not open");
  return decode_secret(*plain).value();
}

struct transport_node {
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  engine_context ctx;
  transport_actor transport;

  transport_node(const std::string& dir, std::shared_ptr<storage::store> writer,
                 const storage::mailbox_record& r) {
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    ctx.cfg.data_dir = dir;
    ctx.store = sys->spawn<caf::detached>(store_gateway_with_options, std::move(writer),
                                          store_gateway_options{});
    mail_transport_options o;
    o.workers = 1;
    o.seal_secret = seal;
    transport = spawn_mail_transport(
      *sys, &ctx,
      {real_mailbox{r.settings.id, r.settings.email, r.settings.provider, r.account,
                    r.sealed_secret}},
      o, open_sealed);
  }

  send_result send(mailbox_id from, const std::string& subject) {
    static int n = 0;
    outgoing_mail out;
    out.from = from;
    out.to = from + 1;
    out.message.message_id = "<rot." + std::to_string(::getpid()) + "." + std::to_string(++n)
                             + "@test.local>";
    out.message.from = "user5@test.local";
    out.message.to = "user6@test.local";
    out.message.subject = subject;
    out.message.body = "Hi,\nthe figures are in the shared folder.\n";
    out.message.date = 1'795'000'000'000;
    send_result result{send_status::temporary_failure, "no answer"};
    caf::scoped_actor self{*sys};
    self->request(transport, std::chrono::seconds(60), atom::send::value, out)
      .receive([&](send_result& r) { result = std::move(r); },
               [&](caf::error& e) { result.detail = caf::to_string(e); });
    // The rotated secret travels coordinator -> gateway; the barrier waits for its write.
    self->request(ctx.store, std::chrono::seconds(10), atom::flush::value)
      .receive([](bool) {}, [](caf::error&) {});
    return result;
  }

  ~transport_node() {
    caf::anon_send_exit(transport, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ctx.store, caf::exit_reason::user_shutdown);
    // A detached actor's thread ends once its last handle is gone.
    transport = transport_actor{};
    ctx.store = store_actor{};
    sys.reset();
  }
};

std::string stored_refresh_token(const std::string& dir, mailbox_id id) {
  auto reader = storage::open_store("", dir, true);
  return open_sealed(reader->get_mailbox(id)->sealed_secret).refresh_token;
}

}  // namespace

TEST(rotated_refresh_token, is_sealed_into_the_store_and_used_after_a_restart) {
  ASSERT_TRUE(stack().up) << stack().why;
  auto dir = std::filesystem::temp_directory_path()
             / ("warmup-rotation-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::shared_ptr<storage::store> writer = storage::open_store("", dir.string(), false);
  storage::mailbox_record r;
  r.settings.email = "user5@test.local";
  r.settings.provider = "custom";
  r.settings.organisation = "test.local";
  r.settings.transport = transport_kind::smtp;
  r.account.smtp = {"localhost", stack().smtp, mail_security::starttls};
  r.account.imap = {"localhost", stack().imaps, mail_security::tls};
  r.account.auth = auth_method::oauth2;
  r.account.oauth_client_id = "warmup-test";
  r.account.token_url = stack().token_url;
  r.account.ca_file = stack().ca_file;
  r.sealed_secret = seal({"", "rt-user5~1", ""});
  r.settings.id = writer->add_mailbox(r);
  const auto id = r.settings.id;

  {
    transport_node node(dir.string(), writer, r);
    auto sent = node.send(id, "first send, token rotates");
    ASSERT_EQ(sent.status, send_status::sent) << sent.detail;
  }
  // The provider rotated the token and revoked the old one; the store has the new one.
  EXPECT_EQ(stored_refresh_token(dir.string(), id), "rt-user5~2");
  net::oauth_token_source old_token(net::oauth_client{stack().token_url, "warmup-test", ""},
                                    "rt-user5~1", net::tls_policy{stack().ca_file, true});
  auto refused = old_token.access_token();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, net::mail_error_kind::auth);

  // A restart reads the mailbox from the store and logs in with the stored token.
  auto again = writer->get_mailbox(id).value();
  {
    transport_node node(dir.string(), writer, again);
    auto sent = node.send(id, "after the restart");
    ASSERT_EQ(sent.status, send_status::sent) << sent.detail;
  }
  EXPECT_EQ(stored_refresh_token(dir.string(), id), "rt-user5~3");

  // A secret the user replaced meanwhile is never overwritten by a rotation of the old one.
  auto current = writer->get_mailbox(id).value();
  {
    transport_node node(dir.string(), writer, current);
    // `warmup mailbox update` writes through its own connection.
    auto user_set = current;
    user_set.sealed_secret = seal({"", "rt-user5~100", ""});
    ASSERT_TRUE(storage::open_store("", dir.string(), false)->update_mailbox(user_set));
    auto sent = node.send(id, "rotation after the user's change");
    ASSERT_EQ(sent.status, send_status::sent) << sent.detail;
  }
  EXPECT_EQ(stored_refresh_token(dir.string(), id), "rt-user5~100");
  writer.reset();
  std::filesystem::remove_all(dir);
}
