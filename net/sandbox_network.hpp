// sandbox_network.hpp: a SIMULATED in-process mail network (providers, mailboxes, spam
// filters driven by sender reputation) used as the default transport by the demo, tests
// and benchmarks. It is a simulation: nothing here touches real mail.
//
// The model, in one paragraph: every sender has a reputation with every provider, in
// [0, 1]; a new sender starts near `initial_reputation`. A delivery lands in the inbox
// with probability logistic((effective reputation - provider strictness) / softness), so
// a fresh mailbox lands mostly in spam at strict providers. Engagement by the recipient
// (read, important, star, reply, rescue from spam) raises the sender's reputation with the
// recipient's provider, spam left unrescued and "mark as spam" lower it, and every day it
// drifts back toward a neutral value, so reputation needs sustained engagement. Volume
// spikes build "heat" on the sender (each send beyond max(5, 1.5 x the trailing 7-day
// mean, 1.25 x the busiest recent day) adds heat growing with the square of the excess;
// heat halves every day) and the effective reputation is reputation - heat: engagement
// cannot cancel a spike at once.
//
// Time is always an argument (no clock reads); days are UTC days of that time. Random
// draws are counter-based (an rng seeded by (network seed, Message-ID, recipient)), so a
// run is deterministic for a fixed seed whatever the thread interleaving.
//
// Thread-safety: every public member may be called from several threads at once. State
// is striped by mailbox id; an operation holds one stripe lock at a time (never two), so
// there is no lock order to get wrong. Measured single-threaded: 3-6 million operations
// (deliver, find, rescue, set_flags, file) per second at 10k mailboxes.
//
// Memory: 32 bytes per stored message plus ~250 bytes per mailbox; cleanup() keeps the
// message count at (daily traffic x retention days).
#pragma once

#include "warmup/types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace warmup::sandbox {

// Where a message sits in the recipient's mailbox. `warmup` is the folder the engine
// files warmup mail into; `none` means "not found".
enum class folder : std::uint8_t { none, inbox, spam, warmup, archive };
std::string_view to_string(folder f);

enum class delivery_status : std::uint8_t { accepted, bounced, temporary_failure };
std::string_view to_string(delivery_status s);

struct delivery {
  delivery_status status = delivery_status::accepted;
  folder placement = folder::none;  // inbox or spam when accepted, else none
};

// One message handed to the network. Views are only read during deliver().
struct mail {
  mailbox_id from = no_mailbox;
  mailbox_id to = no_mailbox;
  std::string_view message_id;   // the Message-ID; stored as its 64-bit hash
  std::string_view in_reply_to;  // Message-ID this replies to, empty for a thread opener
  std::uint64_t thread = 0;      // the engine's thread id (kept for lookups)
  int turn = 0;                  // 0 for the opener, 1 for the first reply, ...
};

// Message flags the recipient sets (IMAP \Seen, important, \Flagged).
struct flags {
  bool read = false;
  bool important = false;
  bool starred = false;
  friend bool operator==(const flags&, const flags&) = default;
};

// What the recipient's mailbox holds about one message.
struct message_view {
  folder where = folder::none;
  mailbox_id from = no_mailbox;
  std::uint64_t thread = 0;
  int turn = 0;
  flags marks;
  time_ms arrived_at = 0;
};

struct provider_spec {
  std::string name;
  double strictness = 0.40;  // effective reputation at which P(inbox) = 50%
};

// The default provider set: "gmail.sim", "outlook.sim", "yahoo.sim", "mail.sim".
std::vector<provider_spec> default_providers();
// Providers for the configured names: the four defaults keep their strictness, any other
// name gets a strictness in [0.33, 0.45] derived from a stable hash of the name.
std::vector<provider_spec> providers_named(std::span<const std::string> names);

// Tunables. Gains move reputation a share of the way toward 1, costs a share toward 0,
// so reputation stays in [0, 1] without clamping artefacts.
struct network_params {
  std::uint64_t seed = 1;
  std::vector<provider_spec> providers = default_providers();  // at most 32 are used
  double softness = 0.06;                 // logistic width of the spam filter
  double misfiling = 0.01;                // even a trusted sender lands in spam this often
  double initial_reputation = 0.40;       // a sender never seen before
  double neutral_reputation = 0.40;       // what reputation drifts back to
  double daily_drift = 0.04;              // share of (reputation - neutral) lost per day
  double transient_failure_rate = 0.0;    // chance a delivery fails temporarily (retries)
  // Engagement (gains: share of the distance to 1).
  double read_gain = 0.05;
  double important_gain = 0.08;
  double star_gain = 0.08;
  double reply_gain = 0.20;
  double rescue_gain = 0.40;
  // Negative signals (costs: share of the reputation).
  double spam_left_cost = 0.05;           // per message still in spam after spam_left_after
  time_ms spam_left_after = ms_per_day;
  double marked_spam_cost = 0.20;         // recipient moved it into spam
  // Volume spikes: today's k-th send with k > threshold = max(spike_floor, spike_factor
  // x trailing 7-day mean, spike_peak_factor x busiest of the trailing 7 days) adds
  // spike_heat x (k - threshold)^2 heat; heat x heat_decay per day. The peak term keeps a
  // weekly rhythm (quiet weekends, back to the usual volume on Monday) from counting as
  // a spike; squared, so that the standard ramp's early steps (3 -> 11 a day: a few sends
  // over a low threshold) cost little while tripling a warmed volume costs a lot.
  double spike_floor = 5.0;
  double spike_factor = 1.5;
  double spike_peak_factor = 1.25;
  double spike_heat = 0.0008;
  double heat_decay = 0.5;
};

