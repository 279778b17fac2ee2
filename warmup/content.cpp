// content.cpp: composes warmup mail from the shipped corpus (subjects, bodies, threaded
// replies), styles Message-IDs after the sending provider and writes RFC 5322 text.
#include "warmup/content.hpp"

#include "warmup/corpus.hpp"
#include "warmup/random.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace warmup {

namespace {

// Seed streams: the Message-ID draws from its own stream so that changing the text
// corpus never changes ids (and the other way round).
constexpr std::uint64_t message_id_stream = 0x6d73672d6964ULL;  // "msg-id"

template <class Span>
std::string_view pick(rng& r, const Span& items) {
  auto i = r.uniform_int(0, static_cast<std::int64_t>(items.size()) - 1);
  return items[static_cast<std::size_t>(i)];
}

char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

char upper_ascii(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool contains_lower(std::string_view haystack, std::string_view needle) {
  std::string lower(haystack);
  for (auto& c : lower)
    c = lower_ascii(c);
  return lower.find(needle) != std::string::npos;
}

enum class id_style { gmail, outlook, yahoo, generic };

id_style style_of(std::string_view provider) {
  for (auto key : {"gmail", "google", "workspace"})
    if (contains_lower(provider, key))
      return id_style::gmail;
  for (auto key : {"outlook", "microsoft", "office365", "m365", "hotmail", "live"})
    if (contains_lower(provider, key))
      return id_style::outlook;
  for (auto key : {"yahoo", "aol"})
    if (contains_lower(provider, key))
      return id_style::yahoo;
  return id_style::generic;
}

// Appends `n` characters drawn from `alphabet` (whose size is a power of two, <= 64).
void append_drawn(std::string& out, rng& r, std::string_view alphabet, int n) {
  const auto mask = static_cast<std::uint64_t>(alphabet.size() - 1);
  std::uint64_t bits = 0;
  int left = 0;
  for (int i = 0; i < n; ++i) {
    if (left < 6) {
      bits = r.next();
      left = 64;
    }
    out += alphabet[static_cast<std::size_t>(bits & mask)];
    bits >>= 6;
    left -= 6;
  }
}

constexpr std::string_view base64ish =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_";
constexpr std::string_view upper_hex = "0123456789ABCDEF";
constexpr std::string_view lower_hex = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t v, int digits, std::string_view alphabet) {
  for (int i = digits - 1; i >= 0; --i)
    out += alphabet[(v >> (4 * i)) & 0xF];
}

// --- names -----------------------------------------------------------------------------

// "jane.doe42@x" -> "Jane Doe": what a client shows when no display name is set.
std::string name_from_address(std::string_view email) {
  auto local = email.substr(0, email.find('@'));
  std::string out;
  bool start = true;
  for (char c : local) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter) {
      start = true;
      continue;
    }
    if (start && !out.empty())
      out += ' ';
    out += start ? upper_ascii(c) : lower_ascii(c);
    start = false;
  }
  return out.empty() ? std::string(local) : out;
}

std::string display_name_of(const mailbox_settings& m) {
  return m.display_name.empty() ? name_from_address(m.email) : m.display_name;
}

std::string first_name(std::string_view name) {
  auto begin = name.find_first_not_of(' ');
  if (begin == std::string_view::npos)
    return {};
  auto end = name.find(' ', begin);
  auto word = name.substr(begin, end == std::string_view::npos ? end : end - begin);
  // "Doe, Jane" or "Ann;" would leave punctuation in "Hi Doe,,".
  while (!word.empty() && (word.back() == ',' || word.back() == ';' || word.back() == ':'))
    word.remove_suffix(1);
  return std::string(word);
}

// --- templates -------------------------------------------------------------------------

std::string capitalised(std::string_view s) {
  std::string out(s);
  if (!out.empty())
    out[0] = upper_ascii(out[0]);
  return out;
}

