#include "apps/probe_targets.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "apps/json_line.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

std::string ProbeTarget::Name() const {
  if (port == 0) return ip.ToString();
  if (ip.is_v6()) return absl::StrCat("[", ip.ToString(), "]:", port);
  return absl::StrCat(ip.ToString(), ":", port);
}

namespace {

absl::Status Bad(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(where), ": ", ToAbsl(what)));
}

absl::StatusOr<uint16_t> ParsePort(std::string_view where, std::string_view text) {
  uint32_t p = 0;
  if (!absl::SimpleAtoi(ToAbsl(text), &p) || p < 1 || p > 65535) {
    return Bad(where, absl::StrFormat("port '%s' is not 1..65535", ToAbsl(text)));
  }
  return static_cast<uint16_t>(p);
}

}  // namespace

absl::StatusOr<ProbeTarget> ParseTargetSpec(std::string_view spec, std::string_view where,
                                            uint16_t default_port, bool with_port) {
  ProbeTarget t;
  std::string_view addr = spec;
  std::string_view port;
  if (!spec.empty() && spec.front() == '[') {  // [V6] or [V6]:PORT
    const size_t close = spec.find(']');
    if (close == std::string_view::npos) {
      return Bad(where, absl::StrFormat("'%s' has no closing ']'", ToAbsl(spec)));
    }
    addr = spec.substr(1, close - 1);
    std::string_view rest = spec.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.size() == 1) {
        return Bad(where, absl::StrFormat("'%s': after ']' only ':PORT' may follow", ToAbsl(spec)));
      }
      port = rest.substr(1);
    }
  } else if (std::count(spec.begin(), spec.end(), ':') == 1) {  // ADDR:PORT (IPv4)
    const size_t colon = spec.find(':');
    addr = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    if (port.empty()) {
      return Bad(where, absl::StrFormat("'%s' ends in ':' without a port: give ADDR or ADDR:PORT",
                                        ToAbsl(spec)));
    }
  }  // else ADDR, or a bare IPv6 address
  auto ip = IpAddress::Parse(addr);
  if (!ip) {
    return Bad(where, absl::StrFormat("'%s' is not an IPv4 or IPv6 address (IPv6 with a port: "
                                      "[ADDR]:PORT)",
                                      ToAbsl(addr)));
  }
  t.ip = *ip;
  if (!port.empty()) {
    if (!with_port) {
      return Bad(where, absl::StrFormat("'%s': --mode icmp takes addresses only (ICMP echo has no "
                                        "port)",
                                        ToAbsl(spec)));
    }
    auto p = ParsePort(where, port);
    if (!p.ok()) return p.status();
    t.port = *p;
  } else {
    t.port = with_port ? default_port : 0;
  }
  return t;
}

absl::StatusOr<std::vector<ProbeTarget>> ParseTargetsText(std::string_view text,
                                                          std::string_view name,
                                                          uint16_t default_port, bool with_port) {
  std::vector<ProbeTarget> out;
  std::vector<int> line_of;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
    ++line_no;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string where = absl::StrCat(ToAbsl(name), ":", line_no);
    auto t = ParseTargetSpec(std::string_view(words[0].data(), words[0].size()), where,
                             default_port, with_port);
    if (!t.ok()) return t.status();
    std::vector<std::string> pairs(words.begin() + 1, words.end());
    auto labels = ParseLabels(pairs);
    if (!labels.ok()) {
      const absl::string_view m = absl::StripPrefix(labels.status().message(), "--label: ");
      return Bad(where, std::string_view(m.data(), m.size()));
    }
    t->labels = std::move(*labels);
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].ip == t->ip && out[i].port == t->port) {
        return Bad(where, absl::StrFormat("%s is already the target of line %d; one line a target",
                                          t->Name(), line_of[i]));
      }
    }
    if (out.size() == kMaxProbeTargets) {
      return Bad(where, absl::StrFormat("more than %d targets; split them across clients",
                                        kMaxProbeTargets));
    }
    out.push_back(std::move(*t));
    line_of.push_back(line_no);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(name), ": no target in it (one a line: ADDR[:PORT] [key=value ...])"));
  }
  return out;
}

absl::StatusOr<std::vector<ProbeTarget>> ReadTargetsFile(const std::string& path,
                                                         uint16_t default_port, bool with_port) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--targets %s: cannot read it (%s)", path, std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTargetsText(ss.str(), path, default_port, with_port);
}

}  // namespace ringstamp::app
