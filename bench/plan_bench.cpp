// plan_bench.cpp: planning throughput of one warmup day with the full peer rules, for 1k,
// 10k and 100k mailboxes, beside an O(N^2) naive weighted scan at 1k and 10k. Prints
// figures only.
//
//   plan_bench [--no-naive] [sizes...]     default sizes: 1000 10000 100000
//
// Per size, in its own process (so peak RSS is that size's): a pool over 5 providers in
// organisations of 1-20 mailboxes, ramp states spread over days 0..60, 7 prior days run
// through the same code to fill the pair history; then the measured day, three times
// from the identical state (forked copies), median reported: plan_day for every mailbox,
// the day's slots put in time order, one choose() per opener (with its Cc draws).
#include "warmup/peers.hpp"
#include "warmup/planner.hpp"
#include "warmup/random.hpp"
#include "warmup/ramp.hpp"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace warmup;

namespace {

using clock_type = std::chrono::steady_clock;

// CPU time of this process: on a shared machine, wall time also counts other work.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

long peak_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// 2026-03-04, a Wednesday; the 7 prior days include a weekend, as real weeks do.
constexpr day_number measured_day = 20516;

struct pool {
  std::vector<mailbox_settings> mailboxes;
  std::vector<ramp_state> ramps;
  std::size_t organisations = 0;
};

pool make_pool(std::size_t n, std::uint64_t seed) {
  static constexpr std::array<const char*, 5> providers = {"gmail", "outlook", "yahoo",
                                                           "zoho", "custom"};
  static constexpr std::array<double, 5> provider_share = {0.40, 0.30, 0.10, 0.08, 0.12};
  static constexpr std::array<const char*, 5> zones = {
    "UTC", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"};
  rng r(seed);
  pool p;
  p.mailboxes.reserve(n);
  while (p.mailboxes.size() < n) {
    const auto org = "org" + std::to_string(p.organisations++) + ".example";
    double u = r.uniform();
    std::size_t provider = 0;
    while (provider + 1 < providers.size() && u >= provider_share[provider])
      u -= provider_share[provider++];
    const auto zone = zones[static_cast<std::size_t>(r.uniform_int(0, zones.size() - 1))];
    const auto size = static_cast<std::size_t>(r.uniform_int(1, 20));
    for (std::size_t i = 0; i < size && p.mailboxes.size() < n; ++i) {
      mailbox_settings m;
      m.id = static_cast<mailbox_id>(p.mailboxes.size());
      m.email = "user" + std::to_string(i) + "@" + org;
      m.provider = providers[provider];
      m.organisation = org;
      m.timezone = zone;
      p.mailboxes.push_back(std::move(m));
      ramp_state s;
      s.ramp_day = static_cast<int>(r.uniform_int(0, 60));
      if (r.chance(0.05)) {
        s.throttle_percent = 75;
        s.band = health_band::throttle;
      }
      p.ramps.push_back(s);
    }
  }
  return p;
}

bool healthy_steady(const mailbox_settings& m, const ramp_state& s) {
  return s.band == health_band::healthy
         && base_volume(m.ramp, s.ramp_day) >= m.ramp.ceiling;
}

struct send_slot {
  time_ms at;
  mailbox_id mailbox;
  std::uint32_t index;
};

struct day_figures {
  double plan_s = 0, order_s = 0, draw_s = 0, total_s = 0, cpu_s = 0;
  long openers = 0, draws = 0, failed = 0;
  // Hash of every slot time and every recipient, in order: equal figures across builds
  // mean the same plans and draws (a speed-up must not change what is chosen).
  std::uint64_t plan_print = 0, draw_print = 0;
};

// Order-sensitive fold of one value into a fingerprint.
std::uint64_t fold(std::uint64_t print, std::uint64_t value) {
  return (print ^ value) * 0x100000001B3ULL + 0x9E3779B97F4A7C15ULL;
}

// Slots of all mailboxes in time order: a counting sort by minute (the day spans at most
// ~2 UTC days over the time zones), then by mailbox order within a minute.
void order_slots(const std::vector<day_plan>& plans, std::vector<send_slot>& out) {
  out.clear();
  time_ms lo = 0, hi = 0;
  bool first = true;
  for (const auto& p : plans)
    for (const auto& s : p.slots) {
      lo = first ? s.at : std::min(lo, s.at);
      hi = first ? s.at : std::max(hi, s.at);
      first = false;
    }
  if (first)
    return;
  const auto buckets = static_cast<std::size_t>((hi - lo) / ms_per_minute + 1);
  std::vector<std::uint32_t> start(buckets + 1, 0);
  std::size_t total = 0;
  for (const auto& p : plans)
    for (const auto& s : p.slots) {
      ++start[static_cast<std::size_t>((s.at - lo) / ms_per_minute) + 1];
      ++total;
    }
  for (std::size_t b = 1; b <= buckets; ++b)
    start[b] += start[b - 1];
  out.resize(total);
  for (const auto& p : plans)
    for (const auto& s : p.slots)
      out[start[static_cast<std::size_t>((s.at - lo) / ms_per_minute)]++] = {s.at, p.mailbox,
                                                                            s.index};
}

// Every mailbox's plan, each member's limit set to today's target.
void plan_all(const pool& p, day_number day, std::vector<day_plan>& plans) {
  plans.resize(p.mailboxes.size());
  for (std::size_t i = 0; i < p.mailboxes.size(); ++i)
    plan_day(p.mailboxes[i], p.ramps[i], day, plans[i]);
}

std::uint64_t slot_seed(const send_slot& s, day_number day) {
  return seed_of(plan_seed(s.mailbox, day), s.index, 0x7065657273ULL);  // "peers"
}

// One day with the directory; `log` (when given) receives every message for the naive
// scan's history.
day_figures run_day(const pool& p, peer_directory& dir, day_number day,
                    std::vector<std::array<std::uint32_t, 3>>* log) {
  day_figures f;
  std::vector<day_plan> plans;
  std::vector<send_slot> slots;
  const auto cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  plan_all(p, day, plans);
  dir.start_day(day);
  for (const auto& plan : plans)
    dir.set_daily_limit(plan.mailbox, plan.target);
  f.plan_s = seconds_since(t0);
  const auto t1 = clock_type::now();
  order_slots(plans, slots);
  f.order_s = seconds_since(t1);
  const auto t2 = clock_type::now();
  for (const auto& s : slots) {
    rng r(slot_seed(s, day));
    ++f.openers;
    auto c = dir.choose(s.mailbox, r);
    if (!c) {
      ++f.failed;
      continue;
    }
    f.draws += 1 + (c->cc ? 1 : 0);
    f.draw_print = fold(f.draw_print, (std::uint64_t{c->to} << 32) | (c->cc ? *c->cc : no_mailbox));
    if (log) {
      log->push_back({static_cast<std::uint32_t>(day), s.mailbox, c->to});
      if (c->cc)
        log->push_back({static_cast<std::uint32_t>(day), s.mailbox, *c->cc});
    }
  }
  f.draw_s = seconds_since(t2);
  f.total_s = seconds_since(t0);
  f.cpu_s = cpu_seconds() - cpu0;
  for (const auto& s : slots)  // outside the timed part
    f.plan_print = fold(f.plan_print, (static_cast<std::uint64_t>(s.at) << 20) ^ s.mailbox);
  return f;
}

// The reference: the same rules by a weighted scan over the whole pool for every draw,
// O(N) per draw and O(N^2) per day. Pair counts come from per-mailbox partner lists
// scattered into a dense array for the sender's scan (the cheap way to do it naively).
struct naive_pool {
  explicit naive_pool(const pool& p, const peer_rules& r) : rules(r) {
    const auto n = p.mailboxes.size();
    provider.resize(n);
    organisation.resize(n);
    healthy.resize(n);
    cap.assign(n, 0);
    inbound.assign(n, 0);
    partners.resize(n);
    count.assign(n, 0);
    cumulative.resize(n);
    std::vector<std::string> names;
    auto id_of = [&](const std::string& s) {
      auto it = std::find(names.begin(), names.end(), s);
      if (it == names.end()) {
        names.push_back(s);
        return static_cast<std::uint32_t>(names.size() - 1);
      }
      return static_cast<std::uint32_t>(it - names.begin());
    };
    for (std::size_t i = 0; i < n; ++i) {
      provider[i] = id_of(p.mailboxes[i].provider);
      organisation[i] = static_cast<std::uint32_t>(
        std::strtoul(p.mailboxes[i].organisation.c_str() + 3, nullptr, 10));
      healthy[i] = healthy_steady(p.mailboxes[i], p.ramps[i]);
    }
  }

  void add_pair(std::uint32_t a, std::uint32_t b) {
    partners[a].push_back(b);
    partners[b].push_back(a);
  }

  std::optional<std::uint32_t> draw(std::uint32_t s, std::uint32_t excluded) {
    for (auto q : partners[s])
      ++count[q];
    double total = 0;
    const auto n = cap.size();
    for (std::size_t i = 0; i < n; ++i) {
      double w = 0;
      if (i != s && i != excluded && organisation[i] != organisation[s] && cap[i] > 0
          && inbound[i] < cap[i] && count[i] < rules.pair_max) {
        w = rules.other_domain_weight
            * (provider[i] != provider[s] ? rules.other_provider_weight : 1.0)
            * (healthy[i] ? rules.healthy_weight : 1.0)
            * std::max(rules.min_capacity_weight,
                       static_cast<double>(cap[i] - inbound[i]) / cap[i]);
        for (int k = 0; k < count[i]; ++k)
          w *= rules.pair_decay;
      }
      total += w;
      cumulative[i] = total;
    }
    for (auto q : partners[s])
      count[q] = 0;
    if (!(total > 0))
      return std::nullopt;
    double u = pick.uniform() * total;
    auto i = static_cast<std::uint32_t>(
      std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    return std::min<std::uint32_t>(i, static_cast<std::uint32_t>(n - 1));
  }

  void send(std::uint32_t s, std::uint32_t to) {
    ++inbound[to];
    add_pair(s, to);
  }

  peer_rules rules;
  std::vector<std::uint32_t> provider, organisation;
  std::vector<bool> healthy;
  std::vector<int> cap, inbound;
  std::vector<std::vector<std::uint32_t>> partners;
  std::vector<int> count;
  std::vector<double> cumulative;
  rng pick{99};
};

day_figures run_naive_day(const pool& p, naive_pool& naive, day_number day) {
  day_figures f;
  std::vector<day_plan> plans;
  std::vector<send_slot> slots;
  const auto cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  plan_all(p, day, plans);
  for (const auto& plan : plans)
    naive.cap[plan.mailbox] =
      static_cast<int>(std::floor(naive.rules.inbound_cap_factor * plan.target));
  std::fill(naive.inbound.begin(), naive.inbound.end(), 0);
  f.plan_s = seconds_since(t0);
  const auto t1 = clock_type::now();
  order_slots(plans, slots);
  f.order_s = seconds_since(t1);
  const auto t2 = clock_type::now();
  const auto none = static_cast<std::uint32_t>(-1);
  for (const auto& s : slots) {
    ++f.openers;
    auto to = naive.draw(s.mailbox, none);
    if (!to) {
      ++f.failed;
      continue;
    }
    naive.send(s.mailbox, *to);
    ++f.draws;
    if (naive.pick.chance(naive.rules.cc_rate)) {
      if (auto cc = naive.draw(s.mailbox, *to)) {
        naive.send(s.mailbox, *cc);
        ++f.draws;
      }
    }
  }
  f.draw_s = seconds_since(t2);
  f.total_s = seconds_since(t0);
  f.cpu_s = cpu_seconds() - cpu0;
  return f;
}

// Runs `work` in a forked copy of this process and returns what it wrote.
template <class Work>
day_figures in_child(Work work, long* child_peak_kib) {
  int fds[2];
  if (pipe(fds) != 0)
    std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    day_figures f = work();
    long peak = peak_rss_kib();
    [[maybe_unused]] auto w1 = write(fds[1], &f, sizeof f);
    [[maybe_unused]] auto w2 = write(fds[1], &peak, sizeof peak);
    _exit(0);
  }
  close(fds[1]);
  day_figures f;
  long peak = -1;
  [[maybe_unused]] auto r1 = read(fds[0], &f, sizeof f);
  [[maybe_unused]] auto r2 = read(fds[0], &peak, sizeof peak);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  if (child_peak_kib)
    *child_peak_kib = peak;
  return f;
}

bool naive_wanted = true;

void bench_size(std::size_t n) {
  const auto setup0 = clock_type::now();
  pool p = make_pool(n, 2026 + n);
  peer_rules rules;
  peer_directory dir(rules);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& m = p.mailboxes[i];
    dir.upsert({m.id, m.email, m.provider, m.organisation,
                base_volume(m.ramp, p.ramps[i].ramp_day), healthy_steady(m, p.ramps[i]),
                true});
  }
  const bool with_naive = naive_wanted && n <= 10000;
  std::vector<std::array<std::uint32_t, 3>> log;
  long prior_draws = 0;
  for (day_number d = measured_day - 7; d < measured_day; ++d)
    prior_draws += run_day(p, dir, d, with_naive ? &log : nullptr).draws;
  const double setup_s = seconds_since(setup0);

  std::vector<day_figures> runs;
  long peak_kib = 0;
  for (int i = 0; i < 3; ++i) {
    long child_peak = 0;
    runs.push_back(in_child([&] { return run_day(p, dir, measured_day, nullptr); },
                            &child_peak));
    peak_kib = std::max(peak_kib, child_peak);
  }
  // The median by CPU time: on a shared machine wall time also counts other work, and the
  // target is stated in CPU seconds of one core.
  std::sort(runs.begin(), runs.end(),
            [](const day_figures& a, const day_figures& b) { return a.cpu_s < b.cpu_s; });
  const auto& med = runs[1];
  const bool same_result = runs[0].plan_print == runs[1].plan_print
                           && runs[1].plan_print == runs[2].plan_print
                           && runs[0].draw_print == runs[1].draw_print
                           && runs[1].draw_print == runs[2].draw_print;

  std::printf("\n== %zu mailboxes: %zu organisations, 5 providers; 7 prior days: %ld draws, "
              "set-up %.1f s\n",
              n, p.organisations, prior_draws, setup_s);
  std::printf("  day (median of 3 by CPU): %.3f s CPU, %.3f s wall   [CPU runs %.3f / %.3f / "
              "%.3f s]\n",
              med.cpu_s, med.total_s, runs[0].cpu_s, runs[1].cpu_s, runs[2].cpu_s);
  std::printf("  its wall time: plan %.3f s (plan_day for all, start_day, limits) + order "
              "%.3f s + draws %.3f s\n",
              med.plan_s, med.order_s, med.draw_s);
  std::printf("  fingerprints: plans %016llx, draws %016llx%s\n",
              static_cast<unsigned long long>(med.plan_print),
              static_cast<unsigned long long>(med.draw_print),
              same_result ? " (same in all 3 runs)" : " (DIFFER between runs!)");
  std::printf("  openers %ld, draws %ld (incl. Cc), no recipient %ld; %.2f M draws/s "
              "(draw phase), %.2f M draws/s (whole day)\n",
              med.openers, med.draws, med.failed, med.draws / med.draw_s / 1e6,
              med.draws / med.total_s / 1e6);
  std::printf("  peak RSS %.1f MiB (VmHWM of the measuring process)\n", peak_kib / 1024.0);

  if (with_naive) {
    naive_pool naive(p, rules);
    for (const auto& [day, from, to] : log)
      if (static_cast<day_number>(day) > measured_day - rules.pair_window_days)
        naive.add_pair(from, to);
    long naive_peak = 0;
    auto nf = in_child([&] { return run_naive_day(p, naive, measured_day); }, &naive_peak);
    std::printf("  naive O(N^2) scan, measured: %.3f s wall, %.3f s CPU (draws %.3f s wall, "
                "%ld draws, %.3f M draws/s); naive / directory = %.1fx wall, %.1fx CPU "
                "(whole day)\n",
                nf.total_s, nf.cpu_s, nf.draw_s, nf.draws, nf.draws / nf.draw_s / 1e6,
                nf.total_s / med.total_s, nf.cpu_s / med.cpu_s);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--no-naive") == 0)
      naive_wanted = false;
    else
      sizes.push_back(static_cast<std::size_t>(std::strtoull(argv[i], nullptr, 10)));
  if (sizes.empty())
    sizes = {1000, 10000, 100000};
  std::printf("plan_bench: one warmup day per pool size, full peer rules, one core\n");
  if (std::ifstream load("/proc/loadavg"); load) {
    std::string avg;
    std::getline(load, avg);
    std::printf("load average at start: %s (wall times include waiting for the CPU)\n",
                avg.c_str());
  }
  std::fflush(stdout);
  for (auto n : sizes) {
    // Each size in its own process: its peak RSS is its own.
    pid_t pid = fork();
    if (pid == 0) {
      bench_size(n);
      _exit(0);
    }
    waitpid(pid, nullptr, 0);
  }
  return 0;
}