std::string filled(std::string_view tmpl, std::string_view topic, std::string_view first) {
  std::string out;
  out.reserve(tmpl.size() + topic.size() + first.size());
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 3, "{t}") == 0) {
      out += topic;
      i += 3;
    } else if (tmpl.compare(i, 3, "{T}") == 0) {
      out += capitalised(topic);
      i += 3;
    } else if (tmpl.compare(i, 7, "{first}") == 0) {
      out += first;
      i += 7;
    } else {
      out += tmpl[i++];
    }
  }
  // A greeting for a nameless recipient ("Hi ,") reads better without the gap.
  for (auto bad : {std::string_view{" ,"}, std::string_view{" !"}})
    for (auto at = out.find(bad); at != std::string::npos; at = out.find(bad))
      out.erase(at, 1);
  if (!out.empty() && (out[0] == ',' || out[0] == '!'))
    out.clear();
  return out;
}

// --- dates -----------------------------------------------------------------------------

struct civil_time {
  int year, month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
};

// Howard Hinnant's civil_from_days: exact for the proleptic Gregorian calendar.
civil_time civil_of(time_ms t) {
  std::int64_t secs = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t sod = secs - days * 86400;
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<std::uint64_t>(z - era * 146097);
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  auto d = doy - (153 * mp + 2) / 5 + 1;
  auto m = mp < 10 ? mp + 3 : mp - 9;
  civil_time c{};
  c.year = static_cast<int>(y + (m <= 2 ? 1 : 0));
  c.month = static_cast<int>(m);
  c.day = static_cast<int>(d);
  c.hour = static_cast<int>(sod / 3600);
  c.minute = static_cast<int>(sod / 60 % 60);
  c.second = static_cast<int>(sod % 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  return c;
}

constexpr std::array<const char*, 7> weekday_names = {"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> month_names = {"Jan", "Feb", "Mar", "Apr",
                                                     "May", "Jun", "Jul", "Aug",
                                                     "Sep", "Oct", "Nov", "Dec"};

// RFC 5322 date-time in UTC: "Tue, 03 Mar 2026 10:14:05 +0000".
std::string rfc5322_date(time_ms t) {
  auto c = civil_of(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                weekday_names[static_cast<std::size_t>(c.weekday)], c.day,
                month_names[static_cast<std::size_t>(c.month - 1)], c.year, c.hour,
                c.minute, c.second);
  return buf;
}

// The attribution line above a quote: "On Tue, 3 Mar 2026 at 10:14, Jane <j@x> wrote:".
std::string attribution(const mail_message& parent) {
  auto c = civil_of(parent.date);
  char buf[64];
  std::snprintf(buf, sizeof buf, "On %s, %d %s %04d at %02d:%02d, ",
                weekday_names[static_cast<std::size_t>(c.weekday)], c.day,
                month_names[static_cast<std::size_t>(c.month - 1)], c.year, c.hour,
                c.minute);
  std::string out = buf;
  if (!parent.from_name.empty())
    out += parent.from_name + " <" + parent.from + ">";
  else
    out += parent.from;
  out += " wrote:";
  return out;
}

// The parent's own words (up to its attribution line, if it quotes in turn), at most a
// few lines, each prefixed like a mail client does.
std::string quoted_excerpt(const mail_message& parent) {
  constexpr int max_lines = 12;
  std::vector<std::string_view> lines;
  std::string_view body = parent.body;
  while (!body.empty() && static_cast<int>(lines.size()) < max_lines) {
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    if (line.starts_with("On ") && line.ends_with("wrote:"))
      break;
    lines.push_back(line);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
  }
  while (!lines.empty() && lines.back().empty())
    lines.pop_back();
  std::string out;
  for (auto line : lines) {
    out += line.empty() ? ">" : "> ";
    out += line;
    out += '\n';
  }
  return out;
}

std::string strip_reply_prefixes(std::string_view subject) {
  for (;;) {
    auto begin = subject.find_first_not_of(' ');
    if (begin == std::string_view::npos)
      return {};
    subject.remove_prefix(begin);
    if (subject.size() >= 3 && lower_ascii(subject[0]) == 'r'
        && lower_ascii(subject[1]) == 'e' && subject[2] == ':')
      subject.remove_prefix(3);
    else
      return std::string(subject);
  }
}

// --- RFC 5322 text ---------------------------------------------------------------------

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80)
      return false;
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    auto v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16)
             | (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8)
             | std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    auto v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2)
      v |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Header text: ASCII as is, anything else as an RFC 2047 encoded word.
