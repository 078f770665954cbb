#include "apps/argv_normalize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace ringstamp::app {

namespace {

const FlagShape* FindFlag(const std::vector<FlagShape>& flags, std::string_view name) {
  for (const FlagShape& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// Pairs with one meaning: the command defines one of them; the other spelling is mapped.
// One-way pairs map only a -> b: ping's -W is the probe's --timeout, but capture's -W
// (tcpdump's file count) is no timeout, so --timeout never becomes -W.
struct Synonym {
  std::string_view a, b;
  bool both_ways;
};
constexpr std::array<Synonym, 3> kSynonyms = {{
    {"c", "count", true},
    {"s", "snaplen", true},
    {"W", "timeout", false},
}};

// The name the command defines for `name`, or `name` itself.
std::string Canonical(std::string_view name, const std::vector<FlagShape>& flags) {
  if (FindFlag(flags, name) != nullptr) return std::string(name);
  for (const Synonym& s : kSynonyms) {
    if (name == s.a && FindFlag(flags, s.b) != nullptr) return std::string(s.b);
    if (s.both_ways && name == s.b && FindFlag(flags, s.a) != nullptr) return std::string(s.a);
  }
  return std::string(name);
}

std::string Spelled(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

// A value ping users give -i: seconds ("0.2"), or a number with a duration unit ("10ms").
// No interface is named like that in practice (names start with a letter on every distro).
bool LooksLikeDuration(std::string_view v) {
  for (std::string_view unit : {"ns", "us", "µs", "ms", "s", "m"}) {
    if (v.size() > unit.size() && v.substr(v.size() - unit.size()) == unit) {
      v.remove_suffix(unit.size());
      break;
    }
  }
  if (v.empty()) return false;
  bool digit = false;
  for (char c : v) {
    if (c != '.' && !std::isdigit(static_cast<unsigned char>(c))) return false;
    digit |= c != '.';
  }
  return digit;
}

// ping's spellings for a command that has both an interface (-i) and an --interval: ping's
// -i is the interval and -I the interface. -i VALUE is the interval when VALUE reads as a
// duration, else the interface as everywhere else in ringstamp; -I IFACE is the interface.
// Returns true when it consumed args[k] (and maybe its value).
bool MapPingInterval(const std::vector<std::string>& args, size_t& k,
                     const std::vector<FlagShape>& flags, std::vector<std::string>& out) {
  if (FindFlag(flags, "interval") == nullptr || FindFlag(flags, "i") == nullptr) return false;
  const std::string& arg = args[k];
  if (arg.size() < 2 || arg[0] != '-' || (arg[1] != 'i' && arg[1] != 'I')) return false;
  std::string value;
  size_t used = k;
  if (arg.size() == 2) {
    if (k + 1 >= args.size()) return false;  // "-i needs a value" is said later
    value = args[k + 1];
    used = k + 1;
  } else {
    value = arg.substr(arg[2] == '=' ? 3 : 2);
  }
  if (arg[1] == 'I') {
    out.push_back("-i");
  } else if (LooksLikeDuration(value)) {
    out.push_back("--interval");
  } else {
    return false;
  }
  out.push_back(value);
  k = used;
  return true;
}

}  // namespace

std::vector<std::string> NormalizeArgs(const std::vector<std::string>& args,
                                       const std::vector<FlagShape>& flags) {
  std::vector<std::string> out;
  out.reserve(args.size() + 4);
  bool flags_done = false;
  for (size_t k = 0; k < args.size(); ++k) {
    const std::string& arg = args[k];
    if (!flags_done && MapPingInterval(args, k, flags, out)) continue;
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      out.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      out.push_back(arg);
      continue;
    }
    if (arg[1] == '-') {  // --name[=value]
      std::string body = arg.substr(2);
      const size_t eq = body.find('=');
      std::string name = body.substr(0, eq);
      std::replace(name.begin(), name.end(), '-', '_');
      std::string rest = eq == std::string::npos ? "" : body.substr(eq);
      out.push_back(Spelled(Canonical(name, flags)) + rest);
      continue;
    }
    // A single dash: -x, -x=value, -xVALUE, or -xyz (booleans together).
    const std::string letter = arg.substr(1, 1);
    const std::string canonical = Canonical(letter, flags);
    const FlagShape* f = FindFlag(flags, canonical);
    if (arg.size() == 2 || arg[2] == '=' || f == nullptr) {
      out.push_back(Spelled(canonical) + arg.substr(2));
      continue;
    }
    if (!f->is_bool) {  // -c10
      out.push_back(Spelled(canonical));
      out.push_back(arg.substr(2));
      continue;
    }
    // -nn, -qn: every letter must be a boolean one-letter flag; otherwise leave it whole so
    // the error names what was typed.
    std::vector<std::string> expanded;
    bool all_bool = true;
    for (size_t k = 1; k < arg.size() && all_bool; ++k) {
      const std::string name = Canonical(std::string(1, arg[k]), flags);
      const FlagShape* g = FindFlag(flags, name);
      all_bool = g != nullptr && g->is_bool && std::isalpha(static_cast<unsigned char>(arg[k]));
      if (all_bool &&
          std::find(expanded.begin(), expanded.end(), Spelled(name)) == expanded.end()) {
        expanded.push_back(Spelled(name));
      }
    }
    if (all_bool) {
      out.insert(out.end(), expanded.begin(), expanded.end());
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

}  // namespace ringstamp::app
