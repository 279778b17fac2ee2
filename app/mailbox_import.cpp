// mailbox_import.cpp: CSV import: the whole file is read and checked for its header first
// (so a wrong column imports nothing), then rows are validated and added one by one.
#include "app/mailbox_import.hpp"

#include "app/csv_reader.hpp"
#include "app/mailbox_commands.hpp"
#include "config/config.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <unordered_map>

namespace warmup::app {

namespace {

enum class column {
  email, provider, timezone, preset, name, organisation,
  smtp_host, smtp_port, smtp_security, imap_host, imap_port, imap_security, username,
  password, oauth_refresh_token, oauth_client_id, oauth_client_secret, token_url, ca_file,
  tls_verify
};

const std::array<std::pair<std::string_view, column>, 21> column_names = {{
  {"email", column::email},
  {"provider", column::provider},
  {"timezone", column::timezone},
  {"preset", column::preset},
  {"name", column::name},
  {"organisation", column::organisation},
  {"organization", column::organisation},   // the US spelling, as spreadsheets write it
  {"smtp_host", column::smtp_host},
  {"smtp_port", column::smtp_port},
  {"smtp_security", column::smtp_security},
  {"imap_host", column::imap_host},
  {"imap_port", column::imap_port},
  {"imap_security", column::imap_security},
  {"username", column::username},
  {"password", column::password},
  {"oauth_refresh_token", column::oauth_refresh_token},
  {"oauth_client_id", column::oauth_client_id},
  {"oauth_client_secret", column::oauth_client_secret},
  {"token_url", column::token_url},
  {"ca_file", column::ca_file},
  {"tls_verify", column::tls_verify},
}};

const char* const columns_help =
  "the columns are email (required), provider, timezone, preset, name, organisation, and "
  "for real mail smtp_host, smtp_port, smtp_security, imap_host, imap_port, imap_security, "
  "username, password or oauth_refresh_token (with oauth_client_id, oauth_client_secret, "
  "token_url), ca_file, tls_verify";

// Draws "[=====>    ] 52% 5200/10000" over itself on a terminal.
class progress_bar {
public:
  progress_bar(std::ostream& err, bool enabled, std::size_t total)
    : err_(err), enabled_(enabled && total > 0), total_(total) {}

  void update(std::size_t done) {
    if (!enabled_)
      return;
    int pct = static_cast<int>(done * 100 / total_);
    if (pct == last_pct_ && done != total_)
      return;
    last_pct_ = pct;
    constexpr int width = 30;
    int filled = pct * width / 100;
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < width)
      bar += '>';
    bar.resize(width, ' ');
    err_ << "\r[" << bar << "] " << pct << "% " << done << "/" << total_ << std::flush;
  }

  void finish() {
    if (enabled_ && last_pct_ >= 0)
      err_ << "\n" << std::flush;
  }

private:
  std::ostream& err_;
  bool enabled_;
  std::size_t total_;
  int last_pct_ = -1;
};

struct bad_row {
  std::size_t line;
  std::string reason;
};

}  // namespace