std::string header_text(std::string_view text) {
  if (is_ascii(text))
    return std::string(text);
  return "=?UTF-8?B?" + base64(text) + "?=";
}

bool is_atext_or_space(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view{" !#$%&'*+-/=?^_`{|}~"}.find(c) != std::string_view::npos;
}

// "Jane Doe <jane@x>", quoting or encoding the name when it needs it.
std::string mailbox_header(std::string_view name, std::string_view address) {
  if (name.empty())
    return std::string(address);
  std::string out;
  if (!is_ascii(name)) {
    out = header_text(name);
  } else {
    bool plain = true;
    for (char c : name)
      plain = plain && is_atext_or_space(c);
    if (plain) {
      out = name;
    } else {
      out = "\"";
      for (char c : name) {
        if (c == '"' || c == '\\')
          out += '\\';
        out += c;
      }
      out += '"';
    }
  }
  return out + " <" + std::string(address) + ">";
}

// Writes "Name: value" and folds at spaces so no line exceeds 78 characters where the
// value allows it (References grows with every turn).
void put_header(std::string& out, std::string_view name, std::string_view value) {
  std::string line = std::string(name) + ": ";
  std::size_t line_len = line.size();
  out += line;
  std::size_t i = 0;
  while (i < value.size()) {
    auto sp = value.find(' ', i);
    auto word = value.substr(i, sp == std::string_view::npos ? sp : sp - i);
    if (i > 0) {
      if (line_len + 1 + word.size() > 78) {
        out += "\r\n ";
        line_len = 1;
      } else {
        out += ' ';
        ++line_len;
      }
    }
    out += word;
    line_len += word.size();
    if (sp == std::string_view::npos)
      break;
    i = sp + 1;
  }
  out += "\r\n";
}

// Quoted-printable body (RFC 2045) for text that is not plain 7-bit ASCII.
std::string quoted_printable(std::string_view text) {
  std::string out;
  std::size_t col = 0;
  auto emit = [&](std::string_view piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    bool line_end_next = i + 1 == text.size() || text[i + 1] == '\n';
    bool literal = (c >= 33 && c <= 126 && c != '=') || (c == ' ' && !line_end_next);
    if (literal) {
      char s[1] = {static_cast<char>(c)};
      emit(std::string_view{s, 1});
    } else {
      char s[3] = {'=', upper_hex[c >> 4], upper_hex[c & 0xF]};
      emit(std::string_view{s, 3});
    }
  }
  return out;
}

std::size_t saturating_product(std::initializer_list<std::size_t> factors) {
  std::size_t out = 1;
  for (auto f : factors) {
    if (f != 0 && out > std::numeric_limits<std::size_t>::max() / f)
      return std::numeric_limits<std::size_t>::max();
    out *= f;
  }
  return out;
}

}  // namespace

