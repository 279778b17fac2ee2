// logging.cpp: spdlog sinks and patterns for the engine's event lines.
#include "app/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace warmup::app {

void setup_logging(const config::log_config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.file.empty())
    logger = spdlog::stderr_logger_mt("warmup");
  else
    logger = spdlog::basic_logger_mt("warmup", cfg.file);
  if (cfg.format == "json")
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace warmup::app
