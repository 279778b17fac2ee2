// imap_session.cpp: IMAP operations over one kept libcurl connection; our own commands go
// out as custom requests and their answers are read from the protocol transcript.
#include "net/imap_session.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

namespace warmup::net {

namespace {

// The server's lines after our last command (the ones that answer it).
std::vector<std::string> answer_lines(const std::vector<transcript_line>& t) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!t[i].from_server)
      from = i + 1;
  std::vector<std::string> out;
  for (std::size_t i = from; i < t.size(); ++i)
    out.push_back(t[i].text);
  return out;
}

std::vector<std::string> server_lines(const std::vector<transcript_line>& t) {
  std::vector<std::string> out;
  for (const auto& l : t)
    if (l.from_server)
      out.push_back(l.text);
  return out;
}

// "3,5:7" from sorted UIDs.
std::string uid_set(std::vector<std::uint32_t> uids) {
  std::sort(uids.begin(), uids.end());
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1)
      ++j;
    if (!out.empty())
      out += ',';
    out += std::to_string(uids[i]);
    if (j > i)
      out += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

std::string flag_list(const std::vector<std::string>& flags) {
  std::string out = "(";
  for (const auto& f : flags)
    out += (out.size() > 1 ? " " : "") + f;
  return out + ")";
}

mail_error protocol_error(std::string host, std::string detail) {
  mail_error e;
  e.kind = mail_error_kind::protocol;
  e.host = std::move(host);
  e.detail = std::move(detail);
  return e;
}

// At most this many UIDs per cleanup pass: bounded command length and work per call.
constexpr std::size_t cleanup_batch = 1000;

}  // namespace

imap_session::imap_session(server_endpoint server, tls_policy tls, mail_login login,
                           imap_options opts)
    : server_(std::move(server)), tls_(std::move(tls)), login_(std::move(login)), opts_(opts) {
  address_ = endpoint_address(server_, default_imap_port(server_.security));
  base_url_ = (server_.security == mail_security::tls ? "imaps://" : "imap://") + address_;
}

imap_session::imap_session(const mail_account& account, mail_login login, imap_options opts)
    : imap_session(account.imap, tls_policy{account.ca_file, account.tls_verify},
                   std::move(login), opts) {}

std::string imap_session::url(const std::string& folder) const {
  return base_url_ + "/" + imap_url_path(folder);
}

mail_error imap_session::failure(int code) const {
  auto e = connection_.error_from(code, address_);
  auto tagged = parse_tagged(server_lines(connection_.transcript()));
  if (tagged && tagged->status != "OK" && e.kind != mail_error_kind::tls) {
    e.reply = tagged->text;
    const auto& rc = tagged->code;
    if (rc == "UNAVAILABLE" || rc == "INUSE" || rc == "LIMIT" || rc == "SERVERBUG")
      e.kind = mail_error_kind::temporary;
    else if (rc == "AUTHENTICATIONFAILED" || rc == "AUTHORIZATIONFAILED" || rc == "EXPIRED" ||
             code == CURLE_LOGIN_DENIED)
      e.kind = mail_error_kind::auth;
  }
  return e;
}

mail_result<std::vector<std::string>> imap_session::run(const std::string& folder,
                                                        const std::string& command) {
  connection_.prepare(url(folder), tls_, opts_.timeouts, &login_);
  CURL* c = connection_.handle();
  if (server_.security == mail_security::starttls)
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
  auto code = connection_.perform();
  if (code != CURLE_OK)
    return failure(code);
  return answer_lines(connection_.transcript());
}

bool imap_session::has_capability(std::string_view cap) {
  if (capabilities_.empty())
    (void)capabilities();
  return capabilities_.count(std::string(cap)) > 0;
}

mail_result<std::set<std::string>> imap_session::capabilities() {
  auto lines = run("", "CAPABILITY");
  if (!lines)
    return lines.error();
  capabilities_ = parse_capabilities(*lines);
  return capabilities_;
}

