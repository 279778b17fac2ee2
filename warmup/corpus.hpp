// corpus.hpp: the fragments warmup mail is built from (compiled in, see corpus.cpp), so
// that subjects and bodies combine into many thousands of natural, distinct messages.
#pragma once

#include <span>
#include <string_view>

namespace warmup::corpus {

// Placeholders inside fragments: "{t}" a topic as written mid-sentence, "{T}" the same
// topic capitalised, "{first}" the recipient's first name.
struct fragments {
  std::span<const std::string_view> topics;             // "the budget review"
  std::span<const std::string_view> subject_templates;  // "Quick question about {t}"
  std::span<const std::string_view> greetings;          // "Hi {first},"
  std::span<const std::string_view> openers;            // "Hope your week is going well."
  std::span<const std::string_view> topic_lines;        // "I wanted to follow up on {t}."
  std::span<const std::string_view> details;            // a neutral sentence of substance
  std::span<const std::string_view> questions;          // "Could you take a look?"
  std::span<const std::string_view> closers;            // "No rush on this."
  std::span<const std::string_view> sign_offs;          // "Best,"
  std::span<const std::string_view> reply_greetings;    // "Hi {first}," or "" (none)
  std::span<const std::string_view> answers;            // "Thanks, that works for me."
  std::span<const std::string_view> follow_ups;         // "I'll send my notes tomorrow."
  std::span<const std::string_view> reply_sign_offs;    // "Thanks," or "" (name only)
};

const fragments& shipped();

}  // namespace warmup::corpus
