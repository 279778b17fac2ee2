// open_store.cpp: the store backend chosen by URL scheme, and URL redaction for messages.
#include "storage/open_store.hpp"

#include <filesystem>

namespace warmup::storage {

namespace {

constexpr std::string_view scheme_sep = "://";

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    auto c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Where the authority's "user:password@" password sits: [begin, end) in `url`, or
// {npos, npos}.
std::pair<std::size_t, std::size_t> authority_password(const std::string& url) {
  auto start = url.find(scheme_sep);
  if (start == std::string::npos)
    return {std::string::npos, std::string::npos};
  start += scheme_sep.size();
  auto end = url.find_first_of("/?#", start);
  if (end == std::string::npos)
    end = url.size();
  // The last '@' of the authority ends the user info (a password may contain '@' only
  // percent-encoded, but be lenient).
  auto at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start)
    return {std::string::npos, std::string::npos};
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at)
    return {std::string::npos, std::string::npos};
  return {colon + 1, at};
}

// Each `password=` parameter's value in the query: [begin, end) ranges.
std::vector<std::pair<std::size_t, std::size_t>> query_passwords(const std::string& url) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  auto q = url.find('?');
  if (q == std::string::npos)
    return out;
  auto pos = q + 1;
  while (pos < url.size()) {
    auto amp = url.find('&', pos);
    if (amp == std::string::npos)
      amp = url.size();
    constexpr std::string_view key = "password=";
    if (starts_with_ci(std::string_view(url).substr(pos, amp - pos), key))
      out.emplace_back(pos + key.size(), amp);
    pos = amp + 1;
  }
  return out;
}

}  // namespace

std::string sqlite_path_in(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "warmup.db").string();
}

std::string redact_url(const std::string& url) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges = query_passwords(url);
  auto auth = authority_password(url);
  if (auth.first != std::string::npos)
    ranges.insert(ranges.begin(), auth);
  std::string out;
  std::size_t pos = 0;
  for (auto [b, e] : ranges) {
    out.append(url, pos, b - pos);
    out += "***";
    pos = e;
  }
  out.append(url, pos, std::string::npos);
  return out;
}

std::string password_of(const std::string& url) {
  auto auth = authority_password(url);
  if (auth.first != std::string::npos)
    return percent_decode(std::string_view(url).substr(auth.first, auth.second - auth.first));
  auto qs = query_passwords(url);
  if (!qs.empty())
    return percent_decode(
      std::string_view(url).substr(qs.front().first, qs.front().second - qs.front().first));
  return {};
}

std::unique_ptr<store> open_store(const std::string& database_url, const std::string& data_dir,
                                  bool read_only) {
  if (database_url.empty()) {
    std::error_code ec;
    if (!read_only && !data_dir.empty())
      std::filesystem::create_directories(data_dir, ec);
    if (ec)
      throw store_error("data directory '" + data_dir + "': cannot create it: " + ec.message());
    return open_sqlite(sqlite_path_in(data_dir), read_only);
  }
  if (starts_with_ci(database_url, "postgres://") || starts_with_ci(database_url, "postgresql://")) {
    postgres_options o;
    o.read_only = read_only;
    return open_postgres(database_url, o);
  }
  auto sep = database_url.find(scheme_sep);
  std::string scheme = sep == std::string::npos ? std::string{} : database_url.substr(0, sep);
  throw store_error("database URL " + redact_url(database_url) + ": "
                    + (scheme.empty() ? std::string("no scheme")
                                      : "unsupported scheme '" + scheme + "'")
                    + "; use postgres://user@host:port/db for PostgreSQL, or leave it empty for "
                      "the embedded SQLite store in the data directory");
}

}  // namespace warmup::storage
