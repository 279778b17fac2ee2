// engagement.hpp: what a receiving mailbox does with one warmup message and when:
// read, important, star, reply, rescue from spam; human delays, never lockstep.
#pragma once

#include "warmup/types.hpp"

#include <cstdint>

namespace warmup {

struct engagement_plan {
  time_ms open_delay = 0;     // arrival -> first look (log-uniform 2 min .. 8 h)
  bool read = false;
  bool important = false;
  bool star = false;
  bool rescue = false;        // only applied if the message really is in spam
  time_ms rescue_delay = 0;   // arrival -> rescue (3 .. 40 min), when rescue
  bool reply = false;
  time_ms reply_delay = 0;    // arrival -> reply (log-normal, median ~3.5 h, 20 min..36 h)
};

// Decides the recipient's engagement with message turn `turn` of a thread; `seed`
// derives from (recipient, Message-ID) so re-deciding gives the same answer. Replies are
// only drawn while turn < max_thread_turns.
engagement_plan decide_engagement(const engagement_params& p, std::uint64_t seed, int turn);

}  // namespace warmup
