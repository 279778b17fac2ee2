// discarding_store.hpp: a DIAGNOSTIC store for benchmarks only. It forwards every read and
// every non-batch write to a real store and drops the batched writes of the send path
// (intents, outcomes, registry, placements, stats, ramps, plans), answering every intent as
// newly written. sim_throughput uses it when SIM_STORE=discard to measure what the engine
// alone (actors, clock, sandbox network) costs, so that the engine's and the store's
// shares of a run can be told apart. Nothing it reports is a figure of the product: a node
// never runs on it.
#pragma once

#include "storage/forwarding_store.hpp"

#include <string>
#include <vector>

namespace warmup::bench {

class discarding_store final : public storage::forwarding_store {
public:
  using forwarding_store::forwarding_store;

  storage::batch_result apply(const storage::write_batch& b) override { return discard(b); }
  std::vector<storage::batch_result>
  apply_many(const std::vector<storage::write_batch>& batches) override {
    std::vector<storage::batch_result> out;
    out.reserve(batches.size());
    for (const auto& b : batches)
      out.push_back(discard(b));
    return out;
  }
  std::vector<storage::batch_result>
  apply_many_once(const std::string&, std::uint64_t,
                  const std::vector<storage::write_batch>& batches) override {
    return apply_many(batches);
  }

private:
  static storage::batch_result discard(const storage::write_batch& b) {
    storage::batch_result r;
    r.intent_inserted.assign(b.intents.size(), true);
    return r;
  }
};

}  // namespace warmup::bench
