// mailbox_commands.cpp: adding, listing, showing and pausing/resuming/removing mailboxes in
// the store; a running node sees the changes through the same SQLite file (WAL).
#include "app/mailbox_commands.hpp"

#include "app/api_client.hpp"
#include "app/secrets.hpp"
#include "warmup/account.hpp"
#include "warmup/calendar.hpp"
#include "warmup/health.hpp"
#include "warmup/ramp.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace warmup::app {

namespace {

using json = nlohmann::ordered_json;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string percent(double rate) {
  std::ostringstream os;
  os << std::round(rate * 1000) / 10 << "%";
  return os.str();
}

std::string clock_text(int minute) {
  std::ostringstream os;
  os << std::setw(2) << std::setfill('0') << minute / 60 << ":" << std::setw(2)
     << std::setfill('0') << minute % 60;
  return os.str();
}

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The preset name a record should carry: the preset itself or "custom" once changed.
std::string preset_label(const std::string& preset, const ramp_params& ramp) {
  auto p = ramp_preset(preset);
  return p && *p == ramp ? preset : "custom";
}

std::string ramp_text(const std::string& preset, const ramp_params& r) {
  return preset + ": " + std::to_string(r.start) + "/day, +" + number_text(r.step)
         + "/day up to " + std::to_string(r.ceiling) + ", variance " + percent(r.variance)
         + (r.weekdays_only ? std::string(", weekdays only")
                            : ", weekends x" + number_text(r.weekend_factor));
}

json ramp_json(const ramp_params& r) {
  return {{"start", r.start},
          {"step", r.step},
          {"ceiling", r.ceiling},
          {"variance", r.variance},
          {"weekdays_only", r.weekdays_only},
          {"weekend_factor", r.weekend_factor}};
}

// The account of a real mailbox as shown to users: servers and login, never the secret
// (only whether one is stored).
json account_json(const storage::mailbox_record& r) {
  const auto& a = r.account;
  auto server = [](const server_endpoint& e) {
    return json{{"host", e.host}, {"port", e.port}, {"security", std::string(to_string(e.security))}};
  };
  return {{"smtp", server(a.smtp)},
          {"imap", server(a.imap)},
          {"username", a.username},
          {"auth", std::string(to_string(a.auth))},
          {"oauth_client_id", a.oauth_client_id},
          {"token_url", a.token_url},
          {"ca_file", a.ca_file},
          {"tls_verify", a.tls_verify},
          {"secret_stored", !r.sealed_secret.empty()}};
}

json mailbox_json(const storage::mailbox_record& r, std::uint32_t shard_count) {
  const auto& m = r.settings;
  json j = {{"id", m.id},
          {"email", m.email},
          {"display_name", m.display_name},
          {"provider", m.provider},
          {"organisation", m.organisation},
          {"timezone", m.timezone},
          {"transport", std::string(to_string(m.transport))},
          {"state", std::string(to_string(m.state))},
          {"shard", shard_of(m.email, shard_count)},
          {"ramp_preset", r.ramp_preset},
          {"ramp", ramp_json(m.ramp)},
          {"window",
           {{"start", clock_text(m.window.start_minute)},
            {"end", clock_text(m.window.end_minute)},
            {"min_gap_minutes", m.window.min_gap_minutes}}},
          {"engagement",
           {{"read_rate", m.engagement.read_rate},
            {"important_rate", m.engagement.important_rate},
            {"star_rate", m.engagement.star_rate},
            {"reply_rate", m.engagement.reply_rate},
            {"rescue_rate", m.engagement.rescue_rate},
            {"max_thread_turns", m.engagement.max_thread_turns}}},
          {"ramp_state",
           {{"ramp_day", r.ramp.ramp_day},
            {"throttle_percent", r.ramp.throttle_percent},
            {"band", std::string(to_string(r.ramp.band))},
            {"cooldown_until", r.ramp.cooldown_until ? format_day(r.ramp.cooldown_until) : ""},
            {"paused_by_health", r.ramp.paused_by_health}}},
          {"created_day", format_day(m.created_day)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
  if (m.transport == transport_kind::smtp)
    j["account"] = account_json(r);
  return j;
}

json stats_json(const day_stats& d) {
  return {{"day", format_day(d.day)}, {"planned", d.planned},   {"sent", d.sent},
          {"inbox", d.inbox},         {"spam", d.spam},         {"missing", d.missing},
          {"bounces", d.bounces},     {"replies", d.replies},   {"received", d.received},
          {"rescued", d.rescued},     {"skipped", d.skipped}};
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "465" -> 465; empty -> 0 (the default); nullopt when not a port number.
std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty())
    return 0;
  if (!all_digits(text) || text.size() > 5)
    return std::nullopt;
  auto v = std::stoi(text);
  if (v < 1 || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// One server of a real mailbox from its host, port and security as typed.
std::optional<std::string> fill_endpoint(const char* proto, const std::string& host,
                                         const std::string& port, const std::string& security,
                                         server_endpoint& e) {
  const std::string p = proto;
  if (!host.empty()) {
    if (host.find_first_of(" /:@") != std::string::npos)
      return p + "_host \"" + host + "\": a host name or IP address, without scheme or port";
    e.host = lower_ascii(host);
  }
  if (!security.empty()) {
    auto sec = parse_mail_security(lower_ascii(security));
    if (!sec)
      return p + "_security \"" + security + "\": use tls, starttls or none";
    e.security = *sec;
  }
  auto n = parse_port(port);
  if (!n)
    return p + "_port \"" + port + "\": a port number from 1 to 65535";
  if (*n)
    e.port = *n;
  return std::nullopt;
}

// The account and secret of a real mailbox, or the reason they are not acceptable.
std::optional<std::string> fill_account(const new_mailbox& in, const std::string& provider,
                                        mail_account& a, account_secret& secret) {
  if (auto err = fill_endpoint("smtp", in.smtp_host, in.smtp_port, in.smtp_security, a.smtp))
    return err;
  if (auto err = fill_endpoint("imap", in.imap_host, in.imap_port, in.imap_security, a.imap))
    return err;
  apply_provider_preset(provider, a);
  if (a.smtp.host.empty())
    return "smtp_host: required for a real mailbox (or provider gmail, outlook or yahoo)";
  if (a.imap.host.empty())
    return "imap_host: required for a real mailbox (or provider gmail, outlook or yahoo)";
  if (a.smtp.port == 0)
    a.smtp.port = default_smtp_port(a.smtp.security);
  if (a.imap.port == 0)
    a.imap.port = default_imap_port(a.imap.security);
  a.username = in.username.empty() ? lower_ascii(in.email) : in.username;
  if (!in.password.empty() && !in.oauth_refresh_token.empty())
    return "password and oauth_refresh_token: give one of them, not both";
  if (in.password.empty() && in.oauth_refresh_token.empty())
    return "password: required for a real mailbox (or oauth_refresh_token for OAuth2)";
  if (!in.oauth_refresh_token.empty()) {
    a.auth = auth_method::oauth2;
    a.oauth_client_id = in.oauth_client_id;
    if (!in.token_url.empty())
      a.token_url = in.token_url;
    if (a.token_url.empty())
      return "token_url: required with oauth_refresh_token for provider \"" + provider
             + "\" (gmail and outlook have it preset)";
    if (a.token_url.rfind("https://", 0) != 0)
      return "token_url \"" + a.token_url + "\": must start with https://";
    if (a.oauth_client_id.empty())
      return "oauth_client_id: required with oauth_refresh_token (the OAuth2 app's client id)";
    secret.refresh_token = in.oauth_refresh_token;
    secret.client_secret = in.oauth_client_secret;
  } else {
    a.auth = auth_method::password;
    secret.password = in.password;
  }
  if (!in.ca_file.empty()) {
    std::ifstream f(in.ca_file);
    if (!f)
      return "ca_file \"" + in.ca_file + "\": cannot be read";
    a.ca_file = in.ca_file;
  }
  if (!in.tls_verify.empty()) {
    auto v = lower_ascii(in.tls_verify);
    if (v == "true" || v == "yes" || v == "1")
      a.tls_verify = true;
    else if (v == "false" || v == "no" || v == "0")
      a.tls_verify = false;
    else
      return "tls_verify \"" + in.tls_verify + "\": use true or false";
  }
  return std::nullopt;
}

}  // namespace

bool new_mailbox::real_mail() const {
  for (const auto* f : {&smtp_host, &smtp_port, &smtp_security, &imap_host, &imap_port,
                        &imap_security, &username, &password, &oauth_refresh_token,
                        &oauth_client_id, &oauth_client_secret, &token_url, &ca_file,
                        &tls_verify})
    if (!f->empty())
      return true;
  return false;
}

std::string guess_provider(std::string_view domain, const config::engine_config& cfg) {
  for (const auto& p : cfg.sandbox.providers)
    if (domain == p || ends_with(domain, "." + p))
      return p;
  if (domain == "gmail.com" || domain == "googlemail.com")
    return "gmail";
  if (domain == "outlook.com" || domain == "hotmail.com" || domain == "live.com"
      || domain == "msn.com" || ends_with(domain, ".onmicrosoft.com"))
    return "outlook";
  if (domain.substr(0, 6) == "yahoo." || domain == "ymail.com")
    return "yahoo";
  return "custom";
}

std::variant<storage::mailbox_record, std::string> make_mailbox_record(
  const config::engine_config& cfg, const new_mailbox& in, time_ms now) {
  storage::mailbox_record r;
  auto& m = r.settings;
  m.email = lower_ascii(in.email);
  m.timezone = in.timezone.empty() ? cfg.default_timezone : in.timezone;
  m.display_name = in.name;
  m.transport = parse_transport_kind(cfg.transport).value_or(transport_kind::sandbox);
  if (!in.preset.empty()) {
    auto p = ramp_preset(lower_ascii(in.preset));
    if (!p)
      return "preset \"" + in.preset + "\": unknown ramp preset: use slow, standard or fast";
    m.ramp = *p;
    r.ramp_preset = lower_ascii(in.preset);
  } else {
    m.ramp = cfg.ramp;
    r.ramp_preset = preset_label(cfg.ramp_preset, cfg.ramp);
  }
  m.window = cfg.window;
  m.engagement = cfg.engagement;
  m.state = mailbox_state::active;
  if (auto err = config::validate_mailbox(m))
    return *err;
  std::string domain(email_domain(m.email));
  m.provider = in.provider.empty() ? guess_provider(domain, cfg) : lower_ascii(in.provider);
  m.organisation = in.organisation.empty() ? domain : in.organisation;
  if (auto err = config::validate_mailbox(m))
    return *err;
  if (in.real_mail() || m.transport == transport_kind::smtp) {
    m.transport = transport_kind::smtp;
    account_secret secret;
    if (auto err = fill_account(in, m.provider, r.account, secret))
      return *err;
    try {
      r.sealed_secret = seal_account_secret(secret);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  m.created_day = local_day(now, m.timezone);
  r.created_at = now;
  r.updated_at = now;
  return r;
}

storage::mailbox_record resolve_mailbox(storage::store& st, const std::string& ref,
                                        const std::string& store_path) {
  std::optional<storage::mailbox_record> r;
  if (all_digits(ref)) {
    unsigned long long id = 0;
    try {
      id = std::stoull(ref);
    } catch (const std::exception&) {
      id = no_mailbox;
    }
    if (id < no_mailbox)
      r = st.get_mailbox(static_cast<mailbox_id>(id));
  } else {
    r = st.find_mailbox(lower_ascii(ref));
  }
  if (!r)
    throw bad_input("no mailbox " + ref + " in " + store_path
                    + ": give an email or an id from `warmup mailbox list`");
  return *r;
}

int mailbox_add(const cli_session& s, const new_mailbox& in, std::ostream& out) {
  auto st = s.open_store();
  auto now = engine_now(st.get());
  auto made = make_mailbox_record(s.cfg, in, now);
  if (auto* err = std::get_if<std::string>(&made))
    throw bad_input(*err);
  auto& rec = std::get<storage::mailbox_record>(made);
  if (auto existing = st->find_mailbox(rec.settings.email)) {
    if (existing->settings.state == mailbox_state::removed)
      throw bad_input("mailbox " + rec.settings.email + " (id "
                      + std::to_string(existing->settings.id)
                      + ") was removed; `warmup mailbox resume " + rec.settings.email
                      + "` restores it with its history");
    throw bad_input("mailbox " + rec.settings.email + " exists already (id "
                    + std::to_string(existing->settings.id) + "); see `warmup mailbox show "
                    + rec.settings.email + "`");
  }
  mailbox_id id = 0;
  try {
    id = st->add_mailbox(rec);
  } catch (const storage::duplicate_mailbox&) {
    throw bad_input("mailbox " + rec.settings.email + " exists already; see `warmup mailbox show "
                    + rec.settings.email + "`");
  }
  const auto& m = rec.settings;
  out << "added mailbox " << id << ": " << m.email << "; provider " << m.provider
      << ", timezone " << m.timezone << ", ramp " << ramp_text(rec.ramp_preset, m.ramp)
      << "\n";
  return exit_ok;
}

namespace {

// The mailbox table of `warmup mailbox list` (or its JSON array).
void print_mailbox_list(const std::vector<storage::mailbox_record>& rows, std::uint64_t total,
                        std::uint32_t shard_count, bool as_json, std::ostream& out) {
  if (as_json) {
    json arr = json::array();
    for (const auto& r : rows)
      arr.push_back(mailbox_json(r, shard_count));
    out << arr.dump(2) << "\n";
    return;
  }
  std::size_t email_width = 5;
  for (const auto& r : rows)
    email_width = std::max(email_width, r.settings.email.size());
  out << std::left << std::setw(8) << "ID" << std::setw(static_cast<int>(email_width) + 2)
      << "EMAIL" << std::setw(13) << "STATE" << std::setw(13) << "PROVIDER" << std::setw(22)
      << "TIMEZONE" << std::setw(10) << "PRESET" << "RAMP DAY\n";
  for (const auto& r : rows) {
    const auto& m = r.settings;
    out << std::left << std::setw(8) << m.id << std::setw(static_cast<int>(email_width) + 2)
        << m.email << std::setw(13) << to_string(m.state) << std::setw(13) << m.provider
        << std::setw(22) << m.timezone << std::setw(10) << r.ramp_preset << r.ramp.ramp_day
        << "\n";
  }
  out << rows.size() << " of " << total << " mailbox" << (total == 1 ? "" : "es");
  if (rows.size() < total)
    out << " (use --offset and --limit to page)";
  out << "\n";
}

// `warmup mailbox show`: settings, ramp state and `days` (the last 7, oldest first).
void print_mailbox(const storage::mailbox_record& r, const std::vector<day_stats>& days,
                   day_number today, std::uint32_t shard_count, bool as_json, std::ostream& out) {
  const auto& m = r.settings;
  if (as_json) {
    auto j = mailbox_json(r, shard_count);
    j["last_7_days"] = json::array();
    for (const auto& d : days)
      j["last_7_days"].push_back(stats_json(d));
    out << j.dump(2) << "\n";
    return;
  }
  const auto& e = m.engagement;
  out << "Mailbox " << m.id << ": " << m.email << "\n"
      << "  State:        " << to_string(m.state)
      << (r.ramp.paused_by_health ? " (paused by the health bands)" : "") << "\n"
      << "  Name:         " << (m.display_name.empty() ? "-" : m.display_name) << "\n"
      << "  Provider:     " << m.provider << "\n"
      << "  Organisation: " << m.organisation << "\n"
      << "  Time zone:    " << m.timezone << "\n"
      << "  Transport:    " << to_string(m.transport) << "\n"
      << "  Shard:        " << shard_of(m.email, shard_count) << " of " << shard_count << "\n"
      << "  Ramp:         " << ramp_text(r.ramp_preset, m.ramp) << "\n"
      << "  Window:       " << clock_text(m.window.start_minute) << "-"
      << clock_text(m.window.end_minute) << " local, at least " << m.window.min_gap_minutes
      << " min between sends\n"
      << "  Engagement:   read " << percent(e.read_rate) << ", important "
      << percent(e.important_rate) << ", star " << percent(e.star_rate) << ", reply "
      << percent(e.reply_rate) << ", rescue " << percent(e.rescue_rate) << ", threads up to "
      << e.max_thread_turns << " turns\n"
      << "  Ramp state:   day " << r.ramp.ramp_day << ", throttle " << r.ramp.throttle_percent
      << "%, health " << to_string(r.ramp.band);
  if (r.ramp.cooldown_until > today)
    out << ", cooling down until " << format_day(r.ramp.cooldown_until);
  out << "\n  Added:        " << format_day(m.created_day) << "\n\n";
  out << "Last 7 days (" << m.timezone << "):\n";
  out << "  " << std::left << std::setw(12) << "DAY" << std::right;
  for (const char* h : {"PLANNED", "SENT", "INBOX", "SPAM", "MISSING", "BOUNCES", "REPLIES",
                        "RECEIVED", "RESCUED", "SKIPPED"})
    out << std::setw(9) << h;
  out << "\n";
  for (const auto& d : days) {
    out << "  " << std::left << std::setw(12) << format_day(d.day) << std::right;
    for (auto v : {d.planned, d.sent, d.inbox, d.spam, d.missing, d.bounces, d.replies,
                   d.received, d.rescued, d.skipped})
      out << std::setw(9) << v;
    out << "\n";
  }
}

// Decides what `a` does to mailbox `r` and says so; `apply` carries the change out (the
// store's write or the node's API call) when there is one to make.
int change_state(const storage::mailbox_record& r, state_action a, std::ostream& out,
                 const std::function<void(state_action)>& apply) {
  const auto& m = r.settings;
  const auto label = m.email + " (id " + std::to_string(m.id) + ")";
  switch (a) {
    case state_action::pause:
      if (m.state == mailbox_state::removed)
        throw bad_input("mailbox " + label + " is removed; `warmup mailbox resume " + m.email
                        + "` restores it first");
      if (m.state == mailbox_state::paused) {
        out << "mailbox " << label << " is paused already\n";
        return exit_ok;
      }
      apply(a);
      out << "paused mailbox " << label << ": it sends and engages no more until resumed\n";
      return exit_ok;
    case state_action::resume:
      if (m.state == mailbox_state::active || m.state == mailbox_state::throttled) {
        out << "mailbox " << label << " is " << to_string(m.state) << " already"
            << (m.state == mailbox_state::throttled
                  ? " (throttled by its spam placement; the ramp recovers after the cool-down)"
                  : "")
            << "\n";
        return exit_ok;
      }
      apply(a);
      out << "resumed mailbox " << label << " (was " << to_string(m.state) << ")\n";
      return exit_ok;
    case state_action::remove:
      if (m.state == mailbox_state::removed) {
        out << "mailbox " << label << " is removed already\n";
        return exit_ok;
      }
      apply(a);
      out << "removed mailbox " << label
          << "; its history is kept and `warmup mailbox resume " << m.email
          << "` restores it\n";
      return exit_ok;
  }
  return exit_ok;
}

std::optional<health_band> parse_band(const std::string& name) {
  for (auto b : {health_band::healthy, health_band::watch, health_band::throttle,
                 health_band::pause, health_band::block})
    if (to_string(b) == name)
      return b;
  return std::nullopt;
}

day_number day_of(const json& j, const char* key, day_number fallback) {
  day_number d = fallback;
  if (auto it = j.find(key); it != j.end() && it->is_string() && !it->get<std::string>().empty())
    parse_day(it->get<std::string>(), d);
  return d;
}

// A mailbox record from the API's JSON (a list item or a detail) laid over `base` (the
// stored record, or the configuration's defaults): the API's fields win, the ones it does
// not serve keep the base's.
storage::mailbox_record record_from_api(const nlohmann::json& j, storage::mailbox_record base) {
  auto& m = base.settings;
  auto str = [&](const char* key, std::string& out) {
    if (auto it = j.find(key); it != j.end() && it->is_string())
      out = it->get<std::string>();
  };
  m.id = j.value("id", m.id);
  str("email", m.email);
  str("display_name", m.display_name);
  str("provider", m.provider);
  str("organisation", m.organisation);
  str("timezone", m.timezone);
  str("ramp_preset", base.ramp_preset);
  if (auto t = parse_transport_kind(j.value("transport", std::string{})))
    m.transport = *t;
  if (auto st = parse_mailbox_state(j.value("state", std::string{})))
    m.state = *st;
  base.ramp.ramp_day = j.value("ramp_day", base.ramp.ramp_day);
  base.ramp.throttle_percent = j.value("throttle_percent", base.ramp.throttle_percent);
  if (auto b = parse_band(j.value("band", std::string{})))
    base.ramp.band = *b;
  base.ramp.paused_by_health = j.value("paused_by_health", base.ramp.paused_by_health);
  if (auto it = j.find("ramp"); it != j.end() && it->is_object()) {
    m.ramp.start = it->value("start", m.ramp.start);
    m.ramp.step = it->value("step", m.ramp.step);
    m.ramp.ceiling = it->value("ceiling", m.ramp.ceiling);
    m.ramp.variance = it->value("variance", m.ramp.variance);
    m.ramp.weekdays_only = it->value("weekdays_only", m.ramp.weekdays_only);
    m.ramp.weekend_factor = it->value("weekend_factor", m.ramp.weekend_factor);
  }
  if (auto it = j.find("ramp_state"); it != j.end() && it->is_object()) {
    base.ramp.ramp_day = it->value("ramp_day", base.ramp.ramp_day);
    base.ramp.cooldown_until = day_of(*it, "cooldown_until", 0);
  }
  if (auto it = j.find("window"); it != j.end() && it->is_object()) {
    m.window.start_minute = it->value("start_minute", m.window.start_minute);
    m.window.end_minute = it->value("end_minute", m.window.end_minute);
    m.window.min_gap_minutes = it->value("min_gap_minutes", m.window.min_gap_minutes);
  }
  m.created_day = day_of(j, "created_day", m.created_day);
  return base;
}

// What a record holds before the API's fields are laid over it: the stored record when
// the store is readable, else the configuration's defaults.
storage::mailbox_record base_record(storage::store* st, mailbox_id id,
                                    const config::engine_config& cfg) {
  if (st != nullptr)
    if (auto r = st->get_mailbox(id))
      return *r;
  storage::mailbox_record r;
  r.settings.ramp = cfg.ramp;
  r.settings.window = cfg.window;
  r.settings.engagement = cfg.engagement;
  return r;
}

std::unique_ptr<storage::store> try_open_read_only(const cli_session& s) {
  try {
    return s.open_store_read_only();
  } catch (const std::exception&) {
    return nullptr;   // a remote node: the API's fields are all there is
  }
}

// The id `ref` (an id or an email) names on the node; throws bad_input when it names none.
mailbox_id resolve_on_node(const api_client& node, const std::string& ref) {
  auto missing = [&] {
    return bad_input("no mailbox " + ref + " on the node at " + node.url()
                     + ": give an email or an id from `warmup mailbox list`");
  };
  if (all_digits(ref)) {
    unsigned long long id = 0;
    try {
      id = std::stoull(ref);
    } catch (const std::exception&) {
      throw missing();
    }
    if (id >= no_mailbox)
      throw missing();
    return static_cast<mailbox_id>(id);
  }
  const auto email = lower_ascii(ref);
  const auto at = email.find('@');
  if (at == std::string::npos)
    throw missing();
  const auto domain = email.substr(at + 1);
  // The API filters by domain, not by email: page through the domain's mailboxes.
  for (std::size_t offset = 0;; offset += 500) {
    auto page = node.get("/api/v1/mailboxes?state=all&limit=500&domain=" + url_encode(domain)
                         + "&offset=" + std::to_string(offset));
    const auto& items = page["items"];
    for (const auto& item : items)
      if (item.value("email", std::string{}) == email)
        return item.value("id", no_mailbox);
    if (items.empty() || offset + items.size() >= page.value("total", std::uint64_t{0}))
      throw missing();
  }
}

// GET /api/v1/mailboxes/{id}; a 404 is the user's unknown mailbox.
json mailbox_on_node(const api_client& node, mailbox_id id, const std::string& ref, int days) {
  try {
    return node.get("/api/v1/mailboxes/" + std::to_string(id) + "?days=" + std::to_string(days));
  } catch (const api_error& e) {
    if (e.status == 404)
      throw bad_input("no mailbox " + ref + " on the node at " + node.url()
                      + ": give an email or an id from `warmup mailbox list`");
    throw;
  }
}

storage::mailbox_filter list_filter(const mailbox_list_options& o) {
  storage::mailbox_filter f;
  if (!o.state.empty()) {
    auto state = parse_mailbox_state(lower_ascii(o.state));
    if (!state)
      throw bad_input("--state " + o.state
                      + ": unknown state: use active, paused, throttled, disconnected, "
                        "restarting or removed");
    f.state = state;
  }
  if (!o.provider.empty())
    f.provider = lower_ascii(o.provider);
  if (!o.domain.empty())
    f.domain = lower_ascii(o.domain);
  f.limit = o.limit;
  f.offset = o.offset;
  return f;
}

}  // namespace

int mailbox_update(const cli_session& s, const std::string& ref, const new_mailbox& changes,
                   bool oauth, std::ostream& out) {
  auto st = s.open_store();
  auto old = resolve_mailbox(*st, ref, s.store_path());
  const auto& m = old.settings;
  // The mailbox as it is, in the words of `mailbox add`, then the changes over it.
  new_mailbox merged;
  merged.email = m.email;
  merged.provider = m.provider;
  merged.timezone = m.timezone;
  merged.preset = old.ramp_preset == "custom" ? std::string{} : old.ramp_preset;
  merged.name = m.display_name;
  merged.organisation = m.organisation;
  const bool real = m.transport == transport_kind::smtp || changes.real_mail();
  if (real && old.account.configured()) {
    const auto& a = old.account;
    merged.smtp_host = a.smtp.host;
    merged.smtp_port = std::to_string(a.smtp.port);
    merged.smtp_security = std::string(to_string(a.smtp.security));
    merged.imap_host = a.imap.host;
    merged.imap_port = std::to_string(a.imap.port);
    merged.imap_security = std::string(to_string(a.imap.security));
    merged.username = a.username;
    merged.oauth_client_id = a.oauth_client_id;
    merged.token_url = a.token_url;
    merged.ca_file = a.ca_file;
    merged.tls_verify = a.tls_verify ? "true" : "false";
  }
  const bool new_secret = !changes.password.empty() || !changes.oauth_refresh_token.empty();
  if (real && !new_secret && !old.sealed_secret.empty()) {
    account_secret kept;
    try {
      kept = open_account_secret(old.sealed_secret);
    } catch (const std::exception& e) {
      throw bad_input(std::string("the stored secret of ") + m.email + " cannot be opened (" + e.what()
                      + "); give a new one with --password-stdin or --secret-env");
    }
    merged.password = kept.password;
    merged.oauth_refresh_token = kept.refresh_token;
    merged.oauth_client_secret = kept.client_secret;
  }
  auto over = [](std::string& field, const std::string& v) {
    if (!v.empty())
      field = v;
  };
  over(merged.provider, lower_ascii(changes.provider));
  over(merged.timezone, changes.timezone);
  over(merged.preset, changes.preset);
  over(merged.name, changes.name);
  over(merged.organisation, changes.organisation);
  over(merged.smtp_host, changes.smtp_host);
  over(merged.smtp_port, changes.smtp_port);
  over(merged.smtp_security, changes.smtp_security);
  over(merged.imap_host, changes.imap_host);
  over(merged.imap_port, changes.imap_port);
  over(merged.imap_security, changes.imap_security);
  over(merged.username, changes.username);
  over(merged.oauth_client_id, changes.oauth_client_id);
  over(merged.oauth_client_secret, changes.oauth_client_secret);
  over(merged.token_url, changes.token_url);
  over(merged.ca_file, changes.ca_file);
  over(merged.tls_verify, changes.tls_verify);
  if (new_secret) {
    // The new secret replaces the old one, of whichever kind it is.
    merged.password = oauth ? std::string{} : changes.password;
    merged.oauth_refresh_token = oauth ? changes.oauth_refresh_token : std::string{};
  }
  auto made = make_mailbox_record(s.cfg, merged, engine_now(st.get()));
  if (auto* err = std::get_if<std::string>(&made))
    throw bad_input(*err);
  auto rec = std::get<storage::mailbox_record>(std::move(made));
  // What the user does not own through this command stays as it is.
  rec.settings.id = m.id;
  rec.settings.created_day = m.created_day;
  rec.settings.state = m.state;
  rec.ramp = old.ramp;
  rec.created_at = old.created_at;
  if (changes.preset.empty() && old.ramp_preset == "custom") {
    rec.settings.ramp = m.ramp;
    rec.ramp_preset = old.ramp_preset;
  }
  if (!st->update_mailbox(rec))
    throw bad_input("no mailbox " + ref + " in " + s.store_path());
  out << "updated mailbox " << m.id << ": " << m.email;
  if (new_secret)
    out << "; new secret sealed";
  out << (m.state == mailbox_state::disconnected
            ? ". It is disconnected: `warmup mailbox resume " + m.email + "` lets it try again"
            : std::string{})
      << ". A running node applies the settings within about 5 s (the next plan follows "
         "them), new servers and secrets from its next start.\n";
  return exit_ok;
}

int mailbox_list(const cli_session& s, const mailbox_list_options& o, std::ostream& out) {
  auto f = list_filter(o);
  auto st = s.open_store();
  auto rows = st->list_mailboxes(f);
  std::uint64_t total = 0;
  if (!o.json) {
    auto all = f;
    all.limit = static_cast<std::size_t>(-1);
    all.offset = 0;
    total = st->count_mailboxes(all);
  }
  print_mailbox_list(rows, total, s.cfg.node.shard_count, o.json, out);
  return exit_ok;
}

int mailbox_list(const cli_session& s, const api_client& node, const mailbox_list_options& o,
                 std::ostream& out) {
  auto f = list_filter(o);
  std::string query;
  if (f.state)
    query += "&state=" + std::string(to_string(*f.state));
  if (f.provider)
    query += "&provider=" + url_encode(*f.provider);
  if (f.domain)
    query += "&domain=" + url_encode(*f.domain);
  std::vector<json> items;
  std::uint64_t total = 0;
  std::size_t offset = o.offset;
  while (items.size() < o.limit) {
    const std::size_t page_size = std::min<std::size_t>(500, o.limit - items.size());
    auto page = node.get("/api/v1/mailboxes?limit=" + std::to_string(page_size)
                         + "&offset=" + std::to_string(offset) + query);
    total = page.value("total", std::uint64_t{0});
    const auto& got = page["items"];
    for (const auto& item : got)
      items.push_back(item);
    offset += got.size();
    if (got.empty() || offset >= total)
      break;
  }
  // The table needs only what the API lists; the JSON shows whole records.
  auto st = o.json ? try_open_read_only(s) : nullptr;
  std::vector<storage::mailbox_record> rows;
  rows.reserve(items.size());
  for (const auto& item : items)
    rows.push_back(record_from_api(
      item, base_record(st.get(), item.value("id", no_mailbox), s.cfg)));
  print_mailbox_list(rows, total, s.cfg.node.shard_count, o.json, out);
  return exit_ok;
}

int mailbox_show(const cli_session& s, const std::string& ref, bool as_json, std::ostream& out) {
  auto st = s.open_store();
  auto r = resolve_mailbox(*st, ref, s.store_path());
  const auto& m = r.settings;
  auto today = local_day(engine_now(st.get()), m.timezone);
  auto rows = st->stats(m.id, today - 6, today);
  std::vector<day_stats> days;
  for (day_number d = today - 6; d <= today; ++d) {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const day_stats& x) { return x.day == d; });
    day_stats ds = it == rows.end() ? day_stats{} : *it;
    ds.day = d;
    days.push_back(ds);
  }
  print_mailbox(r, days, today, s.cfg.node.shard_count, as_json, out);
  return exit_ok;
}

int mailbox_show(const cli_session& s, const api_client& node, const std::string& ref,
                 bool as_json, std::ostream& out) {
  auto id = resolve_on_node(node, ref);
  auto j = mailbox_on_node(node, id, ref, 7);
  auto st = try_open_read_only(s);
  auto r = record_from_api(j, base_record(st.get(), id, s.cfg));
  std::vector<day_stats> days;
  for (const auto& h : j.value("history", json::array())) {
    day_stats d;
    d.day = day_of(h, "day", 0);
    d.planned = h.value("planned", d.planned);
    d.sent = h.value("sent", d.sent);
    d.inbox = h.value("inbox", d.inbox);
    d.spam = h.value("spam", d.spam);
    d.missing = h.value("missing", d.missing);
    d.bounces = h.value("bounces", d.bounces);
    d.replies = h.value("replies", d.replies);
    d.received = h.value("received", d.received);
    d.rescued = h.value("rescued", d.rescued);
    d.skipped = h.value("skipped", d.skipped);
    days.push_back(d);
  }
  const day_number today = days.empty() ? 0 : days.back().day;
  print_mailbox(r, days, today, s.cfg.node.shard_count, as_json, out);
  return exit_ok;
}

int mailbox_change_state(const cli_session& s, const std::string& ref, state_action a,
                         std::ostream& out) {
  auto st = s.open_store();
  auto r = resolve_mailbox(*st, ref, s.store_path());
  return change_state(r, a, out, [&](state_action what) {
    switch (what) {
      case state_action::pause: st->set_mailbox_state(r.settings.id, mailbox_state::paused); break;
      case state_action::resume: st->set_mailbox_state(r.settings.id, mailbox_state::active); break;
      case state_action::remove: st->remove_mailbox(r.settings.id); break;
    }
  });
}

int mailbox_change_state(const cli_session& s, const api_client& node, const std::string& ref,
                         state_action a, std::ostream& out) {
  auto id = resolve_on_node(node, ref);
  auto r = record_from_api(mailbox_on_node(node, id, ref, 1), base_record(nullptr, id, s.cfg));
  const auto target = "/api/v1/mailboxes/" + std::to_string(id);
  // The node changes the store and tells the mailbox actor at once.
  return change_state(r, a, out, [&](state_action what) {
    switch (what) {
      case state_action::pause: node.call("POST", target + "/pause"); break;
      case state_action::resume: node.call("POST", target + "/resume"); break;
      case state_action::remove: node.call("DELETE", target); break;
    }
  });
}

}  // namespace warmup::app
