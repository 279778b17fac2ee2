// pg_store.cpp: the PostgreSQL backend of the store: a small connection pool, prepared
// statements, migrations under an advisory lock, leases by the DB clock, and batched
// multi-row writes (arrays unnested server-side) fenced per batch by the lease epoch.
#include "storage/migrations_pg.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace warmup::storage {

namespace {

using params = std::vector<std::string>;

time_ms wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

day_number utc_day_of(time_ms t) {
  auto d = t / ms_per_day;
  if (t % ms_per_day < 0)
    --d;
  return static_cast<day_number>(d);
}

std::optional<health_band> parse_health_band(std::string_view s) {
  for (auto b : {health_band::healthy, health_band::watch, health_band::throttle,
                 health_band::pause, health_band::block})
    if (to_string(b) == s)
      return b;
  return std::nullopt;
}

// --- text forms of parameters and fields -----------------------------------------------
// Every parameter travels as text; numbers are formatted and parsed here (std::to_chars /
// from_chars) so that doubles round-trip exactly, whatever libpqxx's own conversions do.

std::string num(std::int64_t v) {
  return std::to_string(v);
}

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

std::string real(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::string("NaN");
}

std::string boolean(bool v) {
  return v ? "t" : "f";
}

constexpr char hex_digits[] = "0123456789abcdef";

// bytea's hex input form.
std::string bytea_literal(std::string_view bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(hex_digits[c >> 4]);
    out.push_back(hex_digits[c & 0xF]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// bytea's hex output form ("\x0a1b..."; bytea_output is set to hex on every connection).
std::optional<std::string> bytea_value(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
    return std::nullopt;
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// An array literal of integers: {1,2,3}.
template <class It, class Get>
std::string int_array(It begin, It end, Get get) {
  std::string out = "{";
  for (auto it = begin; it != end; ++it) {
    if (out.size() > 1)
      out.push_back(',');
    out += std::to_string(get(*it));
  }
  out.push_back('}');
  return out;
}

// An array literal element for text: always quoted, with \ and " escaped.
void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// Collects one array parameter per column while rows are added.
class column_arrays {
public:
  explicit column_arrays(std::size_t columns) : cols_(columns, "{") {}
  column_arrays& i(std::size_t c, std::int64_t v) {
    sep(c);
    cols_[c] += std::to_string(v);
    return *this;
  }
  column_arrays& t(std::size_t c, std::string_view v) {
    sep(c);
    append_quoted(cols_[c], v);
    return *this;
  }
  params finish() {
    for (auto& c : cols_)
      c.push_back('}');
    return std::move(cols_);
  }

private:
  void sep(std::size_t c) {
    if (cols_[c].size() > 1)
      cols_[c].push_back(',');
  }
  params cols_;
};

std::vector<time_ms> parse_int_array(std::string_view text) {
  std::vector<time_ms> out;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return out;
  text = text.substr(1, text.size() - 2);
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    time_ms v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{})
      break;
    out.push_back(v);
    p = next;
    if (p < end && *p == ',')
      ++p;
  }
  return out;
}

// --- SQL -------------------------------------------------------------------------------

// The order of bind_mailbox / read_mailbox.
#define WARMUP_PG_MAILBOX_COLUMNS                                                        \
  "email, display_name, provider, organisation, timezone, transport, state, "          \
  "created_day, ramp_start, ramp_step, ramp_ceiling, ramp_variance, "                   \
  "ramp_weekdays_only, ramp_weekend_factor, window_start_minute, window_end_minute, "   \
  "window_min_gap_minutes, read_rate, important_rate, star_rate, reply_rate, "          \
  "rescue_rate, max_thread_turns, ramp_preset, ramp_day, throttle_percent, "            \
  "cooldown_until, last_completed, health_band, paused_by_health, created_at, "         \
  "updated_at, smtp_host, smtp_port, smtp_security, imap_host, imap_port, "             \
  "imap_security, login_username, auth_method, oauth_client_id, token_url, ca_file, "   \
  "tls_verify, sealed_secret"
constexpr std::size_t mailbox_columns = 45;

const std::string mailbox_column_list = WARMUP_PG_MAILBOX_COLUMNS;
const std::string sql_select_mailbox = "SELECT id, " WARMUP_PG_MAILBOX_COLUMNS " FROM mailboxes";
#undef WARMUP_PG_MAILBOX_COLUMNS

std::string placeholders(std::size_t first, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0)
      out += ", ";
    out += "$" + std::to_string(first + i);
  }
  return out;
}

const std::string sql_insert_mailbox = "INSERT INTO mailboxes (domain, " + mailbox_column_list
                                       + ") VALUES (" + placeholders(1, mailbox_columns + 1)
                                       + ") RETURNING id";

// The DB clock in ms since the Unix epoch (transaction start time).
#define WARMUP_PG_NOW "(floor(extract(epoch FROM now()) * 1000))::bigint"

// Lease statements; `{now}` is the clock (see lease_clock) and the caller's `now`, when
// used, is always the last parameter.
constexpr std::string_view sql_acquire_lease =
  "INSERT INTO shard_leases AS l (shard, owner, epoch, expires_at) "
  "VALUES ($1, $2, 1, {now} + $3) ON CONFLICT (shard) DO UPDATE SET owner = EXCLUDED.owner, "
  "epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at "
  "WHERE l.expires_at <= {now} OR l.owner = EXCLUDED.owner RETURNING epoch";
constexpr std::string_view sql_renew_lease =
  "UPDATE shard_leases SET expires_at = {now} + $4 "
  "WHERE shard = $1 AND owner = $2 AND epoch = $3 AND expires_at > {now}";

std::string with_clock(std::string_view sql, lease_clock clock, int now_param) {
  std::string now = clock == lease_clock::database ? std::string(WARMUP_PG_NOW)
                                                   : "$" + std::to_string(now_param)
                                                       + "::bigint";
  std::string out(sql);
  for (auto pos = out.find("{now}"); pos != std::string::npos; pos = out.find("{now}"))
    out.replace(pos, 5, now);
  return out;
}

// --- the pool ----------------------------------------------------------------------------

struct pg_connection {
  std::unique_ptr<pqxx::connection> conn;
  // SQL text -> prepared statement name on this connection.
  std::unordered_map<std::string, std::string> prepared;
  bool broken = false;
};

class pg_store;

// A connection borrowed from the pool for one call; returned (or dropped when broken).
class borrowed {
public:
  borrowed(pg_store& owner, std::unique_ptr<pg_connection> c) : owner_(owner), c_(std::move(c)) {}
  borrowed(const borrowed&) = delete;
  borrowed& operator=(const borrowed&) = delete;
  ~borrowed();
  pg_connection& operator*() { return *c_; }
  pg_connection* operator->() { return c_.get(); }

private:
  pg_store& owner_;
  std::unique_ptr<pg_connection> c_;
};

// Runs a prepared statement (prepared on first use per connection).
pqxx::result run(pg_connection& c, pqxx::transaction_base& tx, const std::string& sql,
                 const params& p) {
  auto it = c.prepared.find(sql);
  if (it == c.prepared.end()) {
    auto name = "warmup_" + std::to_string(c.prepared.size() + 1);
    c.conn->prepare(name, sql);
    it = c.prepared.emplace(sql, std::move(name)).first;
  }
  return tx.exec_prepared(it->second, pqxx::prepare::make_dynamic_params(p));
}

std::int64_t i64(const pqxx::field& f) {
  std::int64_t v = 0;
  auto s = f.c_str();
  auto n = f.size();
  auto [end, ec] = std::from_chars(s, s + n, v);
  if (ec != std::errc{} || end != s + n)
    throw store_error(std::string("PostgreSQL store: column ") + f.name()
                      + " is not an integer");
  return v;
}

std::uint64_t u64(const pqxx::field& f) {
  std::uint64_t v = 0;
  auto s = f.c_str();
  auto n = f.size();
  auto [end, ec] = std::from_chars(s, s + n, v);
  if (ec != std::errc{} || end != s + n)
    throw store_error(std::string("PostgreSQL store: column ") + f.name()
                      + " is not an unsigned integer");
  return v;
}

double f64(const pqxx::field& f) {
  double v = 0;
  auto s = f.c_str();
  auto n = f.size();
  auto [end, ec] = std::from_chars(s, s + n, v);
  if (ec != std::errc{} || end != s + n)
    throw store_error(std::string("PostgreSQL store: column ") + f.name() + " is not a number");
  return v;
}

bool flag(const pqxx::field& f) {
  return f.size() > 0 && f.c_str()[0] == 't';
}

std::string text(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}

class pg_store final : public store {
public:
  pg_store(const std::string& url, const postgres_options& o);

  void migrate() override;
  int schema_version() override;

