// migrations_sqlite.cpp: the SQLite schema, as an append-only list of versioned steps.
#include "storage/migrations_sqlite.hpp"

#include <array>

namespace warmup::storage {

namespace {

// Never edit a released step: add a new one (ALTER TABLE ..., CREATE INDEX ...) and bump
// store::latest_schema_version(). Enum-valued columns hold the names of to_string().
constexpr std::string_view v1_sql = R"sql(
CREATE TABLE mailboxes (
  id                     INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
  email                  TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  domain                 TEXT    NOT NULL COLLATE NOCASE,    -- email's domain, for filters
  display_name           TEXT    NOT NULL,
  provider               TEXT    NOT NULL,
  organisation           TEXT    NOT NULL,
  timezone               TEXT    NOT NULL,
  transport              TEXT    NOT NULL,
  state                  TEXT    NOT NULL,
  created_day            INTEGER NOT NULL,
  ramp_start             INTEGER NOT NULL,
  ramp_step              REAL    NOT NULL,
  ramp_ceiling           INTEGER NOT NULL,
  ramp_variance          REAL    NOT NULL,
  ramp_weekdays_only     INTEGER NOT NULL,
  ramp_weekend_factor    REAL    NOT NULL,
  window_start_minute    INTEGER NOT NULL,
  window_end_minute      INTEGER NOT NULL,
  window_min_gap_minutes INTEGER NOT NULL,
  read_rate              REAL    NOT NULL,
  important_rate         REAL    NOT NULL,
  star_rate              REAL    NOT NULL,
  reply_rate             REAL    NOT NULL,
  rescue_rate            REAL    NOT NULL,
  max_thread_turns       INTEGER NOT NULL,
  ramp_preset            TEXT    NOT NULL,
  ramp_day               INTEGER NOT NULL,
  throttle_percent       INTEGER NOT NULL,
  cooldown_until         INTEGER NOT NULL,
  last_completed         INTEGER NOT NULL,
  health_band            TEXT    NOT NULL,
  paused_by_health       INTEGER NOT NULL,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL
);
CREATE INDEX mailboxes_by_state ON mailboxes (state);
CREATE INDEX mailboxes_by_provider ON mailboxes (provider);
CREATE INDEX mailboxes_by_domain ON mailboxes (domain);

CREATE TABLE shard_leases (
  shard      INTEGER PRIMARY KEY,
  owner      TEXT    NOT NULL,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Write cost is dominated by pages dirtied per batch commit (each is rewritten to the
-- WAL), and intents arrive in time order but for random mailboxes. So rows live in
-- insertion order (a batch appends to the last pages and its outcomes update those same
-- pages), and the only structure written at random is the small key index, keyed day
-- first so only today's part of it is hot.
CREATE TABLE send_intents (
  id          INTEGER PRIMARY KEY,
  mailbox     INTEGER NOT NULL REFERENCES mailboxes (id),
  day         INTEGER NOT NULL,
  slot        INTEGER NOT NULL,
  to_mailbox  INTEGER NOT NULL,
  message_id  TEXT    NOT NULL,
  planned_at  INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  -- to_string(intent_status); no CHECK constraint: it measurably slowed the insert path,
  -- and the store refuses to read back a value it does not know.
  status      TEXT    NOT NULL,
  outcome_at  INTEGER,
  detail      TEXT
);
-- The idempotency key of one send is (mailbox, day, slot).
CREATE UNIQUE INDEX send_intents_by_key ON send_intents (day, mailbox, slot);
-- Partial indexes: "pending" holds only the few intents awaiting an outcome; "sent" is
-- appended to in time order. Failed, bounced and skipped rows cost no index entry.
CREATE INDEX send_intents_pending ON send_intents (mailbox, day, slot)
  WHERE status = 'pending';
-- status is listed although implied so that the index covers "sent today" (SQLite does
-- not count a partial index's WHERE columns as covered).
CREATE INDEX send_intents_sent ON send_intents (outcome_at, mailbox, status)
  WHERE status = 'sent';

CREATE TABLE message_registry (
  message_id   TEXT    PRIMARY KEY,
  from_mailbox INTEGER NOT NULL,
  to_mailbox   INTEGER NOT NULL,
  thread       INTEGER NOT NULL,
  turn         INTEGER NOT NULL,
  sent_at      INTEGER NOT NULL,
  subject      TEXT    NOT NULL,
  in_reply_to  TEXT    NOT NULL,
  reference_ids TEXT   NOT NULL,   -- the References header ("references" is an SQL word)
  placement    TEXT    NOT NULL DEFAULT 'unknown',
  rescued      INTEGER NOT NULL DEFAULT 0,
  placed_at    INTEGER
);
-- Covers "inbox/spam today".
CREATE INDEX message_registry_by_placed_at ON message_registry (placed_at, placement);

CREATE TABLE day_stats (
  mailbox  INTEGER NOT NULL REFERENCES mailboxes (id),
  day      INTEGER NOT NULL,
  planned  INTEGER NOT NULL DEFAULT 0,
  sent     INTEGER NOT NULL DEFAULT 0,
  inbox    INTEGER NOT NULL DEFAULT 0,
  spam     INTEGER NOT NULL DEFAULT 0,
  missing  INTEGER NOT NULL DEFAULT 0,
  bounces  INTEGER NOT NULL DEFAULT 0,
  replies  INTEGER NOT NULL DEFAULT 0,
  received INTEGER NOT NULL DEFAULT 0,
  rescued  INTEGER NOT NULL DEFAULT 0,
  skipped  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (mailbox, day)
) WITHOUT ROWID;

-- Unique per (mailbox, day); stored day first so the status query reads the plans of
-- the days around today as one contiguous range (this is the "plans by day" index).
CREATE TABLE plans (
  day        INTEGER NOT NULL,
  mailbox    INTEGER NOT NULL REFERENCES mailboxes (id),
  target     INTEGER NOT NULL,
  slot_times BLOB    NOT NULL,   -- int64 little-endian UTC ms per slot, index = slot
  PRIMARY KEY (day, mailbox)
) WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// A real mailbox's account (servers, login; see warmup/account.hpp) and its secret,
// sealed by the caller: opaque bytes the store never interprets. Existing mailboxes get
// an unconfigured account (empty hosts) and no secret.
constexpr std::string_view v2_sql = R"sql(
ALTER TABLE mailboxes ADD COLUMN smtp_host       TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN smtp_port       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN smtp_security   TEXT    NOT NULL DEFAULT 'tls';
ALTER TABLE mailboxes ADD COLUMN imap_host       TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN imap_port       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN imap_security   TEXT    NOT NULL DEFAULT 'tls';
ALTER TABLE mailboxes ADD COLUMN login_username  TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN auth_method     TEXT    NOT NULL DEFAULT 'password';
ALTER TABLE mailboxes ADD COLUMN oauth_client_id TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN token_url       TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN ca_file         TEXT    NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN tls_verify      INTEGER NOT NULL DEFAULT 1;
ALTER TABLE mailboxes ADD COLUMN sealed_secret   BLOB    NOT NULL DEFAULT x'';

-- The cluster's node registry. A single node never needs it; it exists so that both
-- backends keep one schema version sequence and one interface.
CREATE TABLE nodes (
  id           TEXT    PRIMARY KEY,
  address      TEXT    NOT NULL,
  generation   INTEGER NOT NULL,
  capacity     INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The schema version is shared by both backends; SQLite's send_intents needs nothing
// here (an UPDATE there rewrites its row whatever the indexes), so the step is empty.
constexpr std::string_view v3_sql = "-- no change for SQLite\n";

// The write path at realistic sizes (millions of sends): each page a commit dirties is
// rewritten to the WAL, and pages that miss the cache are read first, so every structure
// written at random positions is kept small or made to cluster.
// - message_registry: the TEXT primary key was an index of random ~50-byte strings that
//   every registration and every placement touched at a random leaf (hundreds of MB after a
//   month). Rows now live in insertion order (id) and are found through an index of a
//   64-bit hash of the Message-ID (XXH64, seed 0: warmup::stable_hash; on-disk format,
//   never change it), about a quarter of the size. The hash is not unique: the store
//   compares the text on every lookup, so a collision never returns a wrong entry, and
//   refuses a second row with the same text. warmup_message_hash() is registered on the
//   store's connection (this step needs it).
// - day_stats: keyed (day, mailbox) instead of (mailbox, day), so a commit's deltas land
//   in today's few pages instead of one page per mailbox across the whole table.
// - send_intents_pending: indexed by id (insertion order) instead of (mailbox, day, slot):
//   an intent commit appends to its last page instead of one random page per intent.
constexpr std::string_view v4_sql = R"sql(
CREATE TABLE message_registry_v4 (
  id           INTEGER PRIMARY KEY,
  id_hash      INTEGER NOT NULL,   -- warmup_message_hash(message_id)
  message_id   TEXT    NOT NULL,
  from_mailbox INTEGER NOT NULL,
  to_mailbox   INTEGER NOT NULL,
  thread       INTEGER NOT NULL,
  turn         INTEGER NOT NULL,
  sent_at      INTEGER NOT NULL,
  subject      TEXT    NOT NULL,
  in_reply_to  TEXT    NOT NULL,
  reference_ids TEXT   NOT NULL,
  placement    TEXT    NOT NULL DEFAULT 'unknown',
  rescued      INTEGER NOT NULL DEFAULT 0,
  placed_at    INTEGER
);
INSERT INTO message_registry_v4 (id, id_hash, message_id, from_mailbox, to_mailbox, thread,
  turn, sent_at, subject, in_reply_to, reference_ids, placement, rescued, placed_at)
  SELECT rowid, warmup_message_hash(message_id), message_id, from_mailbox, to_mailbox, thread,
    turn, sent_at, subject, in_reply_to, reference_ids, placement, rescued, placed_at
  FROM message_registry ORDER BY rowid;
DROP TABLE message_registry;
ALTER TABLE message_registry_v4 RENAME TO message_registry;
CREATE INDEX message_registry_by_hash ON message_registry (id_hash);
CREATE INDEX message_registry_by_placed_at ON message_registry (placed_at, placement);

CREATE TABLE day_stats_v4 (
  day      INTEGER NOT NULL,
  mailbox  INTEGER NOT NULL REFERENCES mailboxes (id),
  planned  INTEGER NOT NULL DEFAULT 0,
  sent     INTEGER NOT NULL DEFAULT 0,
  inbox    INTEGER NOT NULL DEFAULT 0,
  spam     INTEGER NOT NULL DEFAULT 0,
  missing  INTEGER NOT NULL DEFAULT 0,
  bounces  INTEGER NOT NULL DEFAULT 0,
  replies  INTEGER NOT NULL DEFAULT 0,
  received INTEGER NOT NULL DEFAULT 0,
  rescued  INTEGER NOT NULL DEFAULT 0,
  skipped  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, mailbox)
) WITHOUT ROWID;
INSERT INTO day_stats_v4 (day, mailbox, planned, sent, inbox, spam, missing, bounces, replies,
  received, rescued, skipped)
  SELECT day, mailbox, planned, sent, inbox, spam, missing, bounces, replies, received,
    rescued, skipped
  FROM day_stats ORDER BY day, mailbox;
DROP TABLE day_stats;
ALTER TABLE day_stats_v4 RENAME TO day_stats;

DROP INDEX send_intents_pending;
CREATE INDEX send_intents_pending ON send_intents (id) WHERE status = 'pending';
)sql";

// The registry's hash index was still written at random positions across all of it: one
// entry per send at a random leaf of an index of every Message-ID ever sent (~160 MB after a
// month at 10k mailboxes), and every placement read its way down to a random leaf. Keyed
// (day, id_hash), with day the UTC day of sent_at (floored, also before 1970), a day's
// registrations and the placements of its messages (which name sent_at) land in that day's
// part of the index only: small and in cache, so a commit dirties few pages. The price: a
// lookup without the day (find_message) probes each day present, newest first (see
// sqlite_store.cpp). A Message-ID's text is unique within its day; across days that rests on
// Message-IDs being random (make_message_id), as nothing else is checked.
// Placements move to their own small table keyed by the registry row id: a placement
// rewrote its registry row (~200 bytes, from one to six lazy commits back: thousands of
// distinct table pages per commit); it now writes a ~20-byte row among the recent ids of
// message_placements, and the "placed today" index is that table's, appended in time order
// (a registration no longer adds an entry to it).
constexpr std::string_view v5_sql = R"sql(
CREATE TABLE message_registry_v5 (
  id           INTEGER PRIMARY KEY,
  day          INTEGER NOT NULL,   -- UTC day of sent_at: floor(sent_at / 86400000)
  id_hash      INTEGER NOT NULL,   -- warmup_message_hash(message_id)
  message_id   TEXT    NOT NULL,
  from_mailbox INTEGER NOT NULL,
  to_mailbox   INTEGER NOT NULL,
  thread       INTEGER NOT NULL,
  turn         INTEGER NOT NULL,
  sent_at      INTEGER NOT NULL,
  subject      TEXT    NOT NULL,
  in_reply_to  TEXT    NOT NULL,
  reference_ids TEXT   NOT NULL
);
-- SQLite's integer division truncates toward zero: a negative sent_at that is not a whole
-- day belongs to the day before.
INSERT INTO message_registry_v5 (id, day, id_hash, message_id, from_mailbox, to_mailbox,
  thread, turn, sent_at, subject, in_reply_to, reference_ids)
  SELECT id,
    CASE WHEN sent_at < 0 AND sent_at % 86400000 <> 0 THEN sent_at / 86400000 - 1
         ELSE sent_at / 86400000 END,
    id_hash, message_id, from_mailbox, to_mailbox, thread, turn, sent_at, subject,
    in_reply_to, reference_ids
  FROM message_registry ORDER BY id;
-- The last placement of a registered message (none: never placed, "unknown"). No foreign
-- key: registry rows are never deleted, and the store writes a placement only for a row it
-- has just found.
CREATE TABLE message_placements (
  id        INTEGER PRIMARY KEY,   -- message_registry.id
  placement TEXT    NOT NULL,
  rescued   INTEGER NOT NULL,
  placed_at INTEGER
);
INSERT INTO message_placements (id, placement, rescued, placed_at)
  SELECT id, placement, rescued, placed_at FROM message_registry
  WHERE placed_at IS NOT NULL OR placement <> 'unknown' OR rescued <> 0 ORDER BY id;
DROP TABLE message_registry;
ALTER TABLE message_registry_v5 RENAME TO message_registry;
CREATE INDEX message_registry_by_day_hash ON message_registry (day, id_hash);
-- Covers "inbox/spam today".
CREATE INDEX message_placements_by_placed_at ON message_placements (placed_at, placement);
)sql";

// send_intents' unique key index (day, mailbox, slot) was the one structure an intent
// still wrote at a random position: a commit's few hundred intents of random mailboxes each
// dirtied a different leaf of today's part of it (~3.5 KiB of WAL per intent). Rows of one
// day are appended in id order, so an index keyed (day, id) has one hot end per live day;
// mailbox and slot follow only to cover the reads that list a day's keys (loading the
// writer's key table, status, days_between) without visiting the table. The key is still
// unique: the store's single writer refuses a key it holds in memory, per day, loaded from
// this index (see intent_day_keys in sqlite_store.cpp), and finds an intent's row for its
// outcome there too.
constexpr std::string_view v6_sql = R"sql(
DROP INDEX send_intents_by_key;
CREATE INDEX send_intents_by_day ON send_intents (day, id, mailbox, slot);
)sql";

constexpr std::array<migration, 6> all = {{
  {1, "create the warmup schema", v1_sql},
  {2, "add mail accounts, sealed secrets and the node registry", v2_sql},
  {3, "nothing (PostgreSQL's step 3 makes its outcomes HOT updates)", v3_sql},
  {4, "registry found by a hash of the Message-ID, day stats and pending intents "
      "clustered for writing", v4_sql},
  {5, "registry indexed by the UTC day of sent_at, placements in their own table", v5_sql},
  {6, "send intents indexed by (day, id), their key kept unique by the writer", v6_sql},
}};

}  // namespace

std::span<const migration> sqlite_migrations() {
  return all;
}

}  // namespace warmup::storage