mail_result<std::vector<imap_folder>> imap_session::list_folders() {
  // RFC 6154: ask for the special-use attributes when the server can return them.
  bool special = has_capability("SPECIAL-USE") && has_capability("LIST-EXTENDED");
  auto lines = run("", special ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"");
  if (!lines)
    return lines.error();
  return parse_list(*lines);
}

mail_result<special_folders> imap_session::folders() {
  if (folders_)
    return *folders_;
  std::string prefix;
  char delimiter = '/';
  if (has_capability("NAMESPACE")) {
    auto ns = run("", "NAMESPACE");
    if (!ns)
      return ns.error();
    if (auto p = parse_namespace(*ns)) {
      prefix = p->first;
      delimiter = p->second;
    }
  }
  auto list = list_folders();
  if (!list)
    return list.error();
  if (prefix.empty() && delimiter == '/' && !list->empty() && list->front().delimiter != '\0')
    delimiter = list->front().delimiter;
  folders_ = pick_special_folders(*list, prefix, delimiter);
  return *folders_;
}

mail_result<std::vector<std::uint32_t>> imap_session::search_message_id(
    const std::string& folder, const std::string& message_id) {
  auto lines = run(folder, "UID SEARCH HEADER Message-ID " + imap_quote(message_id));
  if (!lines)
    return lines.error();
  return parse_search(*lines);
}

mail_result<std::vector<std::uint32_t>> imap_session::search_replies(const std::string& folder,
                                                                     std::uint32_t after_uid) {
  auto lines = run(folder, "UID SEARCH UID " + std::to_string(after_uid + 1)
                             + ":* HEADER In-Reply-To \"@\"");
  if (!lines)
    return lines.error();
  auto uids = parse_search(*lines);
  // "n:*" always includes the highest UID, even below n.
  uids.erase(std::remove_if(uids.begin(), uids.end(), [&](auto u) { return u <= after_uid; }),
             uids.end());
  std::sort(uids.begin(), uids.end());
  return uids;
}

mail_result<std::optional<imap_location>> imap_session::find_message(const std::string& message_id) {
  auto f = folders();
  if (!f)
    return f.error();
  for (const auto* folder : {&f->inbox, &f->junk}) {
    if (folder->empty())
      continue;
    auto uids = search_message_id(*folder, message_id);
    if (!uids)
      return uids.error();
    if (!uids->empty())
      return std::optional<imap_location>{imap_location{*folder, uids->back()}};
  }
  return std::optional<imap_location>{};
}

mail_result<std::uint32_t> imap_session::move(const std::string& folder, std::uint32_t uid,
                                              const std::string& target) {
  auto id = std::to_string(uid);
  if (opts_.use_move && has_capability("MOVE")) {
    auto lines = run(folder, "UID MOVE " + id + " " + imap_quote(target));
    if (!lines)
      return lines.error();
    auto copied = parse_copyuid(*lines);
    return copied && copied->moved.count(uid) ? copied->moved.at(uid) : 0u;
  }
  auto lines = run(folder, "UID COPY " + id + " " + imap_quote(target));
  if (!lines)
    return lines.error();
  auto copied = parse_copyuid(*lines);
  std::uint32_t new_uid = copied && copied->moved.count(uid) ? copied->moved.at(uid) : 0u;
  if (auto st = run(folder, "UID STORE " + id + " +FLAGS.SILENT (\\Deleted)"); !st)
    return st.error();
  // Without UIDPLUS a plain EXPUNGE also removes messages someone else marked \Deleted:
  // that is what such servers offer.
  if (auto ex = run(folder, has_capability("UIDPLUS") ? "UID EXPUNGE " + id : "EXPUNGE"); !ex)
    return ex.error();
  return new_uid;
}

mail_status imap_session::store_flags(const std::string& folder, std::uint32_t uid,
                                      const std::vector<std::string>& flags, bool add) {
  auto lines = run(folder, "UID STORE " + std::to_string(uid) + (add ? " +" : " -") +
                               "FLAGS.SILENT " + flag_list(flags));
  if (!lines)
    return lines.error();
  return mail_ok();
}

