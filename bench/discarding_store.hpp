// discarding_store.hpp: a DIAGNOSTIC store for benchmarks only. It forwards every read and
// every non-batch write to a real store and drops the batched writes of the send path
// (intents, outcomes, registry, placements, stats, ramps, plans), answering every intent as
// newly written. sim_throughput uses it when SIM_STORE=discard to measure what the engine
// alone (actors, clock, sandbox network) costs, so that the engine's and the store's
// shares of a run can be told apart. Nothing it reports is a figure of the product: a node
// never runs on it.
#pragma once

#include "storage/store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace warmup::bench {

class discarding_store final : public storage::store {
public:
  explicit discarding_store(std::shared_ptr<storage::store> inner) : inner_(std::move(inner)) {}

  void migrate() override { inner_->migrate(); }
  int schema_version() override { return inner_->schema_version(); }
  mailbox_id add_mailbox(const storage::mailbox_record& r) override {
    return inner_->add_mailbox(r);
  }
  std::vector<mailbox_id> add_mailboxes(const std::vector<storage::mailbox_record>& rs) override {
    return inner_->add_mailboxes(rs);
  }
  std::optional<storage::mailbox_record> get_mailbox(mailbox_id id) override {
    return inner_->get_mailbox(id);
  }
  std::optional<storage::mailbox_record> find_mailbox(const std::string& email) override {
    return inner_->find_mailbox(email);
  }
  std::vector<storage::mailbox_record> list_mailboxes(const storage::mailbox_filter& f) override {
    return inner_->list_mailboxes(f);
  }
  std::uint64_t count_mailboxes(const storage::mailbox_filter& f) override {
    return inner_->count_mailboxes(f);
  }
  bool set_mailbox_state(mailbox_id id, mailbox_state s) override {
    return inner_->set_mailbox_state(id, s);
  }
  bool remove_mailbox(mailbox_id id) override { return inner_->remove_mailbox(id); }
  bool update_mailbox(const storage::mailbox_record& r) override {
    return inner_->update_mailbox(r);
  }
  std::optional<epoch_t> acquire_lease(shard_id s, const std::string& owner, time_ms now,
                                       time_ms ttl) override {
    return inner_->acquire_lease(s, owner, now, ttl);
  }
  bool renew_lease(shard_id s, const std::string& owner, epoch_t epoch, time_ms now,
                   time_ms ttl) override {
    return inner_->renew_lease(s, owner, epoch, now, ttl);
  }
  void release_lease(shard_id s, const std::string& owner, epoch_t epoch) override {
    inner_->release_lease(s, owner, epoch);
  }
  std::optional<storage::lease> get_lease(shard_id s) override { return inner_->get_lease(s); }
  bool register_node(const storage::node_info& n) override { return inner_->register_node(n); }
  bool heartbeat(const std::string& node_id, std::uint64_t generation) override {
    return inner_->heartbeat(node_id, generation);
  }
  std::vector<storage::node_info> list_nodes() override { return inner_->list_nodes(); }

  // The dropped writes: every intent is answered as inserted, nothing is stored.
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

  std::vector<storage::intent_row> intents(mailbox_id m, day_number from_day,
                                           day_number to_day) override {
    return inner_->intents(m, from_day, to_day);
  }
  std::vector<storage::send_intent> pending_intents() override {
    return inner_->pending_intents();
  }
  std::vector<day_stats> stats(mailbox_id m, day_number from_day, day_number to_day) override {
    return inner_->stats(m, from_day, to_day);
  }
  std::optional<storage::registry_entry> find_message(const std::string& message_id) override {
    return inner_->find_message(message_id);
  }
  std::uint64_t count_messages() override { return inner_->count_messages(); }
  std::optional<storage::plan_record> plan(mailbox_id m, day_number day) override {
    return inner_->plan(m, day);
  }
  day_rows days_between(day_number from_day, day_number to_day) override {
    return inner_->days_between(from_day, to_day);
  }
  storage::status_summary status(time_ms now, time_ms overdue_grace) override {
    return inner_->status(now, overdue_grace);
  }
  void put_meta(const std::string& key, const std::string& value) override {
    inner_->put_meta(key, value);
  }
  std::optional<std::string> get_meta(const std::string& key) override {
    return inner_->get_meta(key);
  }

private:
  static storage::batch_result discard(const storage::write_batch& b) {
    storage::batch_result r;
    r.intent_inserted.assign(b.intents.size(), true);
    return r;
  }

  std::shared_ptr<storage::store> inner_;
};

}  // namespace warmup::bench