  mailbox_id add_mailbox(const mailbox_record& r) override;
  std::vector<mailbox_id> add_mailboxes(const std::vector<mailbox_record>& rs) override;
  std::optional<mailbox_record> get_mailbox(mailbox_id id) override;
  std::optional<mailbox_record> find_mailbox(const std::string& email) override;
  std::vector<mailbox_record> list_mailboxes(const mailbox_filter& f) override;
  std::uint64_t count_mailboxes(const mailbox_filter& f) override;
  std::vector<mailbox_stamp> mailbox_stamps() override;
  bool set_mailbox_state(mailbox_id id, mailbox_state s) override;
  bool update_mailbox(const mailbox_record& r) override;
  bool remove_mailbox(mailbox_id id) override;

  std::optional<epoch_t> acquire_lease(shard_id s, const std::string& owner, time_ms now,
                                       time_ms ttl) override;
  bool renew_lease(shard_id s, const std::string& owner, epoch_t epoch, time_ms now,
                   time_ms ttl) override;
  void release_lease(shard_id s, const std::string& owner, epoch_t epoch) override;
  std::optional<lease> get_lease(shard_id s) override;

  bool register_node(const node_info& n) override;
  bool heartbeat(const std::string& node_id, std::uint64_t generation) override;
  std::vector<node_info> list_nodes() override;

  batch_result apply(const write_batch& b) override;
  std::vector<batch_result> apply_many(const std::vector<write_batch>& batches) override;
  std::vector<batch_result> apply_many_once(const std::string& writer, std::uint64_t seq,
                                            const std::vector<write_batch>& batches) override;

  std::vector<intent_row> intents(mailbox_id m, day_number from_day,
                                  day_number to_day) override;
  std::vector<send_intent> pending_intents() override;
  std::vector<day_stats> stats(mailbox_id m, day_number from_day, day_number to_day) override;
  std::optional<registry_entry> find_message(const std::string& message_id) override;
  std::uint64_t count_messages() override;
  std::optional<plan_record> plan(mailbox_id m, day_number day) override;
  day_rows days_between(day_number from_day, day_number to_day) override;
  status_summary status(time_ms now, time_ms overdue_grace) override;

  void put_meta(const std::string& key, const std::string& value) override;
  std::optional<std::string> get_meta(const std::string& key) override;

  // Called at open for a read-only store: never creates or upgrades a schema.
  void require_current_schema();

  void give_back(std::unique_ptr<pg_connection> c);

private:
  borrowed borrow();
  std::unique_ptr<pg_connection> connect();

  // Runs `body(connection)` on a pooled connection; every libpqxx / libpq failure comes
  // out as a store_error that names `purpose` and the redacted URL, never the password.
  template <class Body>
  auto guarded(const char* purpose, Body&& body) -> decltype(body(std::declval<pg_connection&>()));
  [[noreturn]] void fail(const char* purpose, const std::string& detail) const;
  std::string scrub(std::string text) const;

  int read_version(pg_connection& c, pqxx::transaction_base& tx);
  mailbox_record read_mailbox(const pqxx::row& row) const;
  params mailbox_params(const mailbox_record& r) const;
  std::string mailbox_where(const mailbox_filter& f, params& p) const;
  std::vector<batch_result> write_fenced(pg_connection& c, pqxx::transaction_base& tx,
                                         const std::vector<write_batch>& batches);
  void write_segment(pg_connection& c, pqxx::transaction_base& tx,
                     const std::vector<const write_batch*>& segment,
                     const std::vector<batch_result*>& results);

  std::string url_;
  std::string redacted_;
  std::string password_;
  postgres_options options_;
  std::string sql_acquire_;
  std::string sql_renew_;

  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<pg_connection>> idle_;
  std::size_t open_ = 0;  // connections alive (idle or borrowed)
};

borrowed::~borrowed() {
  owner_.give_back(std::move(c_));
}

pg_store::pg_store(const std::string& url, const postgres_options& o)
  : url_(url), redacted_(redact_url(url)), password_(password_of(url)), options_(o) {
  if (options_.max_connections == 0)
    options_.max_connections = 1;
  sql_acquire_ = with_clock(sql_acquire_lease, o.leases, 4);
  sql_renew_ = with_clock(sql_renew_lease, o.leases, 5);
  // Connect once now: a wrong URL or a server that is down fails at open, not later.
  guarded("connect", [](pg_connection&) { return 0; });
}

std::string pg_store::scrub(std::string text) const {
  auto replace_all = [&](const std::string& what, const std::string& with) {
    if (what.empty())
      return;
    for (auto pos = text.find(what); pos != std::string::npos;
         pos = text.find(what, pos + with.size()))
      text.replace(pos, what.size(), with);
  };
  replace_all(url_, redacted_);
  replace_all(password_, "***");
  // libpq's messages end with a newline; messages here are one line.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  for (auto& c : text)
    if (c == '\n')
      c = ' ';
  return text;
}

void pg_store::fail(const char* purpose, const std::string& detail) const {
  throw store_error("PostgreSQL store " + redacted_ + ": " + purpose + " failed: "
                    + scrub(detail));
}

std::unique_ptr<pg_connection> pg_store::connect() {
  auto c = std::make_unique<pg_connection>();
  c->conn = std::make_unique<pqxx::connection>(url_);
  pqxx::nontransaction tx(*c->conn);
  // UTC and hex bytea: what the parsing here expects, whatever the server's defaults.
  std::string setup = "SET TIME ZONE 'UTC'; SET bytea_output = 'hex'; "
                      "SET extra_float_digits = 3; SET application_name = 'warmup'";
  if (options_.read_only)
    setup += "; SET default_transaction_read_only = on";
  tx.exec(setup);
  return c;
}

borrowed pg_store::borrow() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return borrowed(*this, std::move(c));
    }
    if (open_ < options_.max_connections) {
      ++open_;
      lock.unlock();
      try {
        return borrowed(*this, connect());
      } catch (...) {
        std::lock_guard relock(mutex_);
        --open_;
        returned_.notify_one();
        throw;
      }
    }
    returned_.wait(lock);
  }
}

void pg_store::give_back(std::unique_ptr<pg_connection> c) {
  std::lock_guard lock(mutex_);
  if (c && !c->broken && c->conn->is_open())
    idle_.push_back(std::move(c));
  else
    --open_;
  returned_.notify_one();
}

template <class Body>
auto pg_store::guarded(const char* purpose, Body&& body)
  -> decltype(body(std::declval<pg_connection&>())) {
  try {
    auto c = borrow();
    try {
      return body(*c);
    } catch (const pqxx::broken_connection&) {
      c->broken = true;
      throw;
    } catch (const pqxx::in_doubt_error&) {
      c->broken = true;
      throw;
    }
  } catch (const store_error&) {
    throw;
  } catch (const pqxx::sql_error& e) {
    std::string detail = e.what();
    if (e.sqlstate() == "25006" && options_.read_only)
      detail += " (the store was opened read-only)";
    fail(purpose, detail);
  } catch (const pqxx::broken_connection& e) {
    fail(purpose, std::string(e.what()) + " (is the server running and the URL right?)");
  } catch (const std::exception& e) {
    fail(purpose, e.what());
  }
}

// --- schema ------------------------------------------------------------------------------

int pg_store::read_version(pg_connection& c, pqxx::transaction_base& tx) {
  auto has = run(c, tx, "SELECT to_regclass('schema_version') IS NOT NULL", {});
  if (!flag(has[0][0]))
    return 0;
  auto v = run(c, tx, "SELECT coalesce(max(version), 0) FROM schema_version", {});
  return static_cast<int>(i64(v[0][0]));
}

int pg_store::schema_version() {
  return guarded("read the schema version", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    return read_version(c, tx);
  });
}

void pg_store::require_current_schema() {
  int have = schema_version();
  int latest = latest_schema_version();
  if (have > latest)
    throw schema_too_new("PostgreSQL store " + redacted_ + " has schema version "
                         + std::to_string(have) + " but this warmup binary understands up to "
                         + std::to_string(latest) + ": upgrade the warmup binary");
  if (have == 0)
    throw store_error("PostgreSQL store " + redacted_
                      + " has no warmup schema (not created yet): run `warmup db migrate` or "
                        "start a node first");
  if (have < latest)
    throw store_error("PostgreSQL store " + redacted_ + " has schema version "
                      + std::to_string(have) + ", older than this binary's "
                      + std::to_string(latest)
                      + ": a read-only open cannot upgrade it; run `warmup db migrate`");
}

