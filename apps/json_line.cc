#include "apps/json_line.h"

#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

namespace {

JsonOrigin& Origin() {
  static JsonOrigin origin;
  return origin;
}

bool IsLabelKey(std::string_view k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  for (char c : k) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

JsonOrigin NewJsonOrigin(std::string_view version) {
  JsonOrigin o;
  o.version = std::string(version);
  uint64_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    id = static_cast<uint64_t>(getpid()) << 32 ^ static_cast<uint64_t>(time(nullptr));
  }
  o.run_id = absl::StrFormat("%016x", id);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) o.host = host;
  return o;
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const std::string& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label: '", p, "' is not KEY=VALUE (e.g. --label site=ams1)"));
    }
    std::string key = p.substr(0, eq);
    if (!IsLabelKey(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--label: key '", key, "' must be letters, digits and '_', not starting with a digit"));
    }
    if (!out.emplace(key, p.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(absl::StrCat("--label: key '", key, "' given twice"));
    }
  }
  return out;
}

void SetJsonOrigin(JsonOrigin origin) { Origin() = std::move(origin); }
void SetJsonTarget(std::string target) { Origin().target = std::move(target); }
const JsonOrigin& CurrentJsonOrigin() { return Origin(); }

nlohmann::json WithOrigin(std::string_view type, nlohmann::json body) {
  const JsonOrigin& o = Origin();
  body["type"] = std::string(type);
  body["schema"] = kJsonSchemaVersion;
  body["version"] = o.version;
  body["run_id"] = o.run_id;
  body["host"] = o.host;
  body["interface"] = o.interface;
  body["labels"] = o.labels;
  if (!o.target.empty()) body["target"] = o.target;
  return body;
}

nlohmann::json WithOrigin(std::string_view type, nlohmann::json body, const JsonTargetKeys& t) {
  body = WithOrigin(type, std::move(body));
  body["target"] = t.target;
  for (const auto& [k, v] : t.labels) body["labels"][k] = v;
  return body;
}

namespace {
void PrintLine(const nlohmann::json& j) {
  const std::string line = j.dump();
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}
}  // namespace

void PrintJsonLine(std::string_view type, nlohmann::json body) {
  PrintLine(WithOrigin(type, std::move(body)));
}

void PrintJsonLine(std::string_view type, nlohmann::json body, const JsonTargetKeys& t) {
  PrintLine(WithOrigin(type, std::move(body), t));
}

}  // namespace ringstamp::app
