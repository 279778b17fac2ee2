// imap_session.hpp: what the engine does in a real mailbox over IMAP (libcurl, one kept
// connection per session): find a warmup message by Message-ID in INBOX then Junk, move it
// (its new UID from COPYUID), set flags, file it, append a reply copy to Sent, read headers,
// clean the warmup folder. Blocking, every call bounded by the session's time limits; one
// call at a time (one session per mailbox, used by one worker at a time).
#pragma once

#include "net/curl_connection.hpp"
#include "net/imap_response.hpp"
#include "net/mail_error.hpp"
#include "warmup/account.hpp"
#include "warmup/types.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace warmup::net {

struct imap_options {
  call_timeouts timeouts{};
  // Use UID MOVE when the server advertises MOVE; false always copies, marks \Deleted and
  // expunges (what servers without MOVE need).
  bool use_move = true;
};

// Where a message was found.
struct imap_location {
  std::string folder;
  std::uint32_t uid = 0;
};

// What one cleanup pass did.
struct imap_cleanup_result {
  std::size_t removed = 0;   // deleted or moved to the archive
};

class imap_session {
 public:
  imap_session(server_endpoint server, tls_policy tls, mail_login login, imap_options opts);
  imap_session(server_endpoint server, tls_policy tls, mail_login login)
      : imap_session(std::move(server), std::move(tls), std::move(login), imap_options{}) {}
  imap_session(const mail_account& account, mail_login login, imap_options opts = {});

  // A fresh OAuth2 access token (or password) for the next calls.
  void set_login(mail_login login) { login_ = std::move(login); }

  // Logs in (if not already) and returns the server's capabilities (upper case).
  mail_result<std::set<std::string>> capabilities();
  mail_result<std::vector<imap_folder>> list_folders();
  // Junk/Sent/Archive by special-use then by name, under the NAMESPACE prefix; cached
  // for the session's life (refresh() forgets it).
  mail_result<special_folders> folders();
  void refresh() { folders_.reset(); capabilities_.clear(); }

  // UIDs in `folder` whose Message-ID header is `message_id` ("<...>").
  mail_result<std::vector<std::uint32_t>> search_message_id(const std::string& folder,
                                                            const std::string& message_id);
  // UIDs above `after_uid` in `folder` of messages that answer another (an In-Reply-To
  // header), oldest first: where a person's reply to a warmup message would be.
  mail_result<std::vector<std::uint32_t>> search_replies(const std::string& folder,
                                                         std::uint32_t after_uid);
  // The message in INBOX, else in the Junk folder; nullopt when in neither.
  mail_result<std::optional<imap_location>> find_message(const std::string& message_id);
  // Moves a message; returns its UID in `target` (from COPYUID), 0 when the server did not
  // say (no UIDPLUS): flags must then not be set by the old UID.
  mail_result<std::uint32_t> move(const std::string& folder, std::uint32_t uid,
                                  const std::string& target);
  // Adds (or removes) flags such as "\\Seen", "\\Flagged".
  mail_status store_flags(const std::string& folder, std::uint32_t uid,
                          const std::vector<std::string>& flags, bool add = true);
  mail_result<std::vector<std::string>> fetch_flags(const std::string& folder, std::uint32_t uid);
  // The header fields named (e.g. {"Message-ID", "In-Reply-To"}), as raw header text;
  // all headers when `fields` is empty.
  mail_result<std::string> fetch_headers(const std::string& folder, std::uint32_t uid,
                                         const std::vector<std::string>& fields = {});
  // Creates `name` (a full name, see full_name()) unless it exists; subscribes it.
  mail_status ensure_folder(const std::string& name);
  // The full name of a top-level folder under the personal namespace: "Warmup" or
  // "INBOX.Warmup".
  mail_result<std::string> full_name(const std::string& name);
  // Appends a message (e.g. our reply's copy to Sent, marked \Seen); its UID when the
  // server says (APPENDUID), else 0.
  mail_result<std::uint32_t> append(const std::string& folder, std::string_view rfc5322);
  // Removes messages that arrived in `folder` before (now - days): moves them to
  // `archive` when given, else deletes them (\Deleted + UID EXPUNGE).
  mail_result<imap_cleanup_result> cleanup(const std::string& folder, int days, time_ms now,
                                           const std::string& archive = {});

  const std::string& address() const { return address_; }
  // The dialogue of the last call, credentials removed.
  const std::vector<transcript_line>& last_transcript() const { return connection_.transcript(); }

 private:
  // Runs `command` (with the mailbox selected when `folder` is not empty) and returns the
  // server's lines that answer it.
  mail_result<std::vector<std::string>> run(const std::string& folder, const std::string& command);
  mail_error failure(int code) const;
  std::string url(const std::string& folder) const;
  bool has_capability(std::string_view cap);

  server_endpoint server_;
  tls_policy tls_;
  mail_login login_;
  imap_options opts_;
  std::string address_;
  std::string base_url_;
  curl_connection connection_;
  std::set<std::string> capabilities_;
  std::optional<special_folders> folders_;
};

}  // namespace warmup::net