// One transaction under a transaction-scoped advisory lock: nodes starting together
// queue on the lock, the first applies the missing steps, the others then find nothing
// to do. A failure rolls every step of this run back.
void pg_store::migrate() {
  if (options_.read_only) {
    require_current_schema();
    return;
  }
  auto steps = postgres_migrations();
  int latest = latest_schema_version();
  if (steps.empty() || steps.back().version != latest)
    throw store_error("PostgreSQL store: migration list ends at version "
                      + std::to_string(steps.empty() ? 0 : steps.back().version)
                      + " but latest_schema_version() is " + std::to_string(latest));
  int newer = 0;
  guarded("migrate the schema", [&](pg_connection& c) {
    pqxx::work tx(*c.conn);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(postgres_migration_lock_key) + ")");
    int have = read_version(c, tx);
    if (have > latest) {
      newer = have;
      return 0;
    }
    if (have == latest)
      return 0;  // the common case: commit nothing (the lock ends with the transaction)
    tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
            "purpose text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& step : steps) {
      if (step.version <= have)
        continue;
      try {
        tx.exec(std::string(step.sql));
      } catch (const pqxx::sql_error& e) {
        throw store_error("PostgreSQL store " + redacted_ + ": migrate to schema version "
                          + std::to_string(step.version) + " (" + std::string(step.purpose)
                          + ") failed: " + scrub(e.what()));
      }
      tx.exec("INSERT INTO schema_version (version, purpose) VALUES ("
              + std::to_string(step.version) + ", " + tx.quote(std::string(step.purpose)) + ")");
    }
    tx.commit();
    return 0;
  });
  if (newer > 0)
    require_current_schema();  // throws schema_too_new naming both versions
}

// --- mailboxes ---------------------------------------------------------------------------

params pg_store::mailbox_params(const mailbox_record& r) const {
  const auto& s = r.settings;
  const auto& a = r.account;
  return {std::string(email_domain(s.email)),
          s.email,
          s.display_name,
          s.provider,
          s.organisation,
          s.timezone,
          std::string(to_string(s.transport)),
          std::string(to_string(s.state)),
          num(std::int64_t{s.created_day}),
          num(std::int64_t{s.ramp.start}),
          real(s.ramp.step),
          num(std::int64_t{s.ramp.ceiling}),
          real(s.ramp.variance),
          boolean(s.ramp.weekdays_only),
          real(s.ramp.weekend_factor),
          num(std::int64_t{s.window.start_minute}),
          num(std::int64_t{s.window.end_minute}),
          num(std::int64_t{s.window.min_gap_minutes}),
          real(s.engagement.read_rate),
          real(s.engagement.important_rate),
          real(s.engagement.star_rate),
          real(s.engagement.reply_rate),
          real(s.engagement.rescue_rate),
          num(std::int64_t{s.engagement.max_thread_turns}),
          r.ramp_preset,
          num(std::int64_t{r.ramp.ramp_day}),
          num(std::int64_t{r.ramp.throttle_percent}),
          num(std::int64_t{r.ramp.cooldown_until}),
          num(std::int64_t{r.ramp.last_completed}),
          std::string(to_string(r.ramp.band)),
          boolean(r.ramp.paused_by_health),
          num(r.created_at),
          num(r.updated_at),
          a.smtp.host,
          num(std::int64_t{a.smtp.port}),
          std::string(to_string(a.smtp.security)),
          a.imap.host,
          num(std::int64_t{a.imap.port}),
          std::string(to_string(a.imap.security)),
          a.username,
          std::string(to_string(a.auth)),
          a.oauth_client_id,
          a.token_url,
          a.ca_file,
          boolean(a.tls_verify),
          bytea_literal(r.sealed_secret)};
}

mailbox_record pg_store::read_mailbox(const pqxx::row& row) const {
  mailbox_record r;
  auto& s = r.settings;
  pqxx::row::size_type c = 0;
  s.id = static_cast<mailbox_id>(i64(row[c++]));
  s.email = text(row[c++]);
  s.display_name = text(row[c++]);
  s.provider = text(row[c++]);
  s.organisation = text(row[c++]);
  s.timezone = text(row[c++]);
  auto transport = text(row[c++]);
  auto state = text(row[c++]);
  s.created_day = static_cast<day_number>(i64(row[c++]));
  s.ramp.start = static_cast<int>(i64(row[c++]));
  s.ramp.step = f64(row[c++]);
  s.ramp.ceiling = static_cast<int>(i64(row[c++]));
  s.ramp.variance = f64(row[c++]);
  s.ramp.weekdays_only = flag(row[c++]);
  s.ramp.weekend_factor = f64(row[c++]);
  s.window.start_minute = static_cast<int>(i64(row[c++]));
  s.window.end_minute = static_cast<int>(i64(row[c++]));
  s.window.min_gap_minutes = static_cast<int>(i64(row[c++]));
  s.engagement.read_rate = f64(row[c++]);
  s.engagement.important_rate = f64(row[c++]);
  s.engagement.star_rate = f64(row[c++]);
  s.engagement.reply_rate = f64(row[c++]);
  s.engagement.rescue_rate = f64(row[c++]);
  s.engagement.max_thread_turns = static_cast<int>(i64(row[c++]));
  r.ramp_preset = text(row[c++]);
  r.ramp.ramp_day = static_cast<int>(i64(row[c++]));
  r.ramp.throttle_percent = static_cast<int>(i64(row[c++]));
  r.ramp.cooldown_until = static_cast<day_number>(i64(row[c++]));
  r.ramp.last_completed = static_cast<day_number>(i64(row[c++]));
  auto band = text(row[c++]);
  r.ramp.paused_by_health = flag(row[c++]);
  r.created_at = i64(row[c++]);
  r.updated_at = i64(row[c++]);
  auto& a = r.account;
  a.smtp.host = text(row[c++]);
  a.smtp.port = static_cast<std::uint16_t>(i64(row[c++]));
  auto smtp_security = text(row[c++]);
  a.imap.host = text(row[c++]);
  a.imap.port = static_cast<std::uint16_t>(i64(row[c++]));
  auto imap_security = text(row[c++]);
  a.username = text(row[c++]);
  auto auth = text(row[c++]);
  a.oauth_client_id = text(row[c++]);
  a.token_url = text(row[c++]);
  a.ca_file = text(row[c++]);
  a.tls_verify = flag(row[c++]);
  auto secret = bytea_value(std::string_view(row[c].c_str(), row[c].size()));

  auto bad = [&](const char* what, const std::string& value) {
    return store_error("PostgreSQL store " + redacted_ + ": mailbox " + std::to_string(s.id)
                       + " has an unknown " + what + " '" + value + "'");
  };
  if (!secret)
    throw bad("sealed secret encoding", "(not hex bytea)");
  r.sealed_secret = std::move(*secret);
  auto t = parse_transport_kind(transport);
  if (!t)
    throw bad("transport", transport);
  s.transport = *t;
  auto st = parse_mailbox_state(state);
  if (!st)
    throw bad("state", state);
  s.state = *st;
  auto b = parse_health_band(band);
  if (!b)
    throw bad("health band", band);
  r.ramp.band = *b;
  auto ss = parse_mail_security(smtp_security);
  if (!ss)
    throw bad("SMTP security", smtp_security);
  a.smtp.security = *ss;
  auto is = parse_mail_security(imap_security);
  if (!is)
    throw bad("IMAP security", imap_security);
  a.imap.security = *is;
  auto am = parse_auth_method(auth);
  if (!am)
    throw bad("auth method", auth);
  a.auth = *am;
  return r;
}

mailbox_id pg_store::add_mailbox(const mailbox_record& r) {
  if (r.settings.email.empty())
    throw store_error("PostgreSQL store " + redacted_ + ": add mailbox: the email is empty");
  try {
    return guarded("add mailbox", [&](pg_connection& c) {
      pqxx::nontransaction tx(*c.conn);
      auto res = run(c, tx, sql_insert_mailbox, mailbox_params(r));
      return static_cast<mailbox_id>(i64(res[0][0]));
    });
  } catch (const store_error& e) {
    if (std::string_view(e.what()).find("mailboxes_by_email") != std::string_view::npos)
      throw duplicate_mailbox("PostgreSQL store " + redacted_ + ": mailbox " + r.settings.email
                              + " exists already (emails are compared case-insensitively)");
    throw;
  }
}

