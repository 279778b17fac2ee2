// console_metrics_test.cpp: /metrics parsed as Prometheus text format 0.0.4: every sample
// belongs to a family declared by HELP and TYPE, names and labels have the format's
// syntax, counters end in _total, histograms are cumulative; plus the label escaping.
#include "app/console_metrics.hpp"
#include "tests/integration/console/console_engine.hpp"
#include "tests/unit/net/http_client.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace warmup;

namespace {

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct family {
  std::string type;
  std::string help;
  std::vector<sample> samples;
};

// Unescapes a label value; fails the test on an invalid escape.
std::string unescape(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      out += v[i];
      continue;
    }
    ++i;
    EXPECT_LT(i, v.size());
    if (i >= v.size())
      break;
    EXPECT_TRUE(v[i] == '\\' || v[i] == '"' || v[i] == 'n') << "bad escape in " << v;
    out += v[i] == 'n' ? '\n' : v[i];
  }
  return out;
}

// A strict reader of the text format: returns the families by name.
std::map<std::string, family> parse_exposition(const std::string& text) {
  static const std::regex help_re(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  static const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex sample_re(
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf|NaN))$)");
  static const std::regex label_re(R"(^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\"(,|$))");
  std::map<std::string, family> out;
  std::string current;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (std::regex_match(line, m, help_re)) {
      current = m[1];
      EXPECT_FALSE(out.count(current)) << "family declared twice: " << current;
      out[current].help = m[2];
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      EXPECT_EQ(m[1], current) << "TYPE without HELP before it, line " << n;
      out[m[1]].type = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "line " << n << " is not a sample: " << line;
      continue;
    }
    sample s;
    s.name = m[1];
    std::string v = m[4];
    s.value = v == "+Inf" || v == "Inf" ? INFINITY : v == "NaN" ? NAN : std::stod(v);
    std::string labels = m[3];
    while (!labels.empty()) {
      std::smatch l;
      if (!std::regex_search(labels, l, label_re)) {
        ADD_FAILURE() << "bad labels on line " << n << ": " << line;
        break;
      }
      EXPECT_FALSE(s.labels.count(l[1])) << "label repeated on line " << n;
      s.labels[l[1]] = unescape(l[2]);
      labels = l.suffix();
    }
    auto& f = out[current];
    std::string base = s.name;
    if (f.type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (base.size() > std::strlen(suffix) && base.ends_with(suffix) && base != current)
          base = base.substr(0, base.size() - std::strlen(suffix));
      }
    }
    EXPECT_EQ(base, current) << "sample " << s.name << " outside its family, line " << n;
    f.samples.push_back(s);
  }
  return out;
}

TEST(MetricsText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(app::escape_label_value(R"(a"b\c)" "\n"), R"(a\"b\\c\n)");
  EXPECT_EQ(app::escape_help("x\\y\nz"), "x\\\\y\\nz");
  EXPECT_EQ(app::format_sample_value(3), "3");
  EXPECT_EQ(app::format_sample_value(0.25), "0.25");
  EXPECT_EQ(app::format_sample_value(INFINITY), "+Inf");
  app::metrics_text t;
  t.family("x_total", "counter", "An odd \"help\".");
  t.sample("x_total", {{"path", "C:\\dir \"q\"\nnext"}}, 2);
  auto f = parse_exposition(t.text());
  ASSERT_EQ(f["x_total"].samples.size(), 1u);
  EXPECT_EQ(f["x_total"].samples[0].labels["path"], "C:\\dir \"q\"\nnext");
}

TEST(ConsoleMetrics, ExpositionParsesAndCarriesTheEngineFigures) {
  // No token: /metrics is open on a loopback bind.
  test::console_engine engine("metrics", 80, 2880, 4, "");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto r = test::http_call(engine.port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto fams = parse_exposition(r.body);
  for (auto& [name, f] : fams) {
    EXPECT_FALSE(f.type.empty()) << name << " has no TYPE";
    EXPECT_FALSE(f.help.empty()) << name << " has no HELP";
    if (f.type == "counter") {
      EXPECT_TRUE(name.ends_with("_total")) << "counter " << name;
    } else {
      EXPECT_FALSE(name.ends_with("_total")) << f.type << " " << name;
    }
  }
  for (const char* name : {"warmup_mailboxes", "warmup_sends_today", "warmup_planned_sends_today",
                           "warmup_overdue_sends", "warmup_send_lag_seconds", "warmup_placements_total",
                           "warmup_bounces_total", "warmup_smtp_errors_total", "warmup_imap_errors_total",
                           "warmup_shards", "warmup_actors", "warmup_shard_mailbox_queue",
                           "warmup_store_backlog"})
    EXPECT_TRUE(fams.count(name)) << name << " missing";

  double by_state = 0;
  for (auto& s : fams["warmup_mailboxes"].samples)
    by_state += s.value;
  EXPECT_EQ(by_state, 80);
  EXPECT_EQ(fams["warmup_shards"].samples[0].value, 4);
  std::set<std::string> folders;
  for (auto& s : fams["warmup_placements_total"].samples)
    folders.insert(s.labels["folder"]);
  EXPECT_EQ(folders, (std::set<std::string>{"inbox", "spam", "missing"}));
  EXPECT_EQ(fams["warmup_smtp_errors_total"].samples.size(), 6u);

  // Histogram: buckets cumulative in increasing le, ending at +Inf == _count.
  auto& h = fams["warmup_send_lag_seconds"];
  EXPECT_EQ(h.type, "histogram");
  double last_le = -1, last = 0, count = -1, inf = -1;
  for (auto& s : h.samples) {
    if (s.name == "warmup_send_lag_seconds_bucket") {
      auto le = s.labels["le"] == "+Inf" ? INFINITY : std::stod(s.labels["le"]);
      EXPECT_GT(le, last_le);
      EXPECT_GE(s.value, last);
      last_le = le;
      last = s.value;
      if (std::isinf(le))
        inf = s.value;
    } else if (s.name == "warmup_send_lag_seconds_count") {
      count = s.value;
    }
  }
  EXPECT_EQ(inf, count);
  // Two seconds at x2880 cover the start of the sending window: sends happened.
  EXPECT_GT(count, 0) << r.body;
}

}  // namespace
