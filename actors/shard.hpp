// shard.hpp: the shard actor: supervises its mailbox actors (restart with backoff), wakes
// them from one heap of due times (one timer source for all: CAF's clock thread is never
// asked for a timer per mailbox), routes messages to them, and batches their writes under
// its lease epoch.
#pragma once

#include "actors/engine_context.hpp"
#include "actors/mailbox.hpp"
#include "messages/interfaces.hpp"

#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <algorithm>
#include <queue>
#include <unordered_map>
#include <set>
#include <vector>

namespace warmup {

struct shard_state {
  struct child {
    mailbox_actor handle;
    const mailbox_settings* settings = nullptr;
    ramp_state ramp;                      // last ramp state written (restart seed)
    mailbox_state state = mailbox_state::active;
    std::uint32_t restarts = 0;
    bool restarting = false;
  };
  using due_entry = std::pair<time_ms, std::uint32_t>;

  const engine_context* ctx = nullptr;
  shard_id id = 0;
  epoch_t epoch = 0;
  std::vector<child> children;
  // (mailbox id, child index) sorted by id: routing looks a mailbox up by binary search.
  // A flat vector costs 8 B per mailbox where a hash map cost ~100 B (memory target).
  std::vector<std::pair<mailbox_id, std::uint32_t>> index;
  // The child index of mailbox `m`, or -1.
  std::int64_t find(mailbox_id m) const {
    auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(m, std::uint32_t{0}));
    return it != index.end() && it->first == m ? static_cast<std::int64_t>(it->second) : -1;
  }
  std::vector<time_ms> due;               // per child: its current due time (-1: none)
  // Per child: woken and its report not back yet. Intents wait until every woken mailbox
  // has reported, so a tick's sends reach the store as one batch, not one per mailbox.
  std::vector<bool> woken;
  std::uint32_t awaiting_reports = 0;
  std::priority_queue<due_entry, std::vector<due_entry>, std::greater<>> heap;
  // Per child index: what waits for its next wake (mail that arrived for it, placements of
  // its messages). Only children with something waiting have an entry: an idle mailbox
  // costs nothing here (memory target).
  std::unordered_map<std::uint32_t, wake_bundle> held;
  // Per child index: its settings as edited while the node runs (its `settings` points
  // here; its actor holds them too). Only edited mailboxes have an entry.
  std::unordered_map<std::uint32_t, std::shared_ptr<const mailbox_settings>> edited;
  // The earliest first look among the mail held for child `i` (-1: none).
  time_ms held_due(std::uint32_t i) const {
    auto it = held.find(i);
    if (it == held.end())
      return -1;
    time_ms t = -1;
    for (const auto& m : it->second.mail)
      if (t < 0 || m.process_at < t)
        t = m.process_at;
    return t;
  }
  storage::write_batch pending;
  // Where a (mailbox, day) counter row sits in pending.stats: deltas for the same row are
  // added up before they reach the store (fewer row writes per batch).
  std::unordered_map<std::uint64_t, std::size_t> stats_rows;
  std::size_t pending_rows = 0;
  // Send intents in `pending` that a mailbox waits on: the mailbox (its handle when it
  // reported: a restarted actor must not get its predecessor's answers), and where its
  // intents sit in pending.intents. Answered with one message per report.
  struct awaited_intents {
    mailbox_actor mailbox;
    std::size_t first = 0;
    std::size_t count = 0;
  };
  std::vector<awaited_intents> waiting;
  bool flushing = false;
  bool stopping = false;
  // Sends whose intent is durable and whose outcome has not come back yet: a clean stop
  // waits for them (at most stop_drain) so that it leaves no pending intent behind.
  std::set<slot_key> in_flight;
  // Intents in the batch at the store now: each may come back durable, and then its
  // mailbox sends it, so a drain must wait for their answer as for the sends in flight.
  std::size_t intents_committing = 0;
  // Nothing that could still leave an intent without outcome: no send in flight, no
  // intent at the store or waiting to go there. A shard that lost its lease writes
  // nothing more, so it has nothing to wait for.
  bool drained() const {
    return stopped || (in_flight.empty() && waiting.empty() && intents_committing == 0);
  }
  bool draining = false;
  bool stopped = false;                   // lost its lease: refuses all work
  std::uint32_t restarts = 0;
  std::vector<caf::typed_response_promise<bool>> stop_promises;

  static inline const char* name = "shard";
};

shard_actor::behavior_type shard(shard_actor::stateful_pointer<shard_state> self,
                                 const engine_context* ctx, shard_id id, epoch_t epoch,
                                 std::vector<mailbox_seed> seeds);

}  // namespace warmup
