// ringstamp: the command. Dispatches to the subcommands registered with RINGSTAMP_COMMAND.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "apps/argv_normalize.h"
#include "apps/command.h"
#include "apps/common_flags.h"
#include "apps/json_line.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

std::vector<CommandSpec>& Registry() {
  static std::vector<CommandSpec> commands;
  return commands;
}

bool RegisterCommand(CommandSpec spec) {
  Registry().push_back(std::move(spec));
  return true;
}

const std::vector<CommandSpec>& Commands() { return Registry(); }

namespace {

void PrintUsage(FILE* out) {
  std::fprintf(out, "Usage: ringstamp <command> [flags]\n\ncommands:\n");
  for (const CommandSpec& c : Commands()) std::fprintf(out, "  %-14s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`ringstamp <command> --help` lists a command's flags.\n");
}

const CommandSpec* Find(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// Flags set on the command line (value differs from default) that the command does not take.
std::vector<std::string> ForeignFlags(const CommandSpec& spec) {
  std::vector<std::string> foreign;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename().find("apps/") == std::string::npos) continue;  // abseil's own flags
    if (flag->CurrentValue() == flag->DefaultValue()) continue;
    bool allowed = false;
    for (const std::string& f : spec.flags) allowed |= (f == std::string(name));
    if (!allowed) {
      std::string shown(name);
      std::replace(shown.begin(), shown.end(), '_', '-');
      foreign.push_back((shown.size() == 1 ? "-" : "--") + shown);
    }
  }
  return foreign;
}

void PrintCommandHelp(const CommandSpec& spec) {
  std::printf("Usage: ringstamp %s [flags]\n%s\n\nflags:\n", spec.name, spec.summary);
  auto all = absl::GetAllFlags();
  for (const std::string& f : spec.flags) {
    auto it = all.find(f);
    if (it == all.end()) continue;
    std::string shown = (f.size() == 1 ? "-" : "--") + f;
    std::replace(shown.begin(), shown.end(), '_', '-');
    std::string def = std::string(it->second->DefaultValue());
    std::printf("  %-18s %s%s\n", shown.c_str(), std::string(it->second->Help()).c_str(),
                def.empty() ? "" : absl::StrCat(" (default: ", def, ")").c_str());
  }
}

// Checks every flag on the command line the way absl::ParseCommandLine will
// read it, so that a bad value or an unknown flag is a usage error (exit 2)
// with our message, rather than abseil's exit 1. Returns "" when all is well.
// Parsing sets the flags; ParseCommandLine then sets them again from the same text.
std::string FlagSyntaxError(const std::vector<char*>& args) {
  for (size_t k = 1; k < args.size(); ++k) {
    std::string_view a = args[k];
    if (a == "--") break;  // the rest is positional
    if (a.size() < 2 || a[0] != '-') continue;
    a.remove_prefix(a[1] == '-' ? 2 : 1);
    std::string_view name = a, value;
    bool has_value = false;
    if (const size_t eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    std::string shown(name);
    std::replace(shown.begin(), shown.end(), '_', '-');
    shown = (shown.size() == 1 ? "-" : "--") + shown;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(ToAbsl(name));
    if (flag == nullptr && name.size() > 2 && name.substr(0, 2) == "no" && !has_value) {
      absl::CommandLineFlag* positive = absl::FindCommandLineFlag(ToAbsl(name.substr(2)));
      if (positive != nullptr && positive->IsOfType<bool>()) continue;  // --noflag
    }
    if (flag == nullptr) return absl::StrCat("unknown flag ", shown);
    if (flag->IsOfType<bool>()) {
      if (!has_value) continue;
    } else if (!has_value) {
      if (k + 1 >= args.size()) return absl::StrCat(shown, " needs a value");
      value = args[++k];
    }
    std::string error;
    if (!flag->ParseFrom(ToAbsl(value), &error)) {
      return absl::StrCat(shown, ": '", ToAbsl(value), "' is not a valid value: ", error);
    }
  }
  return "";
}

}  // namespace
}  // namespace ringstamp::app

