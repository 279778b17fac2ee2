// cli.cpp: the `warmup` command line: parses flags with CLI11, loads the configuration and
// runs a subcommand; maps failures to exit codes (0 ok, 1 runtime failure, 2 bad input).
#include "app/cli.hpp"

#include "app/api_client.hpp"
#include "app/cli_session.hpp"
#include "app/declared_mailboxes.hpp"
#include "app/mailbox_commands.hpp"
#include "app/mailbox_import.hpp"
#include "app/run.hpp"
#include "app/shards_command.hpp"
#include "app/status_command.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace warmup::app {

namespace {

const char* const global_help_footer =
  "Every subcommand also takes --config FILE (a TOML file; default $WARMUP_CONFIG) and\n"
  "--data DIR (the data directory holding warmup.db; default $WARMUP_DATA_DIR, else\n"
  "$XDG_DATA_HOME/warmup, else ~/.local/share/warmup). Keys and WARMUP_* variables:\n"
  "config/README.md. Exit codes: 0 ok, 1 runtime failure, 2 bad input.";

// --config and --data on `app`, so they work before or after any subcommand.
void add_global_options(CLI::App* app, global_options& g) {
  app->add_option("--config", g.config_file, "Configuration file (TOML)")->type_name("FILE");
  app->add_option("--data", g.data_dir, "Data directory (holds warmup.db)")->type_name("DIR");
}

// --node on the commands that talk to a running node.
void add_node_option(CLI::App* app, std::string& node_url) {
  app->add_option("--node", node_url,
                  "URL of the running node's console (default: $WARMUP_NODE_URL, else "
                  "console.listen)")
    ->type_name("URL");
}

const char* const node_help_footer =
  "A running node is found at --node URL, else $WARMUP_NODE_URL, else console.listen (a node\n"
  "listening on 0.0.0.0 is reached on 127.0.0.1; with port 0 the node writes its URL into the\n"
  "store); console.token (WARMUP_CONSOLE_TOKEN) is sent as the bearer token.\n";

struct parsed_flags {
  global_options global;
  // run
  std::optional<int> demo;
  std::string time_scale;
  std::string for_duration;
  std::optional<std::uint64_t> seed;
  std::string console;
  bool no_wait = false;
  // mailbox add
  new_mailbox add;
  bool password_stdin = false;
  bool oauth = false;
  std::string secret_env;
  std::string client_secret_env;
  // mailbox list
  mailbox_list_options list;
  std::optional<std::size_t> list_limit;
  // mailbox show/pause/resume/remove
  std::string ref;
  bool json = false;
  // mailbox import
  std::string csv_file;
  // status, mailbox list/show/pause/resume/remove, shards, advise
  std::string node_url;
};

int run_command(const parsed_flags& f) {
  std::vector<config::command_line_setting> settings;
  if (!f.time_scale.empty())
    settings.push_back({"clock.time_scale", f.time_scale, "--time-scale"});
  if (!f.console.empty())
    settings.push_back({"console.listen", f.console, "--console"});
  auto session = load_session(f.global, settings);
  run_options opts;
  opts.demo = f.demo;
  opts.seed = f.seed;
  opts.no_wait = f.no_wait;
  if (!f.for_duration.empty()) {
    opts.for_seconds = parse_duration_seconds(f.for_duration);
    if (!opts.for_seconds)
      throw bad_input("--for " + f.for_duration
                      + ": not a duration: write a number with a unit, e.g. 90s, 10m, 2h or "
                        "1h30m");
  }
  return run_node(session.cfg, opts);
}

void print_notices(const cli_session& s) {
  for (const auto& n : s.cfg.notices)
    std::cerr << "notice: " << n << "\n";
}

// The running node's API when a node answers within the connect timeout (about a second);
// nullopt otherwise. A malformed --node or WARMUP_NODE_URL is the user's to fix.
std::optional<api_client> running_node(const cli_session& s, const std::string& flag) {
  if (!flag.empty() && !parse_node_url(flag))
    throw bad_input("--node " + flag + ": not a node URL: give http://HOST:PORT, e.g. "
                    "http://127.0.0.1:8025");
  if (flag.empty())
    if (const char* env = std::getenv("WARMUP_NODE_URL"); env != nullptr && *env != '\0'
                                                          && !parse_node_url(env))
      throw bad_input(std::string("WARMUP_NODE_URL=") + env
                      + ": not a node URL: give http://HOST:PORT, e.g. http://127.0.0.1:8025");
  std::unique_ptr<storage::store> st;
  if (!find_node_url(s.cfg, nullptr, flag)) {
    // console.listen with port 0: the bound URL is in the store, if a node wrote it.
    try {
      st = s.open_store_read_only();
    } catch (const std::exception&) {
      st.reset();
    }
  }
  return reach_node(s.cfg, st.get(), flag);
}

// For the commands only a running node can answer.
api_client required_node(const cli_session& s, const std::string& flag, const char* command) {
  if (auto node = running_node(s, flag))
    return *node;
  std::unique_ptr<storage::store> st;
  try {
    st = s.open_store_read_only();
  } catch (const std::exception&) {
    st.reset();
  }
  auto where = find_node_url(s.cfg, st.get(), flag);
  throw std::runtime_error(
    std::string("warmup ") + command + " needs a running node, and none answered"
    + (where ? " at " + *where : " (console.listen is " + s.cfg.console.listen + ")")
    + ": start one with `warmup run`, or point to it with --node URL or WARMUP_NODE_URL");
}

}  // namespace

