// config.hpp: the engine's configuration schema and its loader (TOML file, then WARMUP_*
// environment overrides and DATABASE_URL, then command-line flags), validated at start-up.
#pragma once

#include "warmup/health.hpp"
#include "warmup/peers.hpp"
#include "warmup/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace warmup::config {

struct node_config {
  std::string name;                    // default: hostname
  std::uint32_t shard_count = 256;     // fixed at cluster creation
  int scheduler_threads = 2;           // CAF worker threads
};

struct console_config {
  std::string listen = "127.0.0.1:8025";  // HOST:PORT of the console and API; "off": none
  std::string token;                   // bearer token; empty: loopback bind only. Secret:
                                       // never logged or printed.
};

struct clock_config {
  double time_scale = 1.0;             // 1 = real time, 1440 = a day per minute
  std::string start;                   // optional "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM": simulated start
  int tick_ms = 20;                    // wall-clock interval of the shard tick
};

struct store_config {
  std::string database_url;            // empty: SQLite file <data_dir>/warmup.db
  int batch_max = 2000;                // rows per store transaction
  int queue_max = 100000;              // pending writes before back-pressure
  // Not file keys (yet). How long rows other than send intents may wait for a larger
  // transaction. Intents are always committed before their send; 0 = no waiting (tests).
  // 1 s and 100k rows: a 8-day simulation of 10k mailboxes spent 20% less time writing
  // them than with 250 ms and 20k rows (fewer commits rewrite fewer pages), wall -14%.
  int lazy_commit_ms = 1000;
  // How long a commit of send intents waits, after the last batch came, for other shards'
  // intents to join it (group commit; at most 10 times this in all). In the simulation
  // ~25 commits per 5-minute step became ~3.5 with one fixed wait, ~1.8 with this gap.
  int commit_linger_us = 300;
  // Lazy rows that make a commit due at once (see lazy_commit_ms).
  int lazy_commit_rows = 100000;
};

struct sandbox_config {
  std::uint64_t seed = 1;              // the simulated network's randomness
  std::vector<std::string> providers = {"gmail.sim", "outlook.sim", "yahoo.sim", "mail.sim"};
};

// Real mail (transport = "smtp"): the SMTP/IMAP transport's limits and housekeeping.
struct mail_config {
  int workers = 8;                     // detached threads doing SMTP/IMAP calls
  int per_host = 4;                    // concurrent calls per SMTP or IMAP host
  int timeout_seconds = 60;            // limit of one call (connect: at most 10 s)
  int send_attempts = 4;               // tries of a send refused before any data left
  std::string warmup_folder = "Warmup";   // where processed warmup mail is filed
  int cleanup_days = 14;               // warmup mail older than this leaves the folder; 0: never
  std::string cleanup_action = "delete";  // delete, or archive (to the Archive folder)
};

struct log_config {
  std::string level = "info";          // trace, debug, info, warn, error, off
  std::string format = "text";         // text or json
  std::string file;                    // empty: stderr
};

// A mailbox declared in the file as a [[mailbox]] table. Its fields carry the names of the
// CSV import's columns (email, smtp_host, ..., password or password_env, ...); they are
// turned into a store record, and checked, by `warmup run` and `warmup config check`.
struct declared_mailbox {
  std::map<std::string, std::string> fields;   // as written (numbers and booleans as text)
  std::map<std::string, int> lines;            // field -> line in the file
  std::string source;                          // the file
  int line = 0;                                // the [[mailbox]] header's line
};

// The fields a [[mailbox]] table may have.
const std::vector<std::string>& mailbox_fields();

struct engine_config {
  std::string data_dir;                // default: $XDG_DATA_HOME/warmup or ~/.local/share/warmup
  std::string transport = "sandbox";   // sandbox (simulation) or smtp (issue 3)
  std::string default_timezone = "UTC";
  std::string ramp_preset = "standard";
  ramp_params ramp;                    // from the preset, then overridden key by key
  window_params window;
  engagement_params engagement;
  health_params health;
  peer_rules peers;
  node_config node;
  console_config console;
  clock_config clock;
  store_config store;
  sandbox_config sandbox;
  mail_config mail;
  log_config log;
  std::vector<declared_mailbox> mailboxes;   // [[mailbox]] tables of the file
  std::vector<std::string> notices;    // start-up notices to log (e.g. ignored legacy keys)
};

// A bad configuration value. what() reads like
//   "warmup.toml:12: ramp.start = -3: must be an integer from 0 to 1000"
//   "environment WARMUP_RAMP_START=abc: ramp.start must be an integer from 0 to 1000"
// The CLI prints it and exits with code 2.
struct config_error : std::runtime_error {
  config_error(std::string source, int line, std::string key, std::string message);
  std::string source;   // file path, "environment" or "command line"
  int line = 0;         // 0 when not from a file
  std::string key;      // dotted key, e.g. "ramp.start"
};

// Loads the configuration: defaults, then `file` (if given; a missing file named
// explicitly is an error), then the environment (`env`: WARMUP_<SECTION>_<KEY>, e.g.
// WARMUP_RAMP_START, plus DATABASE_URL and WARMUP_DATA_DIR), then validates everything.
// Unknown keys in the file are errors (typos must not pass silently). The legacy
// WARMUP_WORKER_COUNT / WARMUP_WORKER_ID / WARMUP_ENABLE_DISTRIBUTED_MODE are accepted
// and produce a notice explaining that shards are placed automatically.
engine_config load(const std::optional<std::string>& file,
                   const std::map<std::string, std::string>& env);

// The current process environment as a map (only WARMUP_* and DATABASE_URL, HOME,
// XDG_DATA_HOME).
std::map<std::string, std::string> process_environment();

// Edit distance of two short names, for "did you mean" hints (config keys, CSV columns).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The documented per-user default data directory.
std::string default_data_dir(const std::map<std::string, std::string>& env);

// A setting given on the command line (e.g. `warmup run --time-scale 1440`): the top
// layer, validated like the others; errors name `flag`.
struct command_line_setting {
  std::string key;     // dotted key, e.g. "clock.time_scale"
  std::string value;   // as typed
  std::string flag;    // e.g. "--time-scale"
};

// load() with command-line settings applied above the environment.
engine_config load(const std::optional<std::string>& file,
                   const std::map<std::string, std::string>& env,
                   const std::vector<command_line_setting>& flags);

// Every configuration key, dotted ("ramp.start"; top-level keys bare), in the order of
// config/README.md and config/warmup.example.toml.
std::vector<std::string> known_keys();
// The environment variable that overrides `key`: "ramp.start" -> "WARMUP_RAMP_START".
std::string env_name(const std::string& key);

// Validates a mailbox's settings as the CLI and CSV import accept them; returns an
// error message naming the field, or nullopt when valid.
std::optional<std::string> validate_mailbox(const mailbox_settings& m);

}  // namespace warmup::config