// Multi-row INSERTs of up to 1,000 mailboxes each (46,000 parameters, under the
// protocol's 65,535), in one transaction so that a duplicate adds none: 100k mailboxes
// take seconds, not one round trip each. Ids come from the identity in row order.
std::vector<mailbox_id> pg_store::add_mailboxes(const std::vector<mailbox_record>& rs) {
  std::vector<mailbox_id> ids;
  if (rs.empty())
    return ids;
  for (const auto& r : rs)
    if (r.settings.email.empty())
      throw store_error("PostgreSQL store " + redacted_ + ": add mailboxes: an email is empty");
  constexpr std::size_t rows_per_insert = 1000;
  try {
    return guarded("add mailboxes", [&](pg_connection& c) {
      pqxx::work tx(*c.conn);
      std::vector<mailbox_id> out;
      out.reserve(rs.size());
      params p;
      for (std::size_t first = 0; first < rs.size(); first += rows_per_insert) {
        auto n = std::min(rows_per_insert, rs.size() - first);
        p.clear();
        std::string sql = "INSERT INTO mailboxes (domain, " + mailbox_column_list + ") VALUES ";
        for (std::size_t i = 0; i < n; ++i) {
          sql += i == 0 ? "(" : ", (";
          sql += placeholders(p.size() + 1, mailbox_columns + 1) + ")";
          auto row = mailbox_params(rs[first + i]);
          p.insert(p.end(), std::make_move_iterator(row.begin()),
                   std::make_move_iterator(row.end()));
        }
        sql += " RETURNING id";
        auto res = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(p));
        std::vector<mailbox_id> chunk;
        for (const auto& row : res)
          chunk.push_back(static_cast<mailbox_id>(i64(row[0])));
        std::sort(chunk.begin(), chunk.end());
        out.insert(out.end(), chunk.begin(), chunk.end());
      }
      tx.commit();
      return out;
    });
  } catch (const store_error& e) {
    if (std::string_view(e.what()).find("mailboxes_by_email") != std::string_view::npos)
      throw duplicate_mailbox("PostgreSQL store " + redacted_
                              + ": add mailboxes: one of the emails exists already (emails "
                                "are compared case-insensitively); none was added");
    throw;
  }
}

std::optional<mailbox_record> pg_store::get_mailbox(mailbox_id id) {
  return guarded("get mailbox by id", [&](pg_connection& c) -> std::optional<mailbox_record> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, sql_select_mailbox + " WHERE id = $1", {num(std::int64_t{id})});
    if (res.empty())
      return std::nullopt;
    return read_mailbox(res[0]);
  });
}

std::optional<mailbox_record> pg_store::find_mailbox(const std::string& email) {
  return guarded("find mailbox by email", [&](pg_connection& c) -> std::optional<mailbox_record> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, sql_select_mailbox + " WHERE lower(email) = lower($1)", {email});
    if (res.empty())
      return std::nullopt;
    return read_mailbox(res[0]);
  });
}

std::string pg_store::mailbox_where(const mailbox_filter& f, params& p) const {
  std::string where = " WHERE true";
  if (f.state) {
    p.emplace_back(to_string(*f.state));
    where += " AND state = $" + std::to_string(p.size());
  } else if (!f.include_removed) {
    where += " AND state <> 'removed'";
  }
  if (f.provider) {
    p.push_back(*f.provider);
    where += " AND provider = $" + std::to_string(p.size());
  }
  if (f.domain) {
    p.push_back(*f.domain);
    where += " AND domain = lower($" + std::to_string(p.size()) + ")";
  }
  return where;
}

std::vector<mailbox_record> pg_store::list_mailboxes(const mailbox_filter& f) {
  return guarded("list mailboxes", [&](pg_connection& c) {
    params p;
    auto sql = sql_select_mailbox + mailbox_where(f, p);
    constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    sql += " ORDER BY id";
    if (f.limit < max) {
      p.push_back(num(static_cast<std::int64_t>(f.limit)));
      sql += " LIMIT $" + std::to_string(p.size());
    }
    p.push_back(num(static_cast<std::int64_t>(std::min(f.offset, max))));
    sql += " OFFSET $" + std::to_string(p.size());
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, sql, p);
    std::vector<mailbox_record> out;
    out.reserve(res.size());
    for (const auto& row : res)
      out.push_back(read_mailbox(row));
    return out;
  });
}

std::uint64_t pg_store::count_mailboxes(const mailbox_filter& f) {
  return guarded("count mailboxes", [&](pg_connection& c) {
    params p;
    auto sql = "SELECT count(*) FROM mailboxes" + mailbox_where(f, p);
    pqxx::nontransaction tx(*c.conn);
    return static_cast<std::uint64_t>(i64(run(c, tx, sql, p)[0][0]));
  });
}

std::vector<store::mailbox_stamp> pg_store::mailbox_stamps() {
  return guarded("list mailbox stamps", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, "SELECT id, state, updated_at FROM mailboxes ORDER BY id", {});
    std::vector<mailbox_stamp> out;
    out.reserve(res.size());
    for (const auto& row : res) {
      auto state = parse_mailbox_state(text(row[1]));
      if (!state)
        throw store_error("mailbox " + std::to_string(i64(row[0])) + " has an unknown state '"
                          + text(row[1]) + "'");
      out.push_back({static_cast<mailbox_id>(i64(row[0])), *state, i64(row[2])});
    }
    return out;
  });
}

bool pg_store::set_mailbox_state(mailbox_id id, mailbox_state s) {
  return guarded("set mailbox state", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "UPDATE mailboxes SET state = $1, updated_at = greatest(updated_at, $2) "
                   "WHERE id = $3",
                   {std::string(to_string(s)), num(wall_clock_ms()), num(std::int64_t{id})});
    return res.affected_rows() > 0;
  });
}

bool pg_store::update_mailbox(const mailbox_record& r) {
  const auto& s = r.settings;
  const auto& a = r.account;
  return guarded("update mailbox", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(
      c, tx,
      "UPDATE mailboxes SET display_name = $1, provider = $2, organisation = $3, timezone = $4, "
      "ramp_start = $5, ramp_step = $6, ramp_ceiling = $7, ramp_variance = $8, "
      "ramp_weekdays_only = $9, ramp_weekend_factor = $10, window_start_minute = $11, "
      "window_end_minute = $12, window_min_gap_minutes = $13, read_rate = $14, "
      "important_rate = $15, star_rate = $16, reply_rate = $17, rescue_rate = $18, "
      "max_thread_turns = $19, ramp_preset = $20, updated_at = $21, smtp_host = $22, "
      "smtp_port = $23, smtp_security = $24, imap_host = $25, imap_port = $26, "
      "imap_security = $27, login_username = $28, auth_method = $29, oauth_client_id = $30, "
      "token_url = $31, ca_file = $32, tls_verify = $33, sealed_secret = $34 WHERE id = $35",
      {s.display_name, s.provider, s.organisation, s.timezone,
       num(std::int64_t{s.ramp.start}), real(s.ramp.step), num(std::int64_t{s.ramp.ceiling}),
       real(s.ramp.variance), boolean(s.ramp.weekdays_only), real(s.ramp.weekend_factor),
       num(std::int64_t{s.window.start_minute}), num(std::int64_t{s.window.end_minute}),
       num(std::int64_t{s.window.min_gap_minutes}), real(s.engagement.read_rate),
       real(s.engagement.important_rate), real(s.engagement.star_rate),
       real(s.engagement.reply_rate), real(s.engagement.rescue_rate),
       num(std::int64_t{s.engagement.max_thread_turns}), r.ramp_preset, num(r.updated_at),
       a.smtp.host, num(std::int64_t{a.smtp.port}), std::string(to_string(a.smtp.security)),
       a.imap.host, num(std::int64_t{a.imap.port}), std::string(to_string(a.imap.security)),
       a.username, std::string(to_string(a.auth)), a.oauth_client_id, a.token_url, a.ca_file,
       boolean(a.tls_verify), bytea_literal(r.sealed_secret), num(std::int64_t{s.id})});
    return res.affected_rows() > 0;
  });
}

bool pg_store::remove_mailbox(mailbox_id id) {
  return set_mailbox_state(id, mailbox_state::removed);
}

// --- leases ------------------------------------------------------------------------------

// One statement each: two nodes racing for a shard serialise on the row, and exactly one
// acquire succeeds.
std::optional<epoch_t> pg_store::acquire_lease(shard_id s, const std::string& owner,
                                               time_ms now, time_ms ttl) {
  return guarded("acquire shard lease", [&](pg_connection& c) -> std::optional<epoch_t> {
    params p{num(std::int64_t{s}), owner, num(ttl)};
    if (options_.leases == lease_clock::caller)
      p.push_back(num(now));
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, sql_acquire_, p);
    if (res.empty())
      return std::nullopt;
    return static_cast<epoch_t>(i64(res[0][0]));
  });
}

bool pg_store::renew_lease(shard_id s, const std::string& owner, epoch_t epoch, time_ms now,
                           time_ms ttl) {
  return guarded("renew shard lease", [&](pg_connection& c) {
    params p{num(std::int64_t{s}), owner, num(static_cast<std::int64_t>(epoch)), num(ttl)};
    if (options_.leases == lease_clock::caller)
      p.push_back(num(now));
    pqxx::nontransaction tx(*c.conn);
    return run(c, tx, sql_renew_, p).affected_rows() == 1;
  });
}