mail_result<std::vector<std::string>> imap_session::fetch_flags(const std::string& folder,
                                                                std::uint32_t uid) {
  auto lines = run(folder, "UID FETCH " + std::to_string(uid) + " (UID FLAGS)");
  if (!lines)
    return lines.error();
  auto flags = parse_fetch_flags(*lines);
  auto it = flags.find(uid);
  if (it == flags.end())
    return protocol_error(address_, "no message with UID " + std::to_string(uid) + " in " + folder);
  return it->second;
}

mail_result<std::string> imap_session::fetch_headers(const std::string& folder, std::uint32_t uid,
                                                     const std::vector<std::string>& fields) {
  std::string section = "HEADER";
  if (!fields.empty()) {
    section = "HEADER.FIELDS%20(";
    for (std::size_t i = 0; i < fields.size(); ++i)
      section += (i ? "%20" : "") + imap_url_path(fields[i]);
    section += ")";
  }
  connection_.prepare(url(folder) + "/;UID=" + std::to_string(uid) + ";SECTION=" + section, tls_,
                      opts_.timeouts, &login_);
  if (server_.security == mail_security::starttls)
    curl_easy_setopt(connection_.handle(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  auto code = connection_.perform();
  if (code != CURLE_OK)
    return failure(code);
  if (connection_.body().empty())
    return protocol_error(address_, "no message with UID " + std::to_string(uid) + " in " + folder);
  return connection_.body();
}

mail_result<std::string> imap_session::full_name(const std::string& name) {
  auto f = folders();
  if (!f)
    return f.error();
  return f->prefix + name;
}

mail_status imap_session::ensure_folder(const std::string& name) {
  auto list = list_folders();
  if (!list)
    return list.error();
  for (const auto& f : *list)
    if (f.name == name)
      return mail_ok();
  auto created = run("", "CREATE " + imap_quote(name));
  if (!created) {
    // created meanwhile by another client: fine
    if (created.error().reply.find("ALREADYEXISTS") == std::string::npos)
      return created.error();
  }
  if (auto sub = run("", "SUBSCRIBE " + imap_quote(name)); !sub)
    return sub.error();
  return mail_ok();
}

mail_result<std::uint32_t> imap_session::append(const std::string& folder, std::string_view rfc5322) {
  connection_.prepare(url(folder), tls_, opts_.timeouts, &login_);
  CURL* c = connection_.handle();
  if (server_.security == mail_security::starttls)
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  upload_cursor cursor{rfc5322};
  set_upload(c, cursor);
  auto code = connection_.perform();
  if (code != CURLE_OK)
    return failure(code);
  return parse_appenduid(answer_lines(connection_.transcript())).value_or(0u);
}

mail_result<imap_cleanup_result> imap_session::cleanup(const std::string& folder, int days,
                                                       time_ms now, const std::string& archive) {
  auto cutoff = now / ms_per_day - days;
  auto found = run(folder, "UID SEARCH BEFORE " + imap_date(cutoff));
  if (!found)
    return found.error();
  auto uids = parse_search(*found);
  if (uids.size() > cleanup_batch)
    uids.resize(cleanup_batch);   // the oldest UIDs first; the rest go next pass
  imap_cleanup_result out;
  if (uids.empty())
    return out;
  auto set = uid_set(uids);
  if (!archive.empty() && opts_.use_move && has_capability("MOVE")) {
    if (auto moved = run(folder, "UID MOVE " + set + " " + imap_quote(archive)); !moved)
      return moved.error();
  } else {
    if (!archive.empty())
      if (auto copied = run(folder, "UID COPY " + set + " " + imap_quote(archive)); !copied)
        return copied.error();
    if (auto st = run(folder, "UID STORE " + set + " +FLAGS.SILENT (\\Deleted)"); !st)
      return st.error();
    if (auto ex = run(folder, has_capability("UIDPLUS") ? "UID EXPUNGE " + set : "EXPUNGE"); !ex)
      return ex.error();
  }
  out.removed = uids.size();
  return out;
}

}  // namespace warmup::net
