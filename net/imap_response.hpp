// imap_response.hpp: reads the IMAP server's lines that libcurl hands back for our own
// commands: CAPABILITY, LIST (special-use), NAMESPACE, SEARCH, FETCH FLAGS, COPYUID,
// APPENDUID and tagged status; and picks the Junk/Sent/Archive folders from a LIST. Pure
// functions over text, unit-tested on captured responses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace warmup::net {

// One token of an IMAP response: an atom, a (quoted or literal) string, NIL or a list.
struct imap_token {
  enum class type : std::uint8_t { atom, string, nil, list };
  type kind = type::atom;
  std::string text;                  // atom or string value
  std::vector<imap_token> items;     // list members
};

// Tokens of one response line (a "{n}" literal is kept as the atom "{n}": our commands do
// not ask for any). Unbalanced input yields what could be read.
std::vector<imap_token> tokenize_imap(std::string_view line);

struct imap_folder {
  std::string name;                      // full name as the server spells it
  char delimiter = '/';                  // hierarchy separator, '\0' for NIL
  std::vector<std::string> attributes;   // "\\Junk", "\\HasNoChildren", ...
  bool has(std::string_view attribute) const;   // case-insensitive
};

// The tagged completion of a command: "A004 NO [TRYCREATE] Mailbox doesn't exist: X".
struct imap_status_line {
  std::string tag;
  std::string status;       // OK, NO, BAD
  std::string code;         // the response code without brackets, e.g. "TRYCREATE"
  std::string text;         // the whole line after the tag
};

struct imap_copyuid {
  std::uint32_t uidvalidity = 0;
  std::map<std::uint32_t, std::uint32_t> moved;   // source UID -> UID in the target
};

// Capabilities from "* CAPABILITY ..." or "* OK [CAPABILITY ...]" lines (upper case).
std::set<std::string> parse_capabilities(const std::vector<std::string>& lines);
// "* LIST (attrs) delim name" lines (also XLIST); others ignored.
std::vector<imap_folder> parse_list(const std::vector<std::string>& lines);
// The personal namespace's prefix and delimiter from "* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL".
std::optional<std::pair<std::string, char>> parse_namespace(const std::vector<std::string>& lines);
// Numbers of "* SEARCH 3 5 8" (UIDs for UID SEARCH).
std::vector<std::uint32_t> parse_search(const std::vector<std::string>& lines);
// UID -> flags of "* n FETCH (UID u FLAGS (...))" lines.
std::map<std::uint32_t, std::vector<std::string>> parse_fetch_flags(
    const std::vector<std::string>& lines);
// "[COPYUID v src dst]" in an untagged OK (MOVE) or tagged OK (COPY); ranges expanded in
// order (RFC 4315), at most 100,000 UIDs.
std::optional<imap_copyuid> parse_copyuid(const std::vector<std::string>& lines);
// The UID the server gave an appended message: "[APPENDUID v uid]".
std::optional<std::uint32_t> parse_appenduid(const std::vector<std::string>& lines);
// The last tagged line ("A005 OK ...") of a command, if any.
std::optional<imap_status_line> parse_tagged(const std::vector<std::string>& lines);
// A UID set "1:3,7" expanded (bounded); empty on malformed input.
std::vector<std::uint32_t> expand_uid_set(std::string_view set, std::size_t limit = 100'000);

// The folders a warmup engine uses, as full names ("" when the account has none).
struct special_folders {
  std::string inbox = "INBOX";
  std::string junk;
  std::string sent;
  std::string archive;
  std::string prefix;          // personal namespace prefix, e.g. "INBOX." or ""
  char delimiter = '/';
};

// Junk/Sent/Archive by special-use attribute first (RFC 6154), then by the names the big
// providers use ([Gmail]/Spam, Junk Email, Junk, Spam, Bulk Mail; Sent Items, Sent, ...),
// each name also tried under the namespace prefix; case-insensitive.
special_folders pick_special_folders(const std::vector<imap_folder>& folders,
                                     const std::string& prefix, char delimiter);

// A mailbox name as an IMAP quoted string: "Junk Email" -> "\"Junk Email\"".
std::string imap_quote(std::string_view s);
// A mailbox name for the path of an imap:// URL (percent-encoded, '/' kept).
std::string imap_url_path(std::string_view mailbox);
// "28-Nov-2026" for SEARCH BEFORE, from days since 1970-01-01.
std::string imap_date(std::int64_t days_since_epoch);

}  // namespace warmup::net
