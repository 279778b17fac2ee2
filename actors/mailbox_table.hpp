// mailbox_table.hpp: the pool's settings rows indexed by mailbox id, readable from every
// thread while one writer adds mailboxes to a running node. Rows never move (actors keep
// pointers to their row), and a row becomes visible only once it is complete.
#pragma once

#include "warmup/types.hpp"

#include <atomic>
#include <cstddef>
#include <memory>

namespace warmup {

class mailbox_table {
public:
  static constexpr std::size_t chunk_rows = 1024;          // rows allocated together
  static constexpr std::size_t max_chunks = 16384;         // ids below 16.7M

  mailbox_table() : chunks_(std::make_unique<std::atomic<mailbox_settings*>[]>(max_chunks)) {}
  ~mailbox_table() { release(); }
  mailbox_table(const mailbox_table&) = delete;
  mailbox_table& operator=(const mailbox_table&) = delete;

  // Rows [0, size()) are readable: the acquire pairs with the writer's release, so a
  // reader that sees the size sees every row below it complete.
  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  bool empty() const { return size() == 0; }

  const mailbox_settings& operator[](std::size_t i) const { return slot(i); }
  mailbox_settings& operator[](std::size_t i) { return slot(i); }

  // Start-up (no reader yet): `n` default rows.
  void assign(std::size_t n, const mailbox_settings& value = {}) {
    release();
    grow(n);
    for (std::size_t i = 0; i < n; ++i)
      slot(i) = value;
    size_.store(n, std::memory_order_release);
  }
  void resize(std::size_t n) { assign(n); }

  // The one writer, while readers run: places `m` at row m.id (ids only grow: m.id must be
  // >= size()) and publishes it. Returns the row; nullptr for an id the table cannot hold.
  const mailbox_settings* add(mailbox_settings m) {
    const auto id = static_cast<std::size_t>(m.id);
    if (id < size() || id >= max_chunks * chunk_rows)
      return nullptr;
    grow(id + 1);
    slot(id) = std::move(m);
    size_.store(id + 1, std::memory_order_release);
    return &slot(id);
  }

  // Rows in id order (gaps are default rows with id == no_mailbox).
  template <class Row>
  class basic_iterator {
  public:
    basic_iterator(Row* table, std::size_t i) : table_(table), i_(i) {}
    auto& operator*() const { return (*table_)[i_]; }
    auto* operator->() const { return &(*table_)[i_]; }
    basic_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const basic_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const basic_iterator& o) const { return i_ != o.i_; }

  private:
    Row* table_;
    std::size_t i_;
  };
  using iterator = basic_iterator<mailbox_table>;
  using const_iterator = basic_iterator<const mailbox_table>;
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size()}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

private:
  mailbox_settings& slot(std::size_t i) const {
    return chunks_[i / chunk_rows].load(std::memory_order_relaxed)[i % chunk_rows];
  }
  // Chunks for rows [0, n): allocated before the size that exposes them is published.
  void grow(std::size_t n) {
    const auto needed = (n + chunk_rows - 1) / chunk_rows;
    while (chunk_count_ < needed)
      chunks_[chunk_count_++].store(new mailbox_settings[chunk_rows], std::memory_order_relaxed);
  }
  void release() {
    size_.store(0, std::memory_order_release);
    for (std::size_t c = 0; c < chunk_count_; ++c)
      delete[] chunks_[c].exchange(nullptr, std::memory_order_relaxed);
    chunk_count_ = 0;
  }

  std::unique_ptr<std::atomic<mailbox_settings*>[]> chunks_;
  std::size_t chunk_count_ = 0;   // the writer's alone
  std::atomic<std::size_t> size_{0};
};

}  // namespace warmup
