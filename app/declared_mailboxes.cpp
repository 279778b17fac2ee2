// declared_mailboxes.cpp: [[mailbox]] tables of the configuration file into the store.
#include "app/declared_mailboxes.hpp"

#include <cstdlib>

extern char** environ;

namespace warmup::app {

namespace {

std::string where(const config::declared_mailbox& d, const std::string& field) {
  auto it = d.lines.find(field);
  return d.source + ":" + std::to_string(it == d.lines.end() ? d.line : it->second);
}

}  // namespace

std::map<std::string, std::string> whole_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    if (auto eq = kv.find('='); eq != std::string::npos)
      out.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

new_mailbox new_mailbox_of(const config::declared_mailbox& d,
                           const std::map<std::string, std::string>& env) {
  new_mailbox m;
  auto get = [&](const char* f) {
    auto it = d.fields.find(f);
    return it == d.fields.end() ? std::string{} : it->second;
  };
  // A secret given by the name of an environment variable (the file then holds no secret).
  auto from_env = [&](const char* field) {
    auto var = get(field);
    if (var.empty())
      return std::string{};
    auto it = env.find(var);
    if (it == env.end() || it->second.empty())
      throw bad_input(where(d, field) + ": mailbox." + field + " = \"" + var
                      + "\": the environment variable is not set or empty");
    return it->second;
  };
  m.email = get("email");
  m.provider = get("provider");
  m.timezone = get("timezone");
  m.preset = get("preset");
  m.name = get("name");
  m.organisation = get("organisation");
  m.smtp_host = get("smtp_host");
  m.smtp_port = get("smtp_port");
  m.smtp_security = get("smtp_security");
  m.imap_host = get("imap_host");
  m.imap_port = get("imap_port");
  m.imap_security = get("imap_security");
  m.username = get("username");
  m.oauth_client_id = get("oauth_client_id");
  m.token_url = get("token_url");
  m.ca_file = get("ca_file");
  m.tls_verify = get("tls_verify");
  for (auto [plain, indirect] : {std::pair{"password", "password_env"},
                                 std::pair{"oauth_refresh_token", "oauth_refresh_token_env"}})
    if (d.fields.count(plain) && d.fields.count(indirect))
      throw bad_input(where(d, indirect) + ": mailbox." + plain + " and mailbox." + indirect
                      + ": give one of them");
  m.password = d.fields.count("password_env") ? from_env("password_env") : get("password");
  m.oauth_refresh_token = d.fields.count("oauth_refresh_token_env")
                            ? from_env("oauth_refresh_token_env")
                            : get("oauth_refresh_token");
  m.oauth_client_secret = from_env("oauth_client_secret_env");
  return m;
}

std::size_t add_declared_mailboxes(const config::engine_config& cfg, storage::store& st,
                                   time_ms now, const std::map<std::string, std::string>& env) {
  std::vector<storage::mailbox_record> fresh;
  std::map<std::string, std::string> seen;   // email -> where
  for (const auto& d : cfg.mailboxes) {
    auto nm = new_mailbox_of(d, env);
    auto made = make_mailbox_record(cfg, nm, now);
    if (auto* err = std::get_if<std::string>(&made))
      throw bad_input(where(d, "email") + ": [[mailbox]] " + nm.email + ": " + *err);
    auto& rec = std::get<storage::mailbox_record>(made);
    if (auto [it, added] = seen.emplace(rec.settings.email, where(d, "email")); !added)
      throw bad_input(where(d, "email") + ": mailbox " + rec.settings.email
                      + " is declared twice (first at " + it->second + ")");
    if (!st.find_mailbox(rec.settings.email))
      fresh.push_back(std::move(rec));
  }
  if (!fresh.empty())
    st.add_mailboxes(fresh);
  return fresh.size();
}

}  // namespace warmup::app