void pg_store::release_lease(shard_id s, const std::string& owner, epoch_t epoch) {
  guarded("release shard lease", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    run(c, tx,
        "UPDATE shard_leases SET expires_at = 0 WHERE shard = $1 AND owner = $2 AND epoch = $3",
        {num(std::int64_t{s}), owner, num(static_cast<std::int64_t>(epoch))});
    return 0;
  });
}

std::optional<lease> pg_store::get_lease(shard_id s) {
  return guarded("get shard lease", [&](pg_connection& c) -> std::optional<lease> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, "SELECT owner, epoch, expires_at FROM shard_leases WHERE shard = $1",
                   {num(std::int64_t{s})});
    if (res.empty())
      return std::nullopt;
    return lease{s, text(res[0][0]), static_cast<epoch_t>(i64(res[0][1])), i64(res[0][2])};
  });
}

// --- node registry -----------------------------------------------------------------------

bool pg_store::register_node(const node_info& n) {
  return guarded("register node", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "INSERT INTO nodes AS n (id, address, generation, capacity, heartbeat_at) "
                   "VALUES ($1, $2, $3, $4, " WARMUP_PG_NOW ") ON CONFLICT (id) DO UPDATE SET "
                   "address = EXCLUDED.address, generation = EXCLUDED.generation, "
                   "capacity = EXCLUDED.capacity, "
                   "heartbeat_at = greatest(n.heartbeat_at, EXCLUDED.heartbeat_at) "
                   "WHERE EXCLUDED.generation >= n.generation",
                   {n.id, n.address, num(n.generation), num(std::int64_t{n.capacity})});
    return res.affected_rows() == 1;
  });
}

bool pg_store::heartbeat(const std::string& node_id, std::uint64_t generation) {
  return guarded("record node heartbeat", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "UPDATE nodes SET heartbeat_at = greatest(heartbeat_at, " WARMUP_PG_NOW ") "
                   "WHERE id = $1 AND generation = $2",
                   {node_id, num(generation)});
    return res.affected_rows() == 1;
  });
}

std::vector<node_info> pg_store::list_nodes() {
  return guarded("list nodes", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "SELECT id, address, generation, capacity, heartbeat_at FROM nodes "
                   "ORDER BY id",
                   {});
    std::vector<node_info> out;
    for (const auto& row : res)
      out.push_back(node_info{text(row[0]), text(row[1]), u64(row[2]),
                              static_cast<std::uint32_t>(i64(row[3])), i64(row[4])});
    return out;
  });
}

// --- batched writes ----------------------------------------------------------------------

batch_result pg_store::apply(const write_batch& b) {
  return apply_many({b}).front();
}

namespace {

// Only intents gate a send (it leaves once its intent is durable). A transaction without
// any commits asynchronously: atomic as ever, durable a moment later (wal_writer_delay).
// A crash of the database server can lose its last such commits, as a crash of the
// engine loses its last lazy rows: their intents are reconciled as skipped, never resent.
// Outcomes are found by a key lookup per row whose row is then updated by ctid (see
// write_segment): every ctid differs, so a memoize node in between only costs (a tenth of
// the statement's time); off for transactions with outcomes, in the same round trip.
void set_transaction_options(pqxx::transaction_base& tx, const std::vector<write_batch>& batches) {
  bool intents = false, outcomes = false;
  for (const auto& b : batches) {
    intents = intents || !b.intents.empty();
    outcomes = outcomes || !b.outcomes.empty();
  }
  std::string set;
  if (!intents)
    set = "SET LOCAL synchronous_commit TO off";
  if (outcomes)
    set += std::string(set.empty() ? "" : "; ") + "SET LOCAL enable_memoize TO off";
  if (!set.empty())
    tx.exec(set);
}

}  // namespace

std::vector<batch_result> pg_store::apply_many(const std::vector<write_batch>& batches) {
  if (batches.empty())
    return {};
  return guarded("apply write batches", [&](pg_connection& c) {
    pqxx::work tx(*c.conn);
    set_transaction_options(tx, batches);
    auto results = write_fenced(c, tx, batches);
    tx.commit();
    return results;
  });
}

namespace {

// A commit record: "<seq>|" then per batch "S" (stale) or its intents as 0/1, ';'-separated.
std::string encode_commit(std::uint64_t seq, const std::vector<batch_result>& results) {
  std::string out = std::to_string(seq) + "|";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i)
      out += ';';
    if (results[i].stale_epoch)
      out += 'S';
    else
      for (bool b : results[i].intent_inserted)
        out += b ? '1' : '0';
  }
  return out;
}

std::optional<std::vector<batch_result>> decode_commit(std::uint64_t seq, std::string_view text,
                                                       std::size_t batches) {
  auto prefix = std::to_string(seq) + "|";
  if (text.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  text.remove_prefix(prefix.size());
  std::vector<batch_result> out(batches);
  std::size_t i = 0;
  for (char ch : text) {
    if (ch == ';') {
      ++i;
      continue;
    }
    if (i >= out.size())
      return std::nullopt;
    if (ch == 'S')
      out[i].stale_epoch = true;
    else
      out[i].intent_inserted.push_back(ch == '1');
  }
  return out;
}

}  // namespace

std::vector<batch_result> pg_store::apply_many_once(const std::string& writer, std::uint64_t seq,
                                                    const std::vector<write_batch>& batches) {
  if (batches.empty())
    return {};
  const std::string key = "commit." + writer;
  return guarded("apply write batches", [&](pg_connection& c) {
    pqxx::work tx(*c.conn);
    set_transaction_options(tx, batches);
    // FOR UPDATE: a second process of the same writer name waits instead of racing.
    auto done = run(c, tx, "SELECT value FROM meta WHERE key = $1 FOR UPDATE", {key});
    if (!done.empty())
      if (auto recorded = decode_commit(seq, text(done[0][0]), batches.size()))
        return *recorded;   // committed before the failure that made the caller retry
    auto results = write_fenced(c, tx, batches);
    run(c, tx,
        "INSERT INTO meta (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        {key, encode_commit(seq, results)});
    tx.commit();
    return results;
  });
}

// Fencing: the lease rows of the batches' shards are read FOR SHARE inside the write
// transaction, so an acquire (which updates the row) waits for this commit: no new owner
// can start between the check and the writes. A batch whose epoch differs (or whose shard
// has no lease) is skipped whole; the others are written.
std::vector<batch_result> pg_store::write_fenced(pg_connection& c, pqxx::transaction_base& tx,
                                                 const std::vector<write_batch>& batches) {
  std::vector<batch_result> results(batches.size());
  std::set<shard_id> shards;
  for (const auto& b : batches)
    shards.insert(b.shard);
  std::map<shard_id, epoch_t> epochs;
  auto res = run(c, tx,
                 "SELECT shard, epoch FROM shard_leases WHERE shard = ANY($1::integer[]) "
                 "ORDER BY shard FOR SHARE",
                 {int_array(shards.begin(), shards.end(),
                            [](shard_id s) { return std::int64_t{s}; })});
  for (const auto& row : res)
    epochs[static_cast<shard_id>(i64(row[0]))] = static_cast<epoch_t>(i64(row[1]));

  // Batches are merged into as few multi-row statements as possible. Merging is
  // equivalent to applying them one by one unless a later batch inserts an intent (or
  // registers a message) that an earlier batch of the same merge already sent an
  // outcome (placement) for: one by one, that earlier outcome found nothing. Such a
  // batch starts a new segment.
  std::vector<const write_batch*> segment;
  std::vector<batch_result*> segment_results;
  std::set<slot_key> seg_intents, seg_outcomes;
  std::set<std::string> seg_registry, seg_placements;
  auto flush = [&] {
    if (!segment.empty())
      write_segment(c, tx, segment, segment_results);
    segment.clear();
    segment_results.clear();
    seg_intents.clear();
    seg_outcomes.clear();
    seg_registry.clear();
    seg_placements.clear();
  };
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& b = batches[i];
    auto& r = results[i];
    r.intent_inserted.assign(b.intents.size(), false);
    auto e = epochs.find(b.shard);
    if (e == epochs.end() || e->second != b.epoch) {
      r.stale_epoch = true;
      continue;
    }
    bool conflict = false;
    for (const auto& in : b.intents)
      conflict = conflict || (seg_outcomes.count(in.key) > 0 && seg_intents.count(in.key) == 0);
    for (const auto& en : b.registry)
      conflict = conflict
                 || (seg_placements.count(en.message_id) > 0
                     && seg_registry.count(en.message_id) == 0);
    if (conflict)
      flush();
    segment.push_back(&b);
    segment_results.push_back(&r);
    for (const auto& in : b.intents)
      seg_intents.insert(in.key);
    for (const auto& o : b.outcomes)
      seg_outcomes.insert(o.key);
    for (const auto& en : b.registry)
      seg_registry.insert(en.message_id);
    for (const auto& p : b.placements)
      seg_placements.insert(p.message_id);
  }
  flush();
  return results;
}

