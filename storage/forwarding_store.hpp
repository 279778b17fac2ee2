// forwarding_store.hpp: a store that passes every call to another one. A base for stores
// that change a few calls and keep the rest: a benchmark's diagnostic that drops writes, a
// test's store that fails on demand. Nothing of the product runs on one.
#pragma once

#include "storage/store.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace warmup::storage {

class forwarding_store : public store {
public:
  explicit forwarding_store(std::shared_ptr<store> inner) : in_(std::move(inner)) {}

  void migrate() override { in_->migrate(); }
  int schema_version() override { return in_->schema_version(); }
  mailbox_id add_mailbox(const mailbox_record& r) override { return in_->add_mailbox(r); }
  std::vector<mailbox_id> add_mailboxes(const std::vector<mailbox_record>& rs) override {
    return in_->add_mailboxes(rs);
  }
  std::optional<mailbox_record> get_mailbox(mailbox_id id) override {
    return in_->get_mailbox(id);
  }
  std::optional<mailbox_record> find_mailbox(const std::string& email) override {
    return in_->find_mailbox(email);
  }
  std::vector<mailbox_record> list_mailboxes(const mailbox_filter& f) override {
    return in_->list_mailboxes(f);
  }
  std::uint64_t count_mailboxes(const mailbox_filter& f) override {
    return in_->count_mailboxes(f);
  }
  std::vector<mailbox_stamp> mailbox_stamps() override { return in_->mailbox_stamps(); }
  bool set_mailbox_state(mailbox_id id, mailbox_state s) override {
    return in_->set_mailbox_state(id, s);
  }
  bool remove_mailbox(mailbox_id id) override { return in_->remove_mailbox(id); }
  bool update_mailbox(const mailbox_record& r) override { return in_->update_mailbox(r); }
  std::optional<epoch_t> acquire_lease(shard_id s, const std::string& owner, time_ms now,
                                       time_ms ttl) override {
    return in_->acquire_lease(s, owner, now, ttl);
  }
  bool renew_lease(shard_id s, const std::string& owner, epoch_t epoch, time_ms now,
                   time_ms ttl) override {
    return in_->renew_lease(s, owner, epoch, now, ttl);
  }
  void release_lease(shard_id s, const std::string& owner, epoch_t epoch) override {
    in_->release_lease(s, owner, epoch);
  }
  std::optional<lease> get_lease(shard_id s) override { return in_->get_lease(s); }
  bool register_node(const node_info& n) override { return in_->register_node(n); }
  bool heartbeat(const std::string& node_id, std::uint64_t generation) override {
    return in_->heartbeat(node_id, generation);
  }
  std::vector<node_info> list_nodes() override { return in_->list_nodes(); }
  batch_result apply(const write_batch& b) override { return in_->apply(b); }
  std::vector<batch_result> apply_many(const std::vector<write_batch>& batches) override {
    return in_->apply_many(batches);
  }
  std::vector<batch_result> apply_many_once(const std::string& writer, std::uint64_t seq,
                                            const std::vector<write_batch>& batches) override {
    return in_->apply_many_once(writer, seq, batches);
  }
  std::vector<intent_row> intents(mailbox_id m, day_number from_day,
                                  day_number to_day) override {
    return in_->intents(m, from_day, to_day);
  }
  std::vector<send_intent> pending_intents() override { return in_->pending_intents(); }
  std::vector<day_stats> stats(mailbox_id m, day_number from_day, day_number to_day) override {
    return in_->stats(m, from_day, to_day);
  }
  std::optional<registry_entry> find_message(const std::string& message_id) override {
    return in_->find_message(message_id);
  }
  std::uint64_t count_messages() override { return in_->count_messages(); }
  std::optional<plan_record> plan(mailbox_id m, day_number day) override {
    return in_->plan(m, day);
  }
  day_rows days_between(day_number from_day, day_number to_day) override {
    return in_->days_between(from_day, to_day);
  }
  status_summary status(time_ms now, time_ms overdue_grace) override {
    return in_->status(now, overdue_grace);
  }
  intent_key_memory intent_keys_held() const override { return in_->intent_keys_held(); }
  void put_meta(const std::string& key, const std::string& value) override {
    in_->put_meta(key, value);
  }
  std::optional<std::string> get_meta(const std::string& key) override {
    return in_->get_meta(key);
  }

private:
  std::shared_ptr<store> in_;
};

}  // namespace warmup::storage
