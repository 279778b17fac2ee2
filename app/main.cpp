// main.cpp: entry point of the `warmup` executable; subcommands live in app/*.cpp.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return warmup::app::run_cli(argc, argv);
}