// The fields a mailbox is described with, shared by `mailbox add` and `mailbox update`.
void add_mailbox_fields(CLI::App* sub, parsed_flags& f) {
  sub->add_option("--provider", f.add.provider,
                  "gmail, outlook, yahoo, custom or a sandbox provider (default: guessed from "
                  "the domain)")
    ->type_name("P");
  sub->add_option("--timezone", f.add.timezone,
                  "IANA time zone of the mailbox's sending window (default: default_timezone)")
    ->type_name("TZ");
  sub->add_option("--preset", f.add.preset,
                  "Ramp: slow (2, +1, 25/day), standard (3, +2, 40), fast (5, +3, 50); "
                  "default: the configured [ramp]")
    ->type_name("slow|standard|fast");
  sub->add_option("--name", f.add.name, "Display name")->type_name("NAME");
  sub->add_option("--organisation", f.add.organisation,
                  "Organisation (default: the email's domain); mail rarely goes to the "
                  "mailbox's own organisation")
    ->type_name("ORG");
  // Real mail: servers, login; the secret is read from stdin or an environment variable
  // so that it never shows in `ps` or the shell history.
  sub->add_option("--smtp-host", f.add.smtp_host, "SMTP server (real mail)")->type_name("HOST");
  sub->add_option("--smtp-port", f.add.smtp_port, "SMTP port (default by security: 465, 587, 25)")
    ->type_name("PORT");
  sub->add_option("--smtp-security", f.add.smtp_security, "tls (default), starttls or none")
    ->type_name("tls|starttls|none");
  sub->add_option("--imap-host", f.add.imap_host, "IMAP server (real mail)")->type_name("HOST");
  sub->add_option("--imap-port", f.add.imap_port, "IMAP port (default by security: 993, 143)")
    ->type_name("PORT");
  sub->add_option("--imap-security", f.add.imap_security, "tls (default), starttls or none")
    ->type_name("tls|starttls|none");
  sub->add_option("--username", f.add.username, "Login name (default: the email)")
    ->type_name("USER");
  sub->add_flag("--password-stdin", f.password_stdin,
                "Read the password (or with --oauth the refresh token) from the first line "
                "of standard input");
  sub->add_option("--secret-env", f.secret_env,
                  "Read the password (or with --oauth the refresh token) from this "
                  "environment variable")
    ->type_name("VAR");
  sub->add_flag("--oauth", f.oauth, "Log in with OAuth2 (XOAUTH2): the secret is a refresh token");
  sub->add_option("--oauth-client-id", f.add.oauth_client_id, "OAuth2 client id")->type_name("ID");
  sub->add_option("--oauth-client-secret-env", f.client_secret_env,
                  "Environment variable holding the OAuth2 client secret")
    ->type_name("VAR");
  sub->add_option("--token-url", f.add.token_url,
                  "OAuth2 token endpoint (default: the gmail / outlook preset's)")
    ->type_name("URL");
  sub->add_option("--ca-file", f.add.ca_file, "Extra CA bundle (PEM) for a private server")
    ->type_name("FILE");
  sub->add_option("--tls-verify", f.add.tls_verify,
                  "true (default) or false: turning certificate checks off is logged at every "
                  "start")
    ->type_name("true|false");
}

