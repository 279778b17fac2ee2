// csv_reader.cpp: a single-pass RFC 4180 reader that keeps going after a malformed record
// so one bad row does not hide the others.
#include "app/csv_reader.hpp"

namespace warmup::app {

namespace {
std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}
}  // namespace

bool csv_record::blank() const {
  for (const auto& f : fields)
    if (!f.empty())
      return false;
  return true;
}

csv_reader::csv_reader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF")
    pos_ = 3;
}

std::optional<csv_record> csv_reader::next() {
  if (pos_ >= text_.size())
    return std::nullopt;
  csv_record rec;
  rec.line = line_;
  std::string field;
  bool quoted = false;       // the current field started with a quote
  bool after_quote = false;  // the closing quote of the field was seen
  auto finish_field = [&] {
    rec.fields.push_back(quoted ? field : trimmed(field));
    field.clear();
    quoted = false;
    after_quote = false;
  };
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (quoted && !after_quote) {
      ++pos_;
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field += '"';
          ++pos_;
        } else {
          after_quote = true;
        }
      } else {
        if (c == '\n')
          ++line_;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      ++pos_;
      finish_field();
      continue;
    }
    if (c == '\n' || c == '\r') {
      ++pos_;
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n')
        ++pos_;
      ++line_;
      finish_field();
      return rec;
    }
    if (c == '"' && !after_quote && trimmed(field).empty()) {
      quoted = true;
      field.clear();
      ++pos_;
      continue;
    }
    if (after_quote) {
      if (c != ' ' && c != '\t' && !rec.problem)
        rec.problem = "text after a closing quote in field " + std::to_string(rec.fields.size() + 1)
                      + " (write a quote inside a quoted field as \"\")";
      ++pos_;
      continue;
    }
    field += c;
    ++pos_;
  }
  if (quoted && !after_quote)
    rec.problem = "a quoted field (field " + std::to_string(rec.fields.size() + 1)
                  + ") is not closed before the end of the file";
  finish_field();
  return rec;
}

}  // namespace warmup::app
