// console_metrics.hpp: Prometheus text exposition (format 0.0.4): metric families with
// HELP/TYPE lines and label values escaped as the format requires.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warmup::app {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

class metrics_text {
public:
  // Starts a family: `type` is counter, gauge or histogram. Counters are named *_total.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (`name` may carry a suffix: _bucket, _sum, _count).
  void sample(std::string_view name, const metric_labels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  const std::string& text() const { return out_; }

private:
  std::string out_;
};

// Escapes a label value: backslash, double quote and line feed.
std::string escape_label_value(std::string_view v);
// Escapes HELP text: backslash and line feed.
std::string escape_help(std::string_view v);
// A sample value as the format writes it (integers without a fraction, +Inf, NaN).
std::string format_sample_value(double v);

}  // namespace warmup::app
