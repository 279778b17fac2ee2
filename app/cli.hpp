// cli.hpp: the `warmup` command line (run, mailbox, status, ...).
#pragma once

namespace warmup::app {

// Parses argv and runs the subcommand; returns the process exit code
// (0 ok, 1 runtime failure, 2 bad input: config, flags, CSV).
int run_cli(int argc, char** argv);

}  // namespace warmup::app
