// logging.hpp: spdlog set-up from the [log] config: one line per event, text or JSON.
#pragma once

#include "config/config.hpp"

namespace warmup::app {

// Text lines read "2026-11-28T17:00:00.123Z info event=... key=value"; JSON lines carry
// the same event text in "msg". Never pass secrets to the log.
void setup_logging(const config::log_config& cfg);

}  // namespace warmup::app
