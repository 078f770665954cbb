// json_line.h — the keys every JSON line ringstamp prints carries (where it is from), and the
// printer. Every command prints JSON Lines: one object per line, each with
//
//   "type"       what the line is: probe, summary, server_summary, link, capture, gen, info
//   "schema"     kJsonSchemaVersion; raised when a key changes meaning or goes away
//   "version"    ringstamp's version
//   "run_id"     16 hex digits drawn once per process: lines of one run share it
//   "host"       this host's name (gethostname)
//   "interface"  -i (or --tap) of the run, "" when the command has none
//   "labels"     the --label k=v pairs, {} when none
//   "target"     the probe client's reflector ("ADDR:PORT" or the ICMP peer), only there;
//                with several targets each line names its own, and its labels from the
//                targets file join the --label ones (the target's value wins a clash)
//
// docs/json.md describes every key of every line; docs/json-schema.json is the JSON Schema
// the tests validate every line against. main sets the origin once before the command runs;
// printing is for the thread that owns stdout's lines (the command's main thread, or a
// thread holding the command's output lock, as the probe client's sessions do). One dump
// and one stdout write per line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace ringstamp::app {

inline constexpr int kJsonSchemaVersion = 1;

struct JsonOrigin {
  std::string version;
  std::string run_id;
  std::string host;
  std::string interface;
  std::map<std::string, std::string> labels;
  std::string target;  // probe client only
};

// A fresh origin: version, a random run id, this host's name; interface and labels empty.
JsonOrigin NewJsonOrigin(std::string_view version);

// `--label` values ("k=v", one per flag or comma-separated) as a map. A pair without '=',
// an empty key, a key that is not [A-Za-z_][A-Za-z0-9_]* (the Prometheus label rule) or a
// key given twice is an InvalidArgument naming it.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& pairs);

void SetJsonOrigin(JsonOrigin origin);
void SetJsonTarget(std::string target);
const JsonOrigin& CurrentJsonOrigin();

// `body` with the origin keys and "type" added (a body's own "type" is replaced).
nlohmann::json WithOrigin(std::string_view type, nlohmann::json body);

// One probe target's keys: its "target" and the labels it adds to (or overrides in) --label's.
struct JsonTargetKeys {
  std::string target;
  std::map<std::string, std::string> labels;
};
nlohmann::json WithOrigin(std::string_view type, nlohmann::json body, const JsonTargetKeys& t);

// Prints WithOrigin(type, body[, t]) as one line on stdout and flushes.
void PrintJsonLine(std::string_view type, nlohmann::json body);
void PrintJsonLine(std::string_view type, nlohmann::json body, const JsonTargetKeys& t);

}  // namespace ringstamp::app
