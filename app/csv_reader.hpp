// csv_reader.hpp: RFC 4180 records (quoted fields with commas, line breaks and "" escapes)
// with the line each record starts on, for `warmup mailbox import`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warmup::app {

struct csv_record {
  std::size_t line = 0;               // 1-based line where the record starts
  std::vector<std::string> fields;    // unquoted fields are trimmed; quoted ones kept as is
  std::optional<std::string> problem; // malformed quoting; the fields are unreliable
  bool blank() const;                 // an empty line (or only empty fields)
};

// Reads records from a whole file's text (a UTF-8 byte-order mark is skipped; CRLF and LF
// line ends are both accepted).
class csv_reader {
public:
  explicit csv_reader(std::string_view text);
  // The next record, or nullopt at the end.
  std::optional<csv_record> next();
  // Bytes consumed so far (for progress).
  std::size_t position() const { return pos_; }

private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace warmup::app