std::string make_message_id(std::string_view provider, std::string_view sender_domain,
                            std::uint64_t seed) {
  rng r(seed);
  std::string out = "<";
  switch (style_of(provider)) {
    case id_style::gmail:
      out += "CA";
      append_drawn(out, r, base64ish, 40);
      out += "@mail.gmail.com>";
      break;
    case id_style::outlook: {
      // The sending mailbox server stays the same for a domain, as it does at Microsoft;
      // the id part after it is random (112 bits).
      static constexpr std::array<std::string_view, 10> prefixes = {
        "BN", "SJ0", "DM6", "CH2", "MW4", "PH0", "DB9", "AM6", "VI1", "PA4"};
      auto h = stable_hash(sender_domain);
      auto prefix = prefixes[h % prefixes.size()];
      char server[40];
      std::snprintf(server, sizeof server, "%.*sPR%02uMB%04u",
                    static_cast<int>(prefix.size()), prefix.data(),
                    static_cast<unsigned>((h >> 8) % 20 + 1),
                    static_cast<unsigned>((h >> 16) % 9000 + 1000));
      bool europe = prefix == "DB9" || prefix == "AM6" || prefix == "VI1" || prefix == "PA4";
      char region[24];
      std::snprintf(region, sizeof region, "%s%02u", europe ? "EURPRD" : "NAMPRD",
                    static_cast<unsigned>((h >> 32) % 20 + 1));
      out += server;
      append_hex(out, r.next(), 16, upper_hex);
      append_hex(out, r.next(), 12, upper_hex);
      out += '@';
      out += server;
      out += '.';
      out += region;
      out += ".PROD.OUTLOOK.COM>";
      break;
    }
    case id_style::yahoo: {
      auto a = 1000000000ULL + r.next() % 1000000000ULL;
      auto b = 1000000000000ULL + r.next() % 8000000000000ULL;
      out += std::to_string(a) + "." + std::to_string(b) + "@mail.yahoo.com>";
      break;
    }
    case id_style::generic:
      append_hex(out, r.next(), 16, lower_hex);
      out += '.';
      append_hex(out, r.next(), 16, lower_hex);
      out += '@';
      out += sender_domain.empty() ? std::string_view{"localhost"} : sender_domain;
      out += '>';
      break;
  }
  return out;
}

mail_message compose_opener(std::uint64_t seed, const mailbox_settings& from,
                            const mailbox_settings& to, time_ms date, body_text with) {
  const auto& c = corpus::shipped();
  rng r(seed);
  mail_message m;
  m.from = from.email;
  m.from_name = display_name_of(from);
  m.to = to.email;
  m.to_name = display_name_of(to);
  m.date = date;
  m.turn = 1;
  m.message_id = make_message_id(from.provider, email_domain(from.email),
                                 seed_of(seed, message_id_stream));
  m.thread = stable_hash(m.message_id);

  const auto topic = pick(r, c.topics);
  m.subject = filled(pick(r, c.subject_templates), topic, {});
  if (with == body_text::omit)
    return m;   // the body's draws come after every other field's

  const auto to_first = first_name(m.to_name);
  const auto greeting = filled(pick(r, c.greetings), topic, to_first);
  const bool with_opener = r.chance(0.7);
  const auto opener = pick(r, c.openers);
  const auto topic_line = filled(pick(r, c.topic_lines), topic, to_first);
  const auto detail = pick(r, c.details);
  const auto question = pick(r, c.questions);
  const auto closer = pick(r, c.closers);
  const auto sign_off = pick(r, c.sign_offs);

  std::string body;
  if (!greeting.empty())
    body += greeting + "\n\n";
  if (with_opener) {
    body += opener;
    body += ' ';
  }
  body += topic_line;
  body += ' ';
  body += detail;
  body += "\n\n";
  body += question;
  if (!closer.empty()) {
    body += ' ';
    body += closer;
  }
  body += "\n\n";
  body += sign_off;
  body += '\n';
  body += first_name(m.from_name);
  body += '\n';
  m.body = std::move(body);
  return m;
}

