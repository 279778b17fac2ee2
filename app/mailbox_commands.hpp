// mailbox_commands.hpp: `warmup mailbox add|list|show|pause|resume|remove`, and the
// record building that `mailbox import` shares with `mailbox add`. list, show, pause,
// resume and remove go through a running node's API when one answers (pause and remove
// then reach the mailbox actor at once), else through the store; the output is the same.
#pragma once

#include "app/cli_session.hpp"

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace warmup::app {

// One mailbox as the user describes it (flags of `mailbox add` or a CSV row); empty
// fields take the configuration's defaults.
struct new_mailbox {
  std::string email;
  std::string provider;       // empty: guessed from the domain
  std::string timezone;       // empty: default_timezone
  std::string preset;         // empty: the configuration's ramp
  std::string name;           // display name
  std::string organisation;   // empty: the email's domain
  // Real mail (all empty for a sandbox mailbox). Ports and security as typed: empty
  // takes the provider preset's or the protocol's default.
  std::string smtp_host, smtp_port, smtp_security;
  std::string imap_host, imap_port, imap_security;
  std::string username;       // empty: the email
  std::string password;       // secret: sealed before it reaches the store
  std::string oauth_refresh_token;   // secret: instead of a password (XOAUTH2)
  std::string oauth_client_id;
  std::string oauth_client_secret;   // secret
  std::string token_url;      // empty: the provider preset's token endpoint
  std::string ca_file;        // extra CA bundle for a private server
  std::string tls_verify;     // empty/true; "false" turns verification off (logged)
  // True when any real-mail field is given: the mailbox is then an SMTP/IMAP mailbox.
  bool real_mail() const;
};

// The record to store, or the reason the input is not acceptable (names the field).
std::variant<storage::mailbox_record, std::string> make_mailbox_record(
  const config::engine_config& cfg, const new_mailbox& in, time_ms now);

// "gmail" for gmail.com, "outlook" for outlook.com/hotmail.com/live.com, "yahoo" for
// yahoo.*, the sandbox provider itself for a sandbox domain, else "custom".
std::string guess_provider(std::string_view domain, const config::engine_config& cfg);

struct mailbox_list_options {
  std::string state;          // empty: every state but removed
  std::string provider;
  std::string domain;
  std::size_t limit = 100;
  std::size_t offset = 0;
  bool json = false;
};

enum class state_action { pause, resume, remove };

int mailbox_add(const cli_session& s, const new_mailbox& in, std::ostream& out);
int mailbox_list(const cli_session& s, const mailbox_list_options& o, std::ostream& out);
// Changes the fields given in `changes` (empty fields keep their values; the secret is kept
// unless a new one is given; `oauth`: the new secret is a refresh token) of mailbox `ref`.
int mailbox_update(const cli_session& s, const std::string& ref, const new_mailbox& changes,
                   bool oauth, std::ostream& out);
int mailbox_show(const cli_session& s, const std::string& ref, bool json, std::ostream& out);
int mailbox_change_state(const cli_session& s, const std::string& ref, state_action a,
                         std::ostream& out);

// The same commands through a running node's console API (throws api_error or
// node_unreachable, see api_client.hpp). Fields the API does not serve (engagement rates,
// a real mailbox's servers, created_at/updated_at) come from the store when it is readable.
class api_client;
int mailbox_list(const cli_session& s, const api_client& node, const mailbox_list_options& o,
                 std::ostream& out);
int mailbox_show(const cli_session& s, const api_client& node, const std::string& ref, bool json,
                 std::ostream& out);
int mailbox_change_state(const cli_session& s, const api_client& node, const std::string& ref,
                         state_action a, std::ostream& out);

// Finds a mailbox by id (all digits) or email; throws bad_input naming `ref` if absent.
storage::mailbox_record resolve_mailbox(storage::store& st, const std::string& ref,
                                        const std::string& store_path);

}  // namespace warmup::app