void pg_store::write_segment(pg_connection& c, pqxx::transaction_base& tx,
                             const std::vector<const write_batch*>& segment,
                             const std::vector<batch_result*>& results) {
  // Intents: the first occurrence of a key is the candidate; later ones (in this segment)
  // are duplicates whatever happens. Sorted by key: index pages are touched in order and
  // two writers lock keys in the same order.
  {
    std::map<slot_key, std::pair<std::size_t, std::size_t>> first_at;
    for (std::size_t s = 0; s < segment.size(); ++s)
      for (std::size_t i = 0; i < segment[s]->intents.size(); ++i) {
        const auto& in = segment[s]->intents[i];
        first_at.emplace(in.key, std::make_pair(s, i));
      }
    if (!first_at.empty()) {
      // Nearly always every key is new, and COPY is the cheapest way in (half the server
      // time of the same rows through INSERT ... SELECT FROM unnest). So COPY goes first,
      // in a savepoint; a key that exists (or that a concurrent writer inserted) fails it,
      // and the batch is then inserted again with ON CONFLICT DO NOTHING, which reports
      // exactly the keys that were new. Either way the rows inserted are counted per day
      // in send_days (see migrations_pg.cpp), under the first batch's shard: nodes own
      // disjoint shards, so their transactions never wait on each other's count rows.
      // (A savepoint by hand: libpqxx 6.4's subtransaction sends no SAVEPOINT before a
      // prepared statement.) Not released: RELEASE would cost a round trip, and what
      // follows may run inside it just as well (the transaction commits or fails whole).
      bool all_new = false;
      tx.exec("SAVEPOINT new_intents");
      try {
        // COPY reports nothing per row: the day counts follow in one statement.
        {
          static const std::vector<std::string> columns{
            "day", "mailbox", "slot", "to_mailbox", "message_id", "planned_at", "recorded_at",
            "status"};
          static const std::string pending = "pending";
          pqxx::stream_to copy(tx, "send_intents", columns);
          for (const auto& [key, at] : first_at) {
            const auto& in = segment[at.first]->intents[at.second];
            copy << std::make_tuple(std::int64_t{key.day}, std::int64_t{key.mailbox},
                                    std::int64_t{key.slot}, std::int64_t{in.to}, in.message_id,
                                    std::int64_t{in.planned_at}, std::int64_t{in.recorded_at},
                                    pending);
          }
          copy.complete();
        }
        std::map<day_number, std::int64_t> per_day;
        for (const auto& entry : first_at)
          ++per_day[entry.first.day];
        column_arrays days(2);
        for (const auto& [day, n] : per_day)
          days.i(0, day).i(1, n);
        auto dp = days.finish();
        dp.push_back(num(std::int64_t{segment.front()->shard}));
        run(c, tx,
            "INSERT INTO send_days AS d (day, shard, intents, outcomes) SELECT u.day, "
            "$3::integer, u.n, 0 FROM unnest($1::integer[], $2::bigint[]) AS u(day, n) "
            "ORDER BY u.day ON CONFLICT (day, shard) DO UPDATE SET intents = d.intents + "
            "EXCLUDED.intents",
            dp);
        all_new = true;
      } catch (const pqxx::unique_violation&) {
        tx.exec("ROLLBACK TO SAVEPOINT new_intents");   // nothing of it is kept
      }
      if (all_new) {
        for (const auto& [key, at] : first_at)
          results[at.first]->intent_inserted[at.second] = true;
      }
      pqxx::result res;
      if (!all_new) {
        column_arrays a(7);
        for (const auto& [key, at] : first_at) {
          const auto& in = segment[at.first]->intents[at.second];
          a.i(0, key.mailbox).i(1, key.day).i(2, key.slot).i(3, in.to).t(4, in.message_id);
          a.i(5, in.planned_at).i(6, in.recorded_at);
        }
        auto p = a.finish();
        p.push_back(num(std::int64_t{segment.front()->shard}));
        res = run(c, tx,
                  "WITH ins AS (INSERT INTO send_intents (day, mailbox, slot, to_mailbox, "
                  "message_id, planned_at, recorded_at, status) SELECT u.day, u.mailbox, "
                  "u.slot, u.to_mailbox, u.message_id, u.planned_at, u.recorded_at, 'pending' "
                  "FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::bigint[], "
                  "$5::text[], $6::bigint[], $7::bigint[]) AS u(mailbox, day, slot, "
                  "to_mailbox, message_id, planned_at, recorded_at) "
                  "ON CONFLICT (day, mailbox, slot) DO NOTHING RETURNING mailbox, day, slot), "
                  "counted AS (INSERT INTO send_days AS d (day, shard, intents, outcomes) "
                  "SELECT day, $8::integer, count(*), 0 FROM ins GROUP BY day ORDER BY day "
                  "ON CONFLICT (day, shard) DO UPDATE SET intents = d.intents + "
                  "EXCLUDED.intents) SELECT mailbox, day, slot FROM ins",
                  p);
      }
      for (const auto& row : res) {
        slot_key k{static_cast<mailbox_id>(i64(row[0])), static_cast<day_number>(i64(row[1])),
                   static_cast<std::uint32_t>(i64(row[2]))};
        auto it = first_at.find(k);
        if (it != first_at.end())
          results[it->second.first]->intent_inserted[it->second.second] = true;
      }
    }
  }
  // Outcomes: the first for a key wins (once recorded, an outcome is final). The rows are
  // found key by key from the batch (a LIMIT 1 lookup per key cannot be turned around) and
  // updated by ctid: joined on the key instead, the planner, trusting statistics that show
  // almost no pending intents, may scan the pending intents and rescan the whole batch for
  // each one (2,000 x 2,000 comparisons per call: 0.3 to 1 s instead of 20 ms, seen in
  // pg_bench after an autovacuum analyze). The status test stays on the updated row, so a
  // concurrent outcome for the same key that committed first is rechecked and wins. No
  // indexed column changes, so the update is HOT (migrations_pg.cpp, step 3); the rows it
  // changed are counted per day in send_days.
  {
    std::map<slot_key, const send_outcome*> first;
    for (const auto* b : segment)
      for (const auto& o : b->outcomes)
        first.emplace(o.key, &o);
    if (!first.empty()) {
      column_arrays a(6);
      for (const auto& [key, o] : first)
        a.i(0, key.mailbox).i(1, key.day).i(2, key.slot).t(3, to_string(o->status))
          .i(4, o->at).t(5, o->detail);
      auto p = a.finish();
      p.push_back(num(std::int64_t{segment.front()->shard}));
      run(c, tx,
          "WITH done AS (UPDATE send_intents AS i SET status = x.status, outcome_at = x.at, "
          "detail = x.detail FROM (SELECT u.status, u.at, u.detail, k.row_id "
          "FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::text[], $5::bigint[], "
          "$6::text[]) AS u(mailbox, day, slot, status, at, detail) "
          "CROSS JOIN LATERAL (SELECT s.ctid AS row_id FROM send_intents AS s "
          "WHERE s.day = u.day AND s.mailbox = u.mailbox AND s.slot = u.slot LIMIT 1) AS k) "
          "AS x WHERE i.ctid = x.row_id AND i.status = 'pending' RETURNING i.day) "
          "INSERT INTO send_days AS d (day, shard, intents, outcomes) SELECT day, "
          "$7::integer, 0, count(*) FROM done GROUP BY day ORDER BY day "
          "ON CONFLICT (day, shard) DO UPDATE SET outcomes = d.outcomes + EXCLUDED.outcomes",
          p);
    }
  }
  // Registry: the first entry of a Message-ID wins.
  {
    std::map<std::string_view, const registry_entry*> first;
    for (const auto* b : segment)
      for (const auto& e : b->registry)
        first.emplace(e.message_id, &e);
    if (!first.empty()) {
      column_arrays a(9);
      for (const auto& [id, e] : first)
        a.t(0, id).i(1, e->from).i(2, e->to).i(3, static_cast<std::int64_t>(e->thread))
          .i(4, e->turn).i(5, e->sent_at).t(6, e->subject).t(7, e->in_reply_to)
          .t(8, e->references);
      run(c, tx,
          "INSERT INTO message_registry (message_id, from_mailbox, to_mailbox, thread, turn, "
          "sent_at, subject, in_reply_to, reference_ids) SELECT * FROM unnest($1::text[], "
          "$2::bigint[], $3::bigint[], $4::bigint[], $5::integer[], $6::bigint[], $7::text[], "
          "$8::text[], $9::text[]) ON CONFLICT (message_id) DO NOTHING",
          a.finish());
    }
  }
  // Placements: the last look wins.
  {
    std::map<std::string_view, const placement_update*> last;
    for (const auto* b : segment)
      for (const auto& p : b->placements)
        last[p.message_id] = &p;
    if (!last.empty()) {
      column_arrays a(4);
      for (const auto& [id, p] : last)
        a.t(0, id).t(1, to_string(p->where)).t(2, p->rescued ? "t" : "f").i(3, p->at);
      run(c, tx,
          "UPDATE message_registry AS r SET placement = u.placement, rescued = u.rescued, "
          "placed_at = u.at FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[]) "
          "AS u(message_id, placement, rescued, at) WHERE r.message_id = u.message_id",
          a.finish());
    }
  }
  // Day stats: deltas add up, so they are summed here first (an upsert may touch a row
  // only once per statement).
  {
    std::map<std::pair<mailbox_id, day_number>, day_stats> sums;
    for (const auto* b : segment)
      for (const auto& s : b->stats) {
        auto& sum = sums[{s.mailbox, s.delta.day}];
        sum.day = s.delta.day;
        sum += s.delta;
      }
    if (!sums.empty()) {
      column_arrays a(12);
      for (const auto& [key, d] : sums)
        a.i(0, key.first).i(1, key.second).i(2, d.planned).i(3, d.sent).i(4, d.inbox)
          .i(5, d.spam).i(6, d.missing).i(7, d.bounces).i(8, d.replies).i(9, d.received)
          .i(10, d.rescued).i(11, d.skipped);
      run(c, tx,
          "INSERT INTO day_stats AS s (mailbox, day, planned, sent, inbox, spam, missing, "
          "bounces, replies, received, rescued, skipped) SELECT * FROM unnest($1::bigint[], "
          "$2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
          "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], "
          "$12::bigint[]) ON CONFLICT (mailbox, day) DO UPDATE SET "
          "planned = s.planned + EXCLUDED.planned, sent = s.sent + EXCLUDED.sent, "
          "inbox = s.inbox + EXCLUDED.inbox, spam = s.spam + EXCLUDED.spam, "
          "missing = s.missing + EXCLUDED.missing, bounces = s.bounces + EXCLUDED.bounces, "
          "replies = s.replies + EXCLUDED.replies, received = s.received + EXCLUDED.received, "
          "rescued = s.rescued + EXCLUDED.rescued, skipped = s.skipped + EXCLUDED.skipped",
          a.finish());
    }
  }
  // Ramp updates: the last per mailbox wins; paused and removed are the user's and stay.
  {
    std::map<mailbox_id, const ramp_update*> last;
    for (const auto* b : segment)
      for (const auto& r : b->ramps)
        last[r.mailbox] = &r;
    if (!last.empty()) {
      column_arrays a(8);
      for (const auto& [id, r] : last)
        a.i(0, id).i(1, r->ramp.ramp_day).i(2, r->ramp.throttle_percent)
          .i(3, r->ramp.cooldown_until).i(4, r->ramp.last_completed)
          .t(5, to_string(r->ramp.band)).t(6, r->ramp.paused_by_health ? "t" : "f")
          .t(7, to_string(r->state));
      auto p = a.finish();
      p.push_back(num(wall_clock_ms()));
      run(c, tx,
          "UPDATE mailboxes AS m SET ramp_day = u.ramp_day, throttle_percent = u.throttle, "
          "cooldown_until = u.cooldown, last_completed = u.completed, health_band = u.band, "
          "paused_by_health = u.paused, "
          "state = CASE WHEN m.state IN ('removed', 'paused') THEN m.state ELSE u.state END, "
          "updated_at = greatest(m.updated_at, $9::bigint) "
          "FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::integer[], "
          "$5::integer[], $6::text[], $7::boolean[], $8::text[]) "
          "AS u(id, ramp_day, throttle, cooldown, completed, band, paused, state) "
          "WHERE m.id = u.id",
          p);
    }
  }
  // Plans: the last per (mailbox, day) wins. Each plan's times travel as one array
  // literal inside a text[] (unnest would flatten a two-dimensional array).
  {
    std::map<std::pair<day_number, mailbox_id>, const plan_record*> last;
    for (const auto* b : segment)
      for (const auto& p : b->plans)
        last[{p.day, p.mailbox}] = &p;
    if (!last.empty()) {
      column_arrays a(4);
      for (const auto& [key, p] : last)
        a.i(0, key.first).i(1, key.second).i(2, p->target)
          .t(3, int_array(p->slot_times.begin(), p->slot_times.end(),
                          [](time_ms t) { return t; }));
      run(c, tx,
          "INSERT INTO plans AS p (day, mailbox, target, slot_times) SELECT u.day, u.mailbox, "
          "u.target, u.times::bigint[] FROM unnest($1::integer[], $2::bigint[], "
          "$3::integer[], $4::text[]) AS u(day, mailbox, target, times) "
          "ON CONFLICT (day, mailbox) DO UPDATE SET target = EXCLUDED.target, "
          "slot_times = EXCLUDED.slot_times",
          a.finish());
    }
  }
}