int mailbox_import(const cli_session& s, const std::string& file, bool progress,
                   std::ostream& out, std::ostream& err) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw bad_input("cannot open " + file + ": no such file or not readable; give the path of "
                    "a CSV file with a header row (" + columns_help + ")");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();

  csv_reader reader(text);
  std::optional<csv_record> header;
  while ((header = reader.next()) && header->blank() && !header->problem) {
  }
  if (!header)
    throw bad_input(file + ": the file is empty; the first row must name the columns ("
                    + columns_help + ")");
  if (header->problem)
    throw bad_input(file + ":" + std::to_string(header->line) + ": header row: "
                    + *header->problem);

  std::vector<column> columns;
  std::map<column, std::string> seen_columns;
  for (const auto& raw : header->fields) {
    auto name = lower_ascii(raw);
    auto it = std::find_if(column_names.begin(), column_names.end(),
                           [&](const auto& c) { return c.first == name; });
    if (it == column_names.end()) {
      std::string msg = file + ":" + std::to_string(header->line) + ": unknown column \"" + raw
                        + "\"";
      // The nearest known column, if it is near enough to be what was meant.
      std::string_view best;
      std::size_t best_distance = static_cast<std::size_t>(-1);
      for (const auto& c : column_names)
        if (auto d = config::edit_distance(name, c.first); d < best_distance) {
          best = c.first;
          best_distance = d;
        }
      if (best_distance <= std::max<std::size_t>(2, name.size() / 3))
        msg += " (did you mean \"" + std::string(best) + "\"?)";
      throw bad_input(msg + "; " + columns_help + "; nothing was imported");
    }
    if (seen_columns.count(it->second))
      throw bad_input(file + ":" + std::to_string(header->line) + ": column \"" + raw
                      + "\" appears twice (as \"" + seen_columns[it->second]
                      + "\"); nothing was imported");
    seen_columns[it->second] = raw;
    columns.push_back(it->second);
  }
  if (!seen_columns.count(column::email))
    throw bad_input(file + ":" + std::to_string(header->line)
                    + ": no \"email\" column; " + columns_help + "; nothing was imported");

  std::vector<csv_record> rows;
  while (auto rec = reader.next())
    if (!rec->blank() || rec->problem)
      rows.push_back(std::move(*rec));

  auto st = s.open_store();
  const time_ms now = engine_now(st.get());
  std::unordered_map<std::string, std::size_t> line_of_email;
  std::vector<bad_row> bad;
  std::size_t imported = 0;
  progress_bar bar(err, progress, rows.size());

  for (std::size_t i = 0; i < rows.size(); ++i) {
    bar.update(i);
    const auto& row = rows[i];
    if (row.problem) {
      bad.push_back({row.line, *row.problem});
      continue;
    }
    if (row.fields.size() > columns.size()) {
      bad.push_back({row.line, "has " + std::to_string(row.fields.size())
                                 + " fields but the header names "
                                 + std::to_string(columns.size())
                                 + " columns (quote fields that contain commas)"});
      continue;
    }
    new_mailbox nm;
    for (std::size_t c = 0; c < row.fields.size(); ++c) {
      const auto& v = row.fields[c];
      switch (columns[c]) {
        case column::email: nm.email = v; break;
        case column::provider: nm.provider = v; break;
        case column::timezone: nm.timezone = v; break;
        case column::preset: nm.preset = v; break;
        case column::name: nm.name = v; break;
        case column::organisation: nm.organisation = v; break;
        case column::smtp_host: nm.smtp_host = v; break;
        case column::smtp_port: nm.smtp_port = v; break;
        case column::smtp_security: nm.smtp_security = v; break;
        case column::imap_host: nm.imap_host = v; break;
        case column::imap_port: nm.imap_port = v; break;
        case column::imap_security: nm.imap_security = v; break;
        case column::username: nm.username = v; break;
        case column::password: nm.password = v; break;
        case column::oauth_refresh_token: nm.oauth_refresh_token = v; break;
        case column::oauth_client_id: nm.oauth_client_id = v; break;
        case column::oauth_client_secret: nm.oauth_client_secret = v; break;
        case column::token_url: nm.token_url = v; break;
        case column::ca_file: nm.ca_file = v; break;
        case column::tls_verify: nm.tls_verify = v; break;
      }
    }
    auto made = make_mailbox_record(s.cfg, nm, now);
    if (auto* e = std::get_if<std::string>(&made)) {
      bad.push_back({row.line, *e});
      continue;
    }
    auto& rec = std::get<storage::mailbox_record>(made);
    auto [first, inserted] = line_of_email.emplace(rec.settings.email, row.line);
    if (!inserted) {
      bad.push_back({row.line, "duplicate: " + rec.settings.email + " is on line "
                                 + std::to_string(first->second) + " already"});
      continue;
    }
    try {
      st->add_mailbox(rec);
      ++imported;
    } catch (const storage::duplicate_mailbox&) {
      bad.push_back({row.line, "duplicate: " + rec.settings.email
                                 + " is in the store already (see `warmup mailbox show "
                                 + rec.settings.email + "`)"});
    }
  }
  bar.update(rows.size());
  bar.finish();

  constexpr std::size_t shown_max = 1000;   // keep a broken 100k-row file readable
  for (std::size_t i = 0; i < bad.size() && i < shown_max; ++i)
    err << file << ":" << bad[i].line << ": skipped: " << bad[i].reason << "\n";
  if (bad.size() > shown_max)
    err << file << ": " << (bad.size() - shown_max) << " more bad rows not shown\n";
  out << "imported " << imported << ", skipped " << bad.size() << "\n";
  if (!bad.empty())
    err << "the good rows are imported; fix the rows above and import just those (rows "
           "imported already would be skipped as duplicates)\n";
  return bad.empty() ? exit_ok : exit_bad_input;
}

}  // namespace warmup::app
