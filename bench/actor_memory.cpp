// actor_memory.cpp: memory per idle mailbox actor at 100,000 mailboxes (the real mailbox
// and shard behaviours, spawned as the node spawns them), on top of a bare process.
// Prints figures only: RSS (what the target counts) and, beside it, the heap bytes in use
// (mallinfo2), which say how much of the RSS the allocations themselves are.
//
//   actor_memory [mailboxes=100000] [shards=256]
#include "actors/engine_context.hpp"
#include "actors/mailbox.hpp"
#include "actors/shard.hpp"
#include "bench/proc_status.hpp"
#include "messages/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <string>
#include <thread>

using namespace warmup;

namespace {

// Heap bytes in use (small chunks plus mmapped blocks), as glibc counts them.
std::size_t heap_in_use() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t n = argc > 1 ? static_cast<std::uint32_t>(std::atoi(argv[1])) : 100000;
  std::uint32_t shards = argc > 2 ? static_cast<std::uint32_t>(std::atoi(argv[2])) : 256;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.add_message_types<caf::id_block::warmup>();
  caf::actor_system sys{cfg};
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  malloc_trim(0);
  long bare = bench::proc_status_kib("VmRSS:");
  auto heap_bare = heap_in_use();

  auto ctx = std::make_unique<engine_context>();
  ctx->cfg.node.shard_count = shards;
  ctx->clock = engine_clock::manual(20458LL * ms_per_day);
  ctx->mailboxes.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& m = ctx->mailboxes[i];
    m.id = i;
    m.email = "mailbox" + std::to_string(i) + "@org" + std::to_string(i / 7) + ".test";
    m.provider = "gmail.sim";
    m.organisation = "org" + std::to_string(i / 7) + ".test";
    m.timezone = "Europe/Berlin";
  }
  ctx->shard_next_due = std::make_unique<std::atomic<time_ms>[]>(shards);
  malloc_trim(0);
  // Measured before the seeds are built: they only live until the shards have spawned
  // (what of them stays resident counts against the actors).
  long with_table = bench::proc_status_kib("VmRSS:");
  auto heap_table = heap_in_use();
  std::vector<std::vector<mailbox_seed>> seeds(shards);
  for (auto& m : ctx->mailboxes)
    seeds[shard_of(m.email, shards)].push_back(mailbox_seed{&m, {}, mailbox_state::active, 0, {}, {}});

  auto t0 = std::chrono::steady_clock::now();
  ctx->shards.resize(shards);
  for (std::uint32_t s = 0; s < shards; ++s)
    ctx->shards[s] = sys.spawn(shard, ctx.get(), s, epoch_t{1}, std::move(seeds[s]));
  // Wait until every shard has spawned its mailboxes.
  std::uint64_t counted = 0;
  {
    caf::scoped_actor self{sys};
    for (auto& s : ctx->shards)
      self->request(s, std::chrono::seconds(60), atom::status::value)
        .receive([&](const shard_view& v) { counted += v.mailboxes; }, [](caf::error&) {});
  }
  double spawn_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long with_actors = bench::proc_status_kib("VmRSS:");
  seeds.clear();
  seeds.shrink_to_fit();
  auto heap_actors = heap_in_use();
  auto running = sys.registry().running();

  double per_actor = double(with_actors - with_table) * 1024.0 / double(n);
  double per_mailbox = double(with_actors - bare) * 1024.0 / double(n);
  std::printf("mailbox actors: %u (confirmed by shards: %llu), shards: %u, running actors: %zu\n",
              n, (unsigned long long) counted, shards, running);
  std::printf("  RSS bare process (actor system up)   %ld KiB\n", bare);
  std::printf("  RSS + pool table (settings)          %ld KiB\n", with_table);
  std::printf("  RSS + idle mailbox and shard actors  %ld KiB\n", with_actors);
  std::printf("  per idle mailbox actor (actors only) %.0f B\n", per_actor);
  std::printf("  per mailbox incl. its settings       %.0f B (target <= 2048 B)\n", per_mailbox);
  std::printf("  heap in use per mailbox: settings row %.0f B, actors %.0f B (of which "
              "the mailbox actor object %zu B, its state %zu B)\n",
              double(heap_table - heap_bare) / double(n),
              double(heap_actors - heap_table) / double(n), sizeof(mailbox_actor_impl),
              sizeof(mailbox_actor_state));
  std::printf("  spawn time                           %.3f s (%.0f actors/s)\n", spawn_s,
              double(n) / spawn_s);
  {
    caf::scoped_actor self{sys};
    for (auto& s : ctx->shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
  }
  ctx->shards.clear();
  return 0;
}
