// console_assets.hpp: the console's web page, script and style sheet, embedded in the
// binary at build time from app/console/ (no CDN, no files to install).
#pragma once

#include <string_view>

namespace warmup::app {

struct console_asset {
  std::string_view path;           // "/index.html", "/app.js", "/style.css"
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path`, or nullptr.
const console_asset* find_console_asset(std::string_view path);

}  // namespace warmup::app
