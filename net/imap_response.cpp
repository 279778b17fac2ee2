// imap_response.cpp: a small IMAP response tokenizer and the readers built on it.
#include "net/imap_response.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace warmup::net {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::uint32_t> to_uint(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

// Reads tokens from `s` at `at` until the end or a closing parenthesis (consumed).
std::vector<imap_token> read_tokens(std::string_view s, std::size_t& at, int depth) {
  std::vector<imap_token> out;
  while (at < s.size()) {
    char c = s[at];
    if (c == ' ') {
      ++at;
      continue;
    }
    if (c == ')') {
      ++at;
      if (depth > 0)
        return out;
      continue;
    }
    imap_token t;
    if (c == '(') {
      ++at;
      t.kind = imap_token::type::list;
      if (depth < 16)
        t.items = read_tokens(s, at, depth + 1);
    } else if (c == '"') {
      t.kind = imap_token::type::string;
      ++at;
      while (at < s.size() && s[at] != '"') {
        if (s[at] == '\\' && at + 1 < s.size())
          ++at;
        t.text += s[at++];
      }
      ++at;   // closing quote
    } else if (c == '[') {
      // a response code stays one atom: "[COPYUID 1 2 3]"
      auto end = s.find(']', at);
      end = end == std::string_view::npos ? s.size() : end + 1;
      t.text = std::string(s.substr(at, end - at));
      at = end;
    } else {
      auto end = at;
      // atoms may hold '[' ... ']' (BODY[HEADER]) but end at space or parentheses
      while (end < s.size() && s[end] != ' ' && s[end] != '(' && s[end] != ')')
        ++end;
      t.text = std::string(s.substr(at, end - at));
      if (iequals(t.text, "NIL"))
        t.kind = imap_token::type::nil;
      at = end;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The words inside "[NAME ...]" anywhere in `line`, when NAME matches.
std::optional<std::vector<std::string>> response_code(std::string_view line, std::string_view name) {
  for (auto at = line.find('['); at != std::string_view::npos; at = line.find('[', at + 1)) {
    auto end = line.find(']', at);
    if (end == std::string_view::npos)
      return std::nullopt;
    auto inner = line.substr(at + 1, end - at - 1);
    std::vector<std::string> words;
    std::size_t p = 0;
    while (p < inner.size()) {
      auto sp = inner.find(' ', p);
      if (sp == std::string_view::npos)
        sp = inner.size();
      if (sp > p)
        words.emplace_back(inner.substr(p, sp - p));
      p = sp + 1;
    }
    if (!words.empty() && iequals(words.front(), name))
      return words;
  }
  return std::nullopt;
}

}  // namespace

std::vector<imap_token> tokenize_imap(std::string_view line) {
  std::size_t at = 0;
  return read_tokens(line, at, 0);
}

bool imap_folder::has(std::string_view attribute) const {
  return std::any_of(attributes.begin(), attributes.end(),
                     [&](const std::string& a) { return iequals(a, attribute); });
}

std::set<std::string> parse_capabilities(const std::vector<std::string>& lines) {
  std::set<std::string> caps;
  for (const auto& l : lines) {
    std::vector<std::string> words;
    if (starts_with_ci(l, "* CAPABILITY ")) {
      auto toks = tokenize_imap(std::string_view(l).substr(13));
      for (const auto& t : toks)
        words.push_back(t.text);
    } else if (starts_with_ci(l, "* OK [CAPABILITY ")) {
      if (auto code = response_code(l, "CAPABILITY"))
        words.assign(code->begin() + 1, code->end());
    }
    for (const auto& w : words)
      caps.insert(upper(w));
  }
  return caps;
}

std::vector<imap_folder> parse_list(const std::vector<std::string>& lines) {
  std::vector<imap_folder> out;
  for (const auto& l : lines) {
    if (!starts_with_ci(l, "* LIST ") && !starts_with_ci(l, "* XLIST "))
      continue;
    auto toks = tokenize_imap(std::string_view(l).substr(l.find(' ', 2) + 1));
    if (toks.size() < 3 || toks[0].kind != imap_token::type::list)
      continue;
    imap_folder f;
    for (const auto& a : toks[0].items)
      f.attributes.push_back(a.text);
    f.delimiter = toks[1].kind == imap_token::type::nil || toks[1].text.empty() ? '\0'
                                                                               : toks[1].text[0];
    f.name = toks[2].text;
    if (f.name.empty() || f.name.front() == '{')
      continue;   // a literal name we did not ask for
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<std::pair<std::string, char>> parse_namespace(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    if (!starts_with_ci(l, "* NAMESPACE "))
      continue;
    auto toks = tokenize_imap(std::string_view(l).substr(12));
    if (toks.empty() || toks[0].kind != imap_token::type::list || toks[0].items.empty())
      return std::pair<std::string, char>{"", '/'};
    const auto& first = toks[0].items[0];
    if (first.kind != imap_token::type::list || first.items.size() < 2)
      return std::pair<std::string, char>{"", '/'};
    char delim = first.items[1].kind == imap_token::type::nil || first.items[1].text.empty()
                     ? '\0'
                     : first.items[1].text[0];
    return std::pair<std::string, char>{first.items[0].text, delim};
  }
  return std::nullopt;
}

std::vector<std::uint32_t> parse_search(const std::vector<std::string>& lines) {
  std::vector<std::uint32_t> out;
  for (const auto& l : lines) {
    if (!starts_with_ci(l, "* SEARCH"))
      continue;
    for (const auto& t : tokenize_imap(std::string_view(l).substr(8)))
      if (auto v = to_uint(t.text))
        out.push_back(*v);
  }
  return out;
}

std::map<std::uint32_t, std::vector<std::string>> parse_fetch_flags(
    const std::vector<std::string>& lines) {
  std::map<std::uint32_t, std::vector<std::string>> out;
  for (const auto& l : lines) {
    auto toks = tokenize_imap(l);
    // "*" n "FETCH" (...)
    if (toks.size() < 4 || toks[0].text != "*" || !iequals(toks[2].text, "FETCH") ||
        toks[3].kind != imap_token::type::list)
      continue;
    const auto& items = toks[3].items;
    std::optional<std::uint32_t> uid;
    std::vector<std::string> flags;
    bool saw_flags = false;
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
      if (iequals(items[i].text, "UID"))
        uid = to_uint(items[i + 1].text);
      else if (iequals(items[i].text, "FLAGS")) {
        saw_flags = true;
        for (const auto& f : items[i + 1].items)
          flags.push_back(f.text);
      }
    }
    if (uid && saw_flags)
      out[*uid] = std::move(flags);
  }
  return out;
}

std::vector<std::uint32_t> expand_uid_set(std::string_view set, std::size_t limit) {
  std::vector<std::uint32_t> out;
  std::size_t at = 0;
  while (at <= set.size()) {
    auto comma = set.find(',', at);
    if (comma == std::string_view::npos)
      comma = set.size();
    auto part = set.substr(at, comma - at);
    auto colon = part.find(':');
    auto lo = to_uint(part.substr(0, colon));
    auto hi = colon == std::string_view::npos ? lo : to_uint(part.substr(colon + 1));
    if (!lo || !hi)
      return {};
    // "5:3" is the same set as "3:5" but COPYUID pairs them in ascending order
    auto a = std::min(*lo, *hi), b = std::max(*lo, *hi);
    if (b - a >= limit - std::min(limit, out.size()))
      return {};
    for (auto v = a;; ++v) {
      out.push_back(v);
      if (v == b)
        break;
    }
    at = comma + 1;
  }
  return out;
}

std::optional<imap_copyuid> parse_copyuid(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    auto code = response_code(l, "COPYUID");
    if (!code || code->size() != 4)
      continue;
    auto validity = to_uint((*code)[1]);
    auto src = expand_uid_set((*code)[2]);
    auto dst = expand_uid_set((*code)[3]);
    if (!validity || src.empty() || src.size() != dst.size())
      continue;
    imap_copyuid out;
    out.uidvalidity = *validity;
    for (std::size_t i = 0; i < src.size(); ++i)
      out.moved[src[i]] = dst[i];
    return out;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> parse_appenduid(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    auto code = response_code(l, "APPENDUID");
    if (code && code->size() == 3)
      if (auto uid = to_uint((*code)[2]))
        return uid;
  }
  return std::nullopt;
}

std::optional<imap_status_line> parse_tagged(const std::vector<std::string>& lines) {
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view l = *it;
    if (l.empty() || l[0] == '*' || l[0] == '+')
      continue;
    auto sp = l.find(' ');
    if (sp == std::string_view::npos)
      continue;
    imap_status_line s;
    s.tag = std::string(l.substr(0, sp));
    s.text = std::string(l.substr(sp + 1));
    auto sp2 = l.find(' ', sp + 1);
    s.status = upper(l.substr(sp + 1, sp2 == std::string_view::npos ? l.npos : sp2 - sp - 1));
    if (s.status != "OK" && s.status != "NO" && s.status != "BAD")
      continue;
    if (sp2 != std::string_view::npos && sp2 + 1 < l.size() && l[sp2 + 1] == '[') {
      auto end = l.find(']', sp2);
      if (end != std::string_view::npos) {
        auto inner = l.substr(sp2 + 2, end - sp2 - 2);
        s.code = std::string(inner.substr(0, inner.find(' ')));
      }
    }
    return s;
  }
  return std::nullopt;
}

special_folders pick_special_folders(const std::vector<imap_folder>& folders,
                                     const std::string& prefix, char delimiter) {
  special_folders out;
  out.prefix = prefix;
  out.delimiter = delimiter;
  auto by_attribute = [&](std::string_view attr) -> std::string {
    for (const auto& f : folders)
      if (f.has(attr))
        return f.name;
    return {};
  };
  auto by_name = [&](std::initializer_list<std::string_view> names) -> std::string {
    for (auto n : names)
      for (const auto& f : folders)
        if (iequals(f.name, n) || (!prefix.empty() && iequals(f.name, prefix + std::string(n))))
          return f.name;
    return {};
  };
  out.junk = by_attribute("\\Junk");
  if (out.junk.empty())
    out.junk = by_name({"[Gmail]/Spam", "[Google Mail]/Spam", "Junk Email", "Junk",
                        "Spam", "Bulk Mail", "Junk E-mail"});
  out.sent = by_attribute("\\Sent");
  if (out.sent.empty())
    out.sent = by_name({"[Gmail]/Sent Mail", "[Google Mail]/Sent Mail", "Sent Items", "Sent",
                        "Sent Messages", "Sent Mail"});
  out.archive = by_attribute("\\Archive");
  if (out.archive.empty())
    out.archive = by_name({"Archive", "Archives"});
  for (const auto& f : folders)
    if (iequals(f.name, "INBOX"))
      out.inbox = f.name;
  return out;
}

std::string imap_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string imap_url_path(std::string_view mailbox) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : mailbox) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
      out += c;
    else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::string imap_date(std::int64_t days) {
  // civil_from_days (H. Hinnant), proleptic Gregorian
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2)
    ++y;
  static constexpr std::array<std::string_view, 12> months{
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return std::to_string(d) + "-" + std::string(months[m - 1]) + "-" + std::to_string(y);
}

}  // namespace warmup::net
