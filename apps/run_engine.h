// run_engine.h — the loop a command runs while an Engine works: live stats line, stop conditions.
//
// Example:
// Given: #include "apps/cli_parse.h"
// Given: Engine* engine; int64_t d; bool gens_done()
//   RunEngineLoop(*engine, {.duration_ns = d, .live = StderrIsTerminal(), .label = "capture",
//                           .done = [&] { return gens_done(); }});
//
// Returns when the engine stopped (signal, duration, `done`), with every worker
// joined. Prints a one-line live status to stderr once a second when `live`.
// Main thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ringstamp/engine/engine.h"

namespace ringstamp::app {

struct RunLoopOptions {
  int64_t duration_ns = 0;     // 0: no limit
  bool live = false;           // print the live line on stderr
  std::string label;           // "capture", "gen"
  std::function<bool()> done;  // polled every 50 ms; true stops the engine
};

void RunEngineLoop(Engine& engine, const RunLoopOptions& options);

// "12.3k", "1.20M" for rates.
std::string HumanRate(double v);

}  // namespace ringstamp::app
