// cli_session.hpp: what every `warmup` subcommand shares: the configuration as loaded from
// --config/--data/WARMUP_*, the store in the data directory, the engine clock, and the
// error kinds that map to exit codes.
#pragma once

#include "config/config.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"
#include "warmup/types.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace warmup::app {

// Exit codes of the command line.
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;    // runtime failure (store, I/O)
constexpr int exit_bad_input = 2;  // bad config, flags, arguments or CSV

// Input the user can fix (exit 2). what() says what, where, and what to do.
struct bad_input : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --config and --data, accepted before or after any subcommand.
struct global_options {
  std::string config_file;   // empty: $WARMUP_CONFIG, else none
  std::string data_dir;      // empty: from the configuration
};

struct cli_session {
  config::engine_config cfg;

  // <data_dir>/warmup.db, the path of a sqlite: store.database_url, or the PostgreSQL URL
  // with its password hidden (for messages).
  std::string store_path() const;
  // True for SQLite (the data directory's file or a sqlite: URL).
  bool embedded_store() const;
  // Opens (creating the data directory and migrating) the store for writing.
  std::unique_ptr<storage::store> open_store() const;
  // Opens an existing store read-only next to a running node; nullptr if there is none.
  std::unique_ptr<storage::store> open_store_read_only() const;
};

// Loads the configuration (throws config::config_error); `flags` are command-line settings
// such as --time-scale.
cli_session load_session(const global_options& g,
                         std::vector<config::command_line_setting> flags = {});

// The engine's clock as the running node last wrote it (meta "engine.now_ms"); the system
// clock when no node has written it: the CLI is an edge and may read it.
time_ms engine_now(storage::store* s);
// True when the time came from a node (for the label in `status`).
bool engine_clock_written(storage::store* s);

// Hides the password of a URL ("postgresql://user:secret@h/db" -> "postgresql://user:***@h/db").
using storage::redact_url;

// A duration such as "90s", "10m", "2h", "1h30m", "500ms", "1d" or plain seconds ("45"),
// in seconds; nullopt when not a positive duration.
std::optional<double> parse_duration_seconds(const std::string& text);

// Lower-cased ASCII copy.
std::string lower_ascii(std::string s);

// "2026-03-02 14:05:09 UTC" from an instant.
std::string format_instant(time_ms t);

}  // namespace warmup::app