// --- reads -------------------------------------------------------------------------------

std::vector<intent_row> pg_store::intents(mailbox_id m, day_number from_day,
                                          day_number to_day) {
  return guarded("read send intents", [&](pg_connection& c) {
    // One key seek per day (the key is day first), over the days that have intents at
    // all, so a wide range costs no empty seeks.
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "SELECT i.mailbox, i.day, i.slot, i.to_mailbox, i.message_id, i.planned_at, "
                   "i.recorded_at, i.status, i.outcome_at, i.detail FROM "
                   "(SELECT greatest($2::integer, min(day)) AS lo, "
                   "least($3::integer, max(day)) AS hi FROM send_intents "
                   // No intents at all: no range (greatest() skips the NULL min, and a
                   // series over the whole integer range would take minutes).
                   "HAVING count(*) > 0) AS r "
                   "CROSS JOIN LATERAL generate_series(r.lo, r.hi) AS d(day) "
                   "JOIN send_intents AS i ON i.day = d.day AND i.mailbox = $1 "
                   "ORDER BY i.day, i.slot",
                   {num(std::int64_t{m}), num(std::int64_t{from_day}), num(std::int64_t{to_day})});
    std::vector<intent_row> out;
    out.reserve(res.size());
    for (const auto& row : res) {
      intent_row r;
      auto& in = r.intent;
      in.key = {static_cast<mailbox_id>(i64(row[0])), static_cast<day_number>(i64(row[1])),
                static_cast<std::uint32_t>(i64(row[2]))};
      in.to = static_cast<mailbox_id>(i64(row[3]));
      in.message_id = text(row[4]);
      in.planned_at = i64(row[5]);
      in.recorded_at = i64(row[6]);
      auto status_name = text(row[7]);
      auto status = parse_intent_status(status_name);
      if (!status)
        throw store_error("PostgreSQL store " + redacted_ + ": send intent "
                          + to_string(in.key) + " has an unknown status '" + status_name + "'");
      if (*status != intent_status::pending)
        r.outcome = send_outcome{in.key, *status, row[8].is_null() ? 0 : i64(row[8]),
                                 text(row[9])};
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<send_intent> pg_store::pending_intents() {
  return guarded("read pending send intents", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    // Only the days whose counts say some intent still waits are scanned, each by the
    // key's day prefix: a start-up after months of sends reads a few days, not them all.
    auto res = run(c, tx,
                   "SELECT i.mailbox, i.day, i.slot, i.to_mailbox, i.message_id, i.planned_at, "
                   "i.recorded_at FROM (SELECT day FROM send_days GROUP BY day "
                   "HAVING sum(intents) > sum(outcomes)) AS open_days "
                   "CROSS JOIN LATERAL (SELECT * FROM send_intents AS s WHERE s.day = "
                   "open_days.day AND s.status = 'pending' OFFSET 0) AS i "
                   "ORDER BY i.mailbox, i.day, i.slot",
                   {});
    std::vector<send_intent> out;
    out.reserve(res.size());
    for (const auto& row : res) {
      send_intent in;
      in.key = {static_cast<mailbox_id>(i64(row[0])), static_cast<day_number>(i64(row[1])),
                static_cast<std::uint32_t>(i64(row[2]))};
      in.to = static_cast<mailbox_id>(i64(row[3]));
      in.message_id = text(row[4]);
      in.planned_at = i64(row[5]);
      in.recorded_at = i64(row[6]);
      out.push_back(std::move(in));
    }
    return out;
  });
}

std::vector<day_stats> pg_store::stats(mailbox_id m, day_number from_day, day_number to_day) {
  return guarded("read day stats", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "SELECT day, planned, sent, inbox, spam, missing, bounces, replies, "
                   "received, rescued, skipped FROM day_stats WHERE mailbox = $1 AND day "
                   "BETWEEN $2 AND $3 ORDER BY day",
                   {num(std::int64_t{m}), num(std::int64_t{from_day}), num(std::int64_t{to_day})});
    std::vector<day_stats> out;
    for (const auto& row : res) {
      auto u = [&](int col) { return static_cast<std::uint32_t>(i64(row[col])); };
      day_stats d;
      d.day = static_cast<day_number>(i64(row[0]));
      d.planned = u(1);
      d.sent = u(2);
      d.inbox = u(3);
      d.spam = u(4);
      d.missing = u(5);
      d.bounces = u(6);
      d.replies = u(7);
      d.received = u(8);
      d.rescued = u(9);
      d.skipped = u(10);
      out.push_back(d);
    }
    return out;
  });
}