// The filter's verdict for an effective reputation at a provider:
// logistic((r - strictness) / softness). deliver() then misfiles a `misfiling` share.
double inbox_probability(double reputation, double strictness, double softness);

struct provider_totals {
  std::string name;
  double strictness = 0.0;
  std::uint64_t mailboxes = 0;
  std::uint64_t accepted = 0;
  std::uint64_t inbox = 0;               // placements at delivery
  std::uint64_t spam = 0;
  std::uint64_t temporary_failures = 0;
  std::uint64_t rescued = 0;
};

struct network_totals {
  std::vector<provider_totals> providers;
  std::uint64_t bounced = 0;             // unknown recipients (they have no provider)
  std::uint64_t messages_stored = 0;
  std::uint64_t senders = 0;             // mailboxes that have sent at least once
};

class network {
public:
  explicit network(network_params p = {});
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  const network_params& params() const;

  // Registers (or moves) a mailbox at a provider; false if the provider is unknown.
  // Messages already stored for the mailbox are kept.
  bool add_mailbox(mailbox_id id, std::string_view provider);
  bool has_mailbox(mailbox_id id) const;

  // Delivers one message: bounced for an unknown recipient (or from no_mailbox),
  // temporary_failure with transient_failure_rate (nothing stored, nothing counted, safe
  // to retry), else stored in the inbox or spam by the recipient provider's filter. Each
  // new message (bounced or not) counts toward the sender's daily volume. A reply to a
  // message the replier received from the recipient (in_reply_to found in its mailbox) is
  // conversation, not volume, and counts once as reply engagement for the original sender.
  // Every accepted copy is stored: deliver each Cc recipient separately.
  delivery deliver(const mail& m, time_ms now);

  // Receiving side, as the engine's IMAP-like processing sees it. Lookups search newest
  // first, so finding recent mail is cheap. Each returns false when the message is not in
  // the recipient's mailbox.
  folder find(mailbox_id recipient, std::string_view message_id) const;
  std::optional<message_view> lookup(mailbox_id recipient, std::string_view message_id) const;
  // Moves a message. Out of spam counts as a rescue (once per message) because providers
  // learn "not spam" from it whatever the target folder; into spam counts as "mark as spam".
  bool move(mailbox_id recipient, std::string_view message_id, folder to, time_ms now);
  // Moves spam -> inbox; false (and no effect) when the message is not in spam.
  bool rescue(mailbox_id recipient, std::string_view message_id, time_ms now);
  // Files into the warmup folder (from spam this is a rescue too, see move()).
  bool file(mailbox_id recipient, std::string_view message_id, time_ms now);
  // Sets the flags that are true in `set` (never clears); only newly set flags engage.
  bool set_flags(mailbox_id recipient, std::string_view message_id, flags set, time_ms now);

  // Daily upkeep: every message still in spam spam_left_after after arrival costs its
  // sender once ("spam left"); drops filed, archived and spam messages that arrived
  // before now - older_than (providers purge junk; inbox mail is the user's and stays).
  // Returns the number of messages dropped.
  std::size_t cleanup(time_ms now, time_ms older_than);

  // Introspection.
  // The sender's effective reputation (reputation - heat, drifted to `now`) with a
  // provider; the initial reputation for a sender never seen; nullopt for an unknown
  // provider.
  std::optional<double> reputation(mailbox_id sender, std::string_view provider,
                                   time_ms now) const;
  network_totals totals() const;
  std::size_t messages_stored() const;

  // Reputations, heat and send history of every sender (not messages, not mailboxes:
  // the engine re-adds mailboxes from its store) as text, and back. restore() replaces
  // all sender state; on a malformed snapshot it changes nothing, returns false and says
  // why in `why`. Providers are matched by name; unknown ones are ignored.
  std::string snapshot() const;
  bool restore(std::string_view snapshot, std::string* why = nullptr);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace warmup::sandbox