mail_message compose_reply(std::uint64_t seed, const mailbox_settings& from,
                           const mail_message& parent, time_ms date, body_text with) {
  const auto& c = corpus::shipped();
  rng r(seed);
  mail_message m;
  m.from = from.email;
  m.from_name = display_name_of(from);
  m.to = parent.from;
  m.to_name = parent.from_name;
  // Reply-all, as people do on small threads: whoever else was on the parent stays on.
  auto keep = [&](const std::string& addr) {
    if (addr.empty() || addr == m.from || addr == m.to)
      return;
    for (const auto& have : m.cc)
      if (have == addr)
        return;
    m.cc.push_back(addr);
  };
  keep(parent.to);
  for (const auto& addr : parent.cc)
    keep(addr);
  m.date = date;
  m.turn = parent.turn + 1;
  m.thread = parent.thread != 0 ? parent.thread : stable_hash(parent.message_id);
  m.message_id = make_message_id(from.provider, email_domain(from.email),
                                 seed_of(seed, message_id_stream));
  m.subject = "Re: " + strip_reply_prefixes(parent.subject);
  m.in_reply_to = parent.message_id;
  m.references = parent.references.empty() ? parent.message_id
                                           : parent.references + " " + parent.message_id;
  if (with == body_text::omit)
    return m;   // the body's draws come after every other field's

  const auto greeting = filled(pick(r, c.reply_greetings), {}, first_name(m.to_name));
  const auto answer = pick(r, c.answers);
  const auto follow_up = pick(r, c.follow_ups);
  const auto sign_off = pick(r, c.reply_sign_offs);

  std::string body;
  if (!greeting.empty())
    body += greeting + "\n\n";
  body += answer;
  if (!follow_up.empty()) {
    body += ' ';
    body += follow_up;
  }
  body += "\n\n";
  if (!sign_off.empty()) {
    body += sign_off;
    body += '\n';
  }
  body += first_name(m.from_name);
  body += "\n\n";
  body += attribution(parent);
  body += '\n';
  body += quoted_excerpt(parent);
  m.body = std::move(body);
  return m;
}

std::string to_rfc5322(const mail_message& m) {
  std::string out;
  put_header(out, "Date", rfc5322_date(m.date));
  put_header(out, "From", mailbox_header(m.from_name, m.from));
  put_header(out, "To", mailbox_header(m.to_name, m.to));
  if (!m.cc.empty()) {
    std::string cc;
    for (const auto& addr : m.cc)
      cc += (cc.empty() ? "" : ", ") + addr;
    put_header(out, "Cc", cc);
  }
  put_header(out, "Subject", header_text(m.subject));
  put_header(out, "Message-ID", m.message_id);
  if (!m.in_reply_to.empty())
    put_header(out, "In-Reply-To", m.in_reply_to);
  if (!m.references.empty())
    put_header(out, "References", m.references);
  put_header(out, "MIME-Version", "1.0");
  put_header(out, "Content-Type", "text/plain; charset=UTF-8");
  // SMTP limits lines to 998 octets; 7bit is only honest for short ASCII lines.
  bool plain = is_ascii(m.body);
  for (std::size_t at = 0, nl = 0; plain && at <= m.body.size(); at = nl + 1) {
    nl = m.body.find('\n', at);
    if (nl == std::string::npos)
      nl = m.body.size();
    plain = nl - at <= 998;
  }
  put_header(out, "Content-Transfer-Encoding", plain ? "7bit" : "quoted-printable");
  out += "\r\n";
  if (plain) {
    for (char ch : m.body) {
      if (ch == '\n')
        out += "\r\n";
      else if (ch != '\r')
        out += ch;
    }
  } else {
    out += quoted_printable(m.body);
  }
  if (!out.ends_with("\r\n"))
    out += "\r\n";
  return out;
}

std::size_t corpus_subject_count() {
  const auto& c = corpus::shipped();
  return saturating_product({c.subject_templates.size(), c.topics.size()});
}

std::size_t corpus_body_count() {
  const auto& c = corpus::shipped();
  return saturating_product({c.greetings.size(), c.openers.size() + 1, c.topic_lines.size(),
                             c.topics.size(), c.details.size(), c.questions.size(),
                             c.closers.size(), c.sign_offs.size()});
}

}  // namespace warmup