std::optional<registry_entry> pg_store::find_message(const std::string& message_id) {
  return guarded("find message id", [&](pg_connection& c) -> std::optional<registry_entry> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx,
                   "SELECT message_id, from_mailbox, to_mailbox, thread, turn, sent_at, "
                   "subject, in_reply_to, reference_ids FROM message_registry "
                   "WHERE message_id = $1",
                   {message_id});
    if (res.empty())
      return std::nullopt;
    const auto& row = res[0];
    registry_entry e;
    e.message_id = text(row[0]);
    e.from = static_cast<mailbox_id>(i64(row[1]));
    e.to = static_cast<mailbox_id>(i64(row[2]));
    e.thread = static_cast<std::uint64_t>(i64(row[3]));
    e.turn = static_cast<int>(i64(row[4]));
    e.sent_at = i64(row[5]);
    e.subject = text(row[6]);
    e.in_reply_to = text(row[7]);
    e.references = text(row[8]);
    return e;
  });
}

std::uint64_t pg_store::count_messages() {
  return guarded("count registered messages", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    return static_cast<std::uint64_t>(
      i64(run(c, tx, "SELECT count(*) FROM message_registry", {})[0][0]));
  });
}

store::day_rows pg_store::days_between(day_number from_day, day_number to_day) {
  return guarded("read the days' intents and plans", [&](pg_connection& c) {
    pqxx::read_transaction tx(*c.conn);
    day_rows out;
    params range{num(std::int64_t{from_day}), num(std::int64_t{to_day})};
    for (const auto& row : run(c, tx,
                               "SELECT mailbox, day, slot FROM send_intents "
                               "WHERE day BETWEEN $1 AND $2",
                               range))
      out.intent_keys.push_back({static_cast<mailbox_id>(i64(row[0])),
                                 static_cast<day_number>(i64(row[1])),
                                 static_cast<std::uint32_t>(i64(row[2]))});
    for (const auto& row : run(c, tx,
                               "SELECT mailbox, day, target, slot_times FROM plans "
                               "WHERE day BETWEEN $1 AND $2",
                               range))
      out.plans.push_back(plan_record{
        static_cast<mailbox_id>(i64(row[0])), static_cast<day_number>(i64(row[1])),
        static_cast<int>(i64(row[2])),
        parse_int_array(std::string_view(row[3].c_str(), row[3].size()))});
    return out;
  });
}

std::optional<plan_record> pg_store::plan(mailbox_id m, day_number day) {
  return guarded("read day plan", [&](pg_connection& c) -> std::optional<plan_record> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, "SELECT target, slot_times FROM plans WHERE day = $1 AND mailbox = $2",
                   {num(std::int64_t{day}), num(std::int64_t{m})});
    if (res.empty())
      return std::nullopt;
    return plan_record{m, day, static_cast<int>(i64(res[0][0])),
                       parse_int_array(std::string_view(res[0][1].c_str(), res[0][1].size()))};
  });
}

status_summary pg_store::status(time_ms now, time_ms overdue_grace) {
  status_summary s;
  s.now = now;
  const day_number today = utc_day_of(now);
  const time_ms lo = static_cast<time_ms>(today) * ms_per_day;
  const time_ms hi = lo + ms_per_day;
  const time_ms due_before = std::min(hi, now - overdue_grace);
  return guarded("read status", [&](pg_connection& c) {
    // One snapshot for every figure.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(*c.conn);
    for (const auto& row :
         run(c, tx, "SELECT state, count(*) FROM mailboxes GROUP BY state", {})) {
      auto state = parse_mailbox_state(text(row[0]));
      auto n = static_cast<std::uint64_t>(i64(row[1]));
      if (state != mailbox_state::removed)
        s.total_mailboxes += n;
      if (state == mailbox_state::active || state == mailbox_state::throttled)
        s.active_mailboxes += n;
    }
    // Sent today, read through the key's day prefix (outcome times have no index: it
    // would make every outcome a non-HOT update). A slot lies in its mailbox's local day,
    // which overlaps the UTC days before and after it, and a send's outcome follows its
    // slot within minutes; so every intent sent today has a day within [today - 1,
    // today + 1]; one more day back leaves half a day for a late outcome.
    auto sent = run(c, tx,
                    "SELECT count(*), count(DISTINCT mailbox) FROM send_intents "
                    "WHERE day BETWEEN $3 AND $4 AND status = 'sent' AND outcome_at >= $1 "
                    "AND outcome_at < $2",
                    {num(lo), num(hi), num(std::int64_t{today - 2}), num(std::int64_t{today + 1})});
    s.sends_today = static_cast<std::uint64_t>(i64(sent[0][0]));
    s.active_mailboxes_today = static_cast<std::uint64_t>(i64(sent[0][1]));
    for (const auto& row :
         run(c, tx,
             "SELECT placement, count(*) FROM message_registry "
             "WHERE placed_at >= $1 AND placed_at < $2 GROUP BY placement",
             {num(lo), num(hi)})) {
      auto where = parse_placement(text(row[0]));
      auto n = static_cast<std::uint64_t>(i64(row[1]));
      if (where == placement::inbox)
        s.inbox_today += n;
      else if (where == placement::spam)
        s.spam_today += n;
    }
    if (s.inbox_today + s.spam_today > 0)
      s.inbox_rate_today = static_cast<double>(s.inbox_today)
                           / static_cast<double>(s.inbox_today + s.spam_today);
    // Plans of every local day that can overlap this UTC day; a slot in today is
    // planned, and overdue once due with no intent recorded for it.
    auto plans = run(c, tx,
                     "WITH due AS (SELECT p.day, p.mailbox, t.ord - 1 AS slot, t.at "
                     "FROM plans AS p CROSS JOIN LATERAL unnest(p.slot_times) "
                     "WITH ORDINALITY AS t(at, ord) "
                     "WHERE p.day BETWEEN $1 AND $2 AND t.at >= $3 AND t.at < $4) "
                     "SELECT count(*), coalesce(sum(CASE WHEN due.at < $5 AND NOT EXISTS ("
                     "SELECT 1 FROM send_intents AS i WHERE i.day = due.day "
                     "AND i.mailbox = due.mailbox AND i.slot = due.slot) THEN 1 ELSE 0 END), 0) "
                     "FROM due",
                     {num(std::int64_t{today - 1}), num(std::int64_t{today + 1}), num(lo),
                      num(hi), num(due_before)});
    s.planned_today = static_cast<std::uint64_t>(i64(plans[0][0]));
    s.overdue = static_cast<std::uint64_t>(i64(plans[0][1]));
    tx.commit();
    return s;
  });
}

// --- meta --------------------------------------------------------------------------------

void pg_store::put_meta(const std::string& key, const std::string& value) {
  guarded("write meta value", [&](pg_connection& c) {
    pqxx::nontransaction tx(*c.conn);
    run(c, tx,
        "INSERT INTO meta (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        {key, value});
    return 0;
  });
}

std::optional<std::string> pg_store::get_meta(const std::string& key) {
  return guarded("read meta value", [&](pg_connection& c) -> std::optional<std::string> {
    pqxx::nontransaction tx(*c.conn);
    auto res = run(c, tx, "SELECT value FROM meta WHERE key = $1", {key});
    if (res.empty())
      return std::nullopt;
    return text(res[0][0]);
  });
}

}  // namespace

std::unique_ptr<store> open_postgres(const std::string& url, const postgres_options& o) {
  auto s = std::make_unique<pg_store>(url, o);
  if (o.read_only)
    s->require_current_schema();
  else
    s->migrate();
  return s;
}

}  // namespace warmup::storage