int main(int argc, char** argv) {
  using namespace ringstamp::app;
  absl::SetProgramUsageMessage("ringstamp <command> [flags]; `ringstamp --help` lists commands");
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0) {
    std::printf("ringstamp %s\n", RINGSTAMP_VERSION);
    return kExitOk;
  }
  // Commands are one word ("info") or two ("probe server").
  int consumed = 1;
  std::string name = argv[1];
  const CommandSpec* spec = Find(name);
  if (spec == nullptr && argc >= 3) {
    spec = Find(name + " " + argv[2]);
    if (spec != nullptr) {
      name += std::string(" ") + argv[2];
      consumed = 2;
    }
  }
  if (spec == nullptr) {
    std::fprintf(stderr, "ringstamp: unknown command '%s'\n\n", name.c_str());
    PrintUsage(stderr);
    return kExitUsage;
  }
  std::vector<std::string> words;
  for (int k = consumed + 1; k < argc; ++k) {
    if (std::strcmp(argv[k], "--help") == 0 || std::strcmp(argv[k], "-h") == 0) {
      PrintCommandHelp(*spec);
      return kExitOk;
    }
    if (std::strcmp(argv[k], "--version") == 0) {  // tcpdump -i eth0 --version works too
      std::printf("ringstamp %s\n", RINGSTAMP_VERSION);
      return kExitOk;
    }
    words.emplace_back(argv[k]);
  }
  // tcpdump/ping spellings (-c10, -nn, -s, -W, --dst-mac) onto the command's own flags.
  std::vector<FlagShape> shapes;
  for (const std::string& f : spec->flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f);
    shapes.push_back({f, flag != nullptr && flag->IsOfType<bool>()});
  }
  std::vector<std::string> normalized = NormalizeArgs(words, shapes);
  std::vector<char*> rest;
  rest.push_back(argv[0]);
  for (std::string& w : normalized) rest.push_back(w.data());
  // A repeated list flag (--ip A --ip B, --label a=1 --label b=2, --server A --server B)
  // means every value; abseil would keep the last.
  constexpr int kLists = 3;
  std::vector<char*> merged;
  std::string list_values[kLists];
  constexpr const char* kListFlags[kLists] = {"ip", "label", "server"};
  for (size_t k = 0; k < rest.size(); ++k) {
    const std::string a = rest[k];
    bool taken = false;
    for (int f = 0; f < kLists && k > 0 && !taken; ++f) {
      const std::string flag = absl::StrCat("--", kListFlags[f]);
      std::string value;
      if (a == flag && k + 1 < rest.size()) {
        value = rest[++k];
      } else if (a.rfind(flag + "=", 0) == 0) {
        value = a.substr(flag.size() + 1);
      } else {
        continue;
      }
      absl::StrAppend(&list_values[f], list_values[f].empty() ? "" : ",", value);
      taken = true;
    }
    if (!taken) merged.push_back(rest[k]);
  }
  std::string list_flags[kLists];
  for (int f = 0; f < kLists; ++f) {
    if (list_values[f].empty()) continue;
    list_flags[f] = absl::StrCat("--", kListFlags[f], "=", list_values[f]);
    merged.push_back(list_flags[f].data());
  }
  if (std::string error = FlagSyntaxError(merged); !error.empty()) {
    std::fprintf(stderr, "ringstamp %s: %s (see `ringstamp %s --help`)\n", name.c_str(),
                 error.c_str(), name.c_str());
    return kExitUsage;
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(merged.size()), merged.data());
  std::vector<std::string> foreign = ForeignFlags(*spec);
  if (!foreign.empty()) {
    std::fprintf(stderr,
                 "ringstamp %s: flag(s) not used by this command: %s (see `ringstamp %s --help`)\n",
                 name.c_str(), absl::StrJoin(foreign, ", ").c_str(), name.c_str());
    return kExitUsage;
  }
  // Where every JSON line says it is from (apps/json_line.h).
  JsonOrigin origin = NewJsonOrigin(RINGSTAMP_VERSION);
  origin.interface =
      absl::GetFlag(FLAGS_tap).empty() ? absl::GetFlag(FLAGS_i) : absl::GetFlag(FLAGS_tap);
  auto labels = ParseLabels(absl::GetFlag(FLAGS_label));
  if (!labels.ok()) {
    std::fprintf(stderr, "ringstamp %s: %s\n", name.c_str(),
                 std::string(labels.status().message()).c_str());
    return kExitUsage;
  }
  origin.labels = *std::move(labels);
  SetJsonOrigin(std::move(origin));
  CommandArgs args;
  args.name = name;
  for (size_t k = 1; k < positional.size(); ++k) args.positional.emplace_back(positional[k]);
  return spec->run(args);
}