// The secrets of `mailbox add|update`: from stdin or a named variable, never from argv.
void read_secret_flags(parsed_flags& f, bool required_for_oauth) {
  std::string secret;
  if (f.password_stdin && !f.secret_env.empty())
    throw bad_input("--password-stdin and --secret-env: give one of them");
  if (f.password_stdin) {
    if (!std::getline(std::cin, secret) || secret.empty())
      throw bad_input("--password-stdin: standard input has no secret on its first line");
  } else if (!f.secret_env.empty()) {
    const char* v = std::getenv(f.secret_env.c_str());
    if (v == nullptr || *v == '\0')
      throw bad_input("--secret-env " + f.secret_env + ": the variable is not set or empty");
    secret = v;
  }
  if (f.oauth && secret.empty() && required_for_oauth)
    throw bad_input("--oauth: give the refresh token with --password-stdin or --secret-env");
  (f.oauth ? f.add.oauth_refresh_token : f.add.password) = secret;
  if (!f.client_secret_env.empty()) {
    const char* v = std::getenv(f.client_secret_env.c_str());
    if (v == nullptr)
      throw bad_input("--oauth-client-secret-env " + f.client_secret_env
                      + ": the variable is not set");
    f.add.oauth_client_secret = v;
  }
}

int run_cli(int argc, char** argv) {
  CLI::App app{"warmup: an email warmup engine. Mailboxes under warmup send each other a "
               "slowly growing number of natural emails and engage with what they receive, "
               "so providers learn the senders are wanted.",
               "warmup"};
  app.set_version_flag("--version", WARMUP_VERSION);
  app.require_subcommand(1);
  app.footer(std::string("Examples:\n"
                         "  warmup run --demo 200 --time-scale 1440 --for 10m\n"
                         "  warmup mailbox add anna@example.com --timezone Europe/Berlin\n"
                         "  warmup status\n\n")
             + global_help_footer);
  parsed_flags f;
  add_global_options(&app, f.global);

  // run
  auto* run = app.add_subcommand("run", "Start a node: the warmup engine, until stopped "
                                        "(Ctrl-C) or until --for elapses");
  add_global_options(run, f.global);
  run->add_option("--demo", f.demo,
                  "Create N simulated mailboxes in the sandbox when the store is empty")
    ->type_name("N")
    ->check(CLI::Range(1, 1000000));
  run->add_option("--time-scale", f.time_scale,
                  "Clock speed: 1 = real time, 1440 = a warmup day per minute "
                  "(sets clock.time_scale)")
    ->type_name("K");
  run->add_option("--for", f.for_duration,
                  "Stop cleanly after this much wall-clock time, e.g. 90s, 10m, 2h")
    ->type_name("DURATION");
  run->add_option("--seed", f.seed, "Seed of the demo and the simulated network")
    ->type_name("S");
  run->add_option("--console", f.console,
                  "Serve the console, API and /metrics on HOST:PORT (port 0: a free port; "
                  "\"off\": none); sets console.listen")
    ->type_name("HOST:PORT");
  run->add_flag("--no-wait", f.no_wait,
                "Exit at once (code 2) when the database is unreachable at start-up, instead "
                "of retrying with backoff");
  run->footer(std::string("Examples:\n"
                          "  warmup run                                   # real time, "
                          "mailboxes from the store\n"
                          "  warmup run --demo 200 --time-scale 1440 --for 10m\n"
                          "      # 200 sandbox mailboxes, ten simulated days in ten minutes\n"
                          "  warmup run --demo 500 --console 127.0.0.1:8025\n"
                          "      # then open the printed URL in a browser\n\n")
              + global_help_footer);

  // mailbox
  auto* mailbox = app.add_subcommand("mailbox", "Add, list, inspect, pause, resume, remove "
                                                "and import mailboxes");
  add_global_options(mailbox, f.global);
  mailbox->require_subcommand(1);
  mailbox->footer(std::string("Examples:\n"
                              "  warmup mailbox add anna@example.com --preset slow\n"
                              "  warmup mailbox list --state paused\n"
                              "  warmup mailbox import people.csv\n\n")
                  + global_help_footer);

  auto* add = mailbox->add_subcommand("add", "Add a mailbox to the warmup pool");
  add_global_options(add, f.global);
  add->add_option("email", f.add.email, "The mailbox's address")->required();
  add_mailbox_fields(add, f);
  add->footer(std::string("Examples:\n"
                          "  warmup mailbox add anna@example.com --timezone Europe/Berlin "
                          "--preset slow --name \"Anna Berg\"\n"
                          "  printf '%s\\n' \"$PASS\" | warmup mailbox add bob@example.net "
                          "--smtp-host mail.example.net --smtp-security starttls "
                          "--imap-host mail.example.net --password-stdin\n"
                          "  GTOKEN=... warmup mailbox add carl@gmail.com --oauth "
                          "--oauth-client-id ID --secret-env GTOKEN\n\n"
                          "Secrets are sealed with WARMUP_SECRET_KEY (32 random bytes, hex or "
                          "base64; e.g. `openssl rand -hex 32`) before they reach the store.\n\n")
              + global_help_footer);

  auto* update = mailbox->add_subcommand(
    "update", "Change a mailbox's settings, servers or secret (e.g. after a password change)");
  add_global_options(update, f.global);
  update->add_option("mailbox", f.add.email, "Email or id")->required()->type_name("EMAIL|ID");
  add_mailbox_fields(update, f);
  update->footer(std::string("Examples:\n"
                             "  printf '%s\\n' \"$NEWPASS\" | warmup mailbox update bob@example.net "
                             "--password-stdin && warmup mailbox resume bob@example.net\n"
                             "  warmup mailbox update anna@example.com --preset fast --timezone "
                             "Asia/Tokyo\n\n"
                             "Fields not given keep their values; the secret is kept unless a new "
                             "one is given. A running node passes ramp, window, time zone, "
                             "engagement and display name to the mailbox's actor within about "
                             "5 s (today's plan stays; the next one follows them); provider, "
                             "organisation, servers and secret from its next start.\n\n")
                 + global_help_footer);

  auto* list = mailbox->add_subcommand("list", "List mailboxes (removed ones only with "
                                               "--state removed)");
  add_global_options(list, f.global);
  list->add_option("--state", f.list.state,
                   "Only this state: active, paused, throttled, disconnected, restarting, "
                   "removed")
    ->type_name("S");
  list->add_option("--provider", f.list.provider, "Only this provider")->type_name("P");
  list->add_option("--domain", f.list.domain, "Only this email domain")->type_name("D");
  list->add_option("--limit", f.list_limit, "At most N rows (default 100; all with --json)")
    ->type_name("N");
  list->add_option("--offset", f.list.offset, "Skip the first N rows")->type_name("N");
  list->add_flag("--json", f.list.json, "Print a JSON array");
  add_node_option(list, f.node_url);
  list->footer(std::string("Examples:\n"
                           "  warmup mailbox list --provider gmail --limit 20\n"
                           "  warmup mailbox list --state paused --json\n\n")
               + global_help_footer);

  auto* show = mailbox->add_subcommand("show", "Show a mailbox: settings, ramp state and the "
                                               "last 7 days of figures");
  add_global_options(show, f.global);
  show->add_option("mailbox", f.ref, "Email or id")->required()->type_name("EMAIL|ID");
  show->add_flag("--json", f.json, "Print JSON");
  add_node_option(show, f.node_url);
  show->footer(std::string("Examples:\n"
                           "  warmup mailbox show anna@example.com\n"
                           "  warmup mailbox show 42 --json\n\n")
               + global_help_footer);

  struct state_command {
    const char* name;
    const char* help;
    state_action action;
  };
  const state_command state_commands[] = {
    {"pause", "Pause a mailbox: it neither sends nor engages until resumed",
     state_action::pause},
    {"resume", "Resume a paused, disconnected or removed mailbox", state_action::resume},
    {"remove", "Remove a mailbox from warmup (its history is kept; resume restores it)",
     state_action::remove}};
  std::vector<std::pair<CLI::App*, state_action>> state_apps;
  for (const auto& sc : state_commands) {
    auto* sub = mailbox->add_subcommand(sc.name, sc.help);
    add_global_options(sub, f.global);
    sub->add_option("mailbox", f.ref, "Email or id")->required()->type_name("EMAIL|ID");
    add_node_option(sub, f.node_url);
    sub->footer(std::string("Example:\n  warmup mailbox ") + sc.name
                + " anna@example.com\n\n" + global_help_footer);
    state_apps.emplace_back(sub, sc.action);
  }

  auto* import = mailbox->add_subcommand(
    "import", "Add many mailboxes from a CSV file with a header row");
  add_global_options(import, f.global);
  import->add_option("file", f.csv_file, "CSV file")->required()->type_name("FILE.csv");
  import->footer(std::string(
                   "The first row names the columns: email (required), provider, timezone,\n"
                   "preset, name, organisation, in any order. Fields with commas are quoted\n"
                   "(\"Berg, Anna\"); a quote inside is doubled (\"\"). Bad rows (bad email,\n"
                   "unknown time zone, duplicate) are reported by line and skipped; the good\n"
                   "rows are imported. Exit code 2 when any row was bad.\n\n"
                   "Example:\n"
                   "  printf 'email,timezone,name\\nanna@example.com,Europe/Berlin,\"Berg, "
                   "Anna\"\\n' > people.csv\n"
                   "  warmup mailbox import people.csv\n\n")
                 + global_help_footer);

  // status
  auto* status_cmd = app.add_subcommand("status", "Today's figures: mailboxes, sends, inbox "
                                                  "rate, planned and overdue sends");
  add_global_options(status_cmd, f.global);
  status_cmd->add_flag("--json", f.json, "Print JSON");
  add_node_option(status_cmd, f.node_url);
  status_cmd->footer(std::string("Asks the running node's API; with no node answering within "
                                 "about a second, reads\nthe store read-only. \"Today\" is the "
                                 "UTC day of the engine clock (the node's, which\nmay run "
                                 "accelerated).\n\n"
                                 "Examples:\n"
                                 "  warmup status\n"
                                 "  warmup status --json --data /srv/warmup\n"
                                 "  warmup status --node http://10.0.0.5:8025\n\n")
                     + node_help_footer + global_help_footer);

  // shards
  auto* shards_cmd = app.add_subcommand("shards", "The running node's shards: state, epoch, "
                                                  "mailboxes by state, queue depth, restarts");
  add_global_options(shards_cmd, f.global);
  add_node_option(shards_cmd, f.node_url);
  shards_cmd->add_flag("--json", f.json, "Print the API's JSON");
  shards_cmd->footer(std::string("Needs a running node (exit 1 when none answers).\n\n"
                                 "Examples:\n"
                                 "  warmup shards\n"
                                 "  warmup shards --json --node http://127.0.0.1:8025\n\n")
                     + node_help_footer + global_help_footer);

  // advise
  auto* advise_cmd = app.add_subcommand(
    "advise", "A scaling recommendation from the running node's live figures");
  add_global_options(advise_cmd, f.global);
  add_node_option(advise_cmd, f.node_url);
  advise_cmd->add_flag("--json", f.json, "Print the recommendation and its figures as JSON");
  advise_cmd->footer(std::string(
                       "Judges mailboxes per node against the measured capacity (10,000, from\n"
                       "bench/sim_throughput: an assumption), the overdue backlog, the send lag\n"
                       "(p95 above 300 s is behind), missed daily quotas and the SMTP/IMAP error\n"
                       "rate, and says: add nodes, remove one, fix errors or missing shards first,\n"
                       "or no change. Needs a running node (exit 1 when none answers).\n\n"
                       "Examples:\n"
                       "  warmup advise\n"
                       "  warmup advise --json\n\n")
                     + node_help_footer + global_help_footer);

  // config
  auto* config_cmd = app.add_subcommand("config", "Check a configuration");
  add_global_options(config_cmd, f.global);
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand(
    "check", "Load and validate the configuration (file, WARMUP_* variables) and report");
  add_global_options(check, f.global);
  check->footer(std::string("Example:\n  warmup config check --config warmup.toml\n\n")
                + global_help_footer);
  config_cmd->footer(std::string("Example:\n  warmup config check --config warmup.toml\n\n")
                     + global_help_footer);

  // db
  auto* db_cmd = app.add_subcommand("db", "Inspect and migrate the store's schema (SQLite or "
                                          "PostgreSQL from DATABASE_URL)");
  add_global_options(db_cmd, f.global);
  db_cmd->require_subcommand(1);
  auto* db_status = db_cmd->add_subcommand(
    "status", "Show the store's schema version beside the one this binary writes");
  add_global_options(db_status, f.global);
  auto* db_migrate = db_cmd->add_subcommand(
    "migrate", "Bring the schema up to this binary's version (under an advisory lock on "
               "PostgreSQL: safe while other nodes start)");
  add_global_options(db_migrate, f.global);
  const std::string db_footer = std::string("Examples:\n"
                                            "  warmup db status\n"
                                            "  DATABASE_URL=postgresql://warmup@db/warmup "
                                            "warmup db migrate\n\n")
                                + global_help_footer;
  db_cmd->footer(db_footer);
  db_status->footer(db_footer);
  db_migrate->footer(db_footer);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, std::cout, std::cerr);
    return code == 0 ? exit_ok : exit_bad_input;
  }

  try {
    if (run->parsed())
      return run_command(f);
    if (status_cmd->parsed()) {
      auto s = load_session(f.global);
      print_notices(s);
      if (auto node = running_node(s, f.node_url))
        return status(*node, f.json, std::cout);
      std::cerr << "(no running node: figures from the store)\n";
      return status(s, f.json, std::cout);
    }
    if (shards_cmd->parsed()) {
      auto s = load_session(f.global);
      print_notices(s);
      return shards(required_node(s, f.node_url, "shards"), f.json, std::cout);
    }
    if (advise_cmd->parsed()) {
      auto s = load_session(f.global);
      print_notices(s);
      return advise(required_node(s, f.node_url, "advise"), f.json, std::cout);
    }
    if (check->parsed()) {
      auto s = load_session(f.global);
      print_notices(s);
      // Declared mailboxes are checked as `warmup run` would add them (nothing is stored).
      const auto env = whole_environment();
      for (const auto& d : s.cfg.mailboxes) {
        auto made = make_mailbox_record(s.cfg, new_mailbox_of(d, env), 0);
        if (auto* err = std::get_if<std::string>(&made))
          throw bad_input(d.source + ":" + std::to_string(d.line) + ": [[mailbox]] "
                          + d.fields.at("email") + ": " + *err);
      }
      std::cout << "configuration OK; data directory " << s.cfg.data_dir << ", transport "
                << s.cfg.transport << ", " << s.cfg.node.shard_count << " shards, "
                << s.cfg.mailboxes.size() << " mailboxes declared\n";
      return exit_ok;
    }
    auto s = load_session(f.global);
    print_notices(s);
    if (db_status->parsed()) {
      const int latest = storage::store::latest_schema_version();
      std::cout << "store: " << s.store_path() << "\n";
      try {
        auto st = s.open_store_read_only();
        if (!st) {
          std::cout << "schema: none yet (no store); `warmup db migrate` or `warmup run` "
                       "creates it at version " << latest << "\n";
          return exit_ok;
        }
        std::cout << "schema version " << st->schema_version() << ", this binary writes "
                  << latest << ": up to date\n";
        return exit_ok;
      } catch (const storage::schema_too_new& e) {
        std::cout << "schema is newer than this binary: " << e.what() << "\n";
        return exit_failure;
      } catch (const storage::store_error& e) {
        std::cout << e.what() << "\n";
        return exit_failure;
      }
    }
    if (db_migrate->parsed()) {
      auto st = s.open_store();   // opening migrates (PostgreSQL: under the advisory lock)
      std::cout << "store: " << s.store_path() << "\nschema version " << st->schema_version()
                << " (this binary's latest: " << storage::store::latest_schema_version()
                << ")\n";
      return exit_ok;
    }
    if (update->parsed()) {
      read_secret_flags(f, false);
      return mailbox_update(s, f.add.email, f.add, f.oauth, std::cout);
    }
    if (add->parsed()) {
      read_secret_flags(f, true);
      return mailbox_add(s, f.add, std::cout);
    }
    if (list->parsed()) {
      if (f.list_limit)
        f.list.limit = *f.list_limit;
      else
        f.list.limit = f.list.json ? static_cast<std::size_t>(-1) : 100;
      if (auto node = running_node(s, f.node_url))
        return mailbox_list(s, *node, f.list, std::cout);
      return mailbox_list(s, f.list, std::cout);
    }
    if (show->parsed()) {
      if (auto node = running_node(s, f.node_url))
        return mailbox_show(s, *node, f.ref, f.json, std::cout);
      return mailbox_show(s, f.ref, f.json, std::cout);
    }
    for (const auto& [sub, action] : state_apps)
      if (sub->parsed()) {
        // Through the node, a pause or removal reaches the mailbox actor at once.
        if (auto node = running_node(s, f.node_url))
          return mailbox_change_state(s, *node, f.ref, action, std::cout);
        return mailbox_change_state(s, f.ref, action, std::cout);
      }
    if (import->parsed())
      return mailbox_import(s, f.csv_file, ::isatty(STDERR_FILENO) == 1, std::cout, std::cerr);
    std::cerr << "error: no subcommand; see warmup --help\n";
    return exit_bad_input;
  } catch (const config::config_error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_bad_input;
  } catch (const bad_input& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_bad_input;
  } catch (const storage::store_error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_failure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace warmup::app
