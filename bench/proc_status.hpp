// proc_status.hpp: memory figures of the running benchmark from /proc/self/status.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

namespace warmup::bench {

// A "Vm...:" field of /proc/self/status in KiB (VmRSS: now, VmHWM: peak); 0 if absent.
inline long proc_status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0)
      return std::strtol(line.c_str() + std::string(field).size(), nullptr, 10);
  return 0;
}

}  // namespace warmup::bench
