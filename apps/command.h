// command.h — how a `ringstamp` subcommand plugs into main.
//
// Sketch:
//   // apps/info_command.cc
//   ABSL_FLAG(...);                       // flags only this command uses
//   static int RunInfo(const CommandArgs& args) { ... return 0; }
//   RINGSTAMP_COMMAND(info, "info", "timestamping capabilities of an interface",
//                     {"i", "json"}, RunInfo);
//
// Flags are abseil flags (one global namespace): flags several commands share
// are defined once in apps/common_flags.h. main parses the command line, then
// rejects any flag set that the chosen command does not list, so `ringstamp
// info --rate 5` fails with a clear message instead of being ignored.
// Main thread only, at start-up.
#pragma once

#include <string>
#include <vector>

namespace ringstamp::app {

struct CommandArgs {
  std::string name;                     // "info", "probe server", ...
  std::vector<std::string> positional;  // what remains after flags
};

using CommandFn = int (*)(const CommandArgs& args);

struct CommandSpec {
  const char* name;                // "info", "capture", "gen", "probe server", "probe client"
  const char* summary;             // one line for `ringstamp --help`
  std::vector<std::string> flags;  // flag names this command accepts
  CommandFn run;
};

// Adds a command to the registry; used by RINGSTAMP_COMMAND at static init.
bool RegisterCommand(CommandSpec spec);
const std::vector<CommandSpec>& Commands();

// Exit codes: 0 success, 1 runtime failure, 2 bad usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace ringstamp::app

#define RINGSTAMP_COMMAND(ident, name, summary, flags, fn)   \
  static const bool ringstamp_command_##ident##_registered = \
      ::ringstamp::app::RegisterCommand({name, summary, flags, fn})
