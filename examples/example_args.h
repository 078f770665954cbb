// example_args.h — the few lines of argument handling the examples share, so that each
// example's own file shows only the library calls. Not part of the library.
//
//   Args a(argc, argv, 2);                         // words from argv[2] on
//   std::string ifname = a.Required("-i");         // "-i eth1"
//   int port = a.Int("--port", 7007);              // optional, with its default
//   std::vector<std::string> rest = a.Rest();      // the words that are not flags
//   if (!a.ok()) return a.Usage(kUsage);           // every problem named, exit 2
//
// Main thread, at start-up.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace examples {

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) words_.emplace_back(argv[i]);
    used_.assign(words_.size(), false);
  }

  // The value after `flag`, or `fallback` when the flag is absent.
  std::string Get(const std::string& flag, const std::string& fallback = "") {
    for (size_t i = 0; i < words_.size(); ++i) {
      if (words_[i] != flag) continue;
      used_[i] = true;
      if (i + 1 >= words_.size()) {
        errors_ += flag + " needs a value\n";
        return fallback;
      }
      used_[i + 1] = true;
      return words_[i + 1];
    }
    return fallback;
  }
  std::string Required(const std::string& flag) {
    std::string v = Get(flag);
    if (v.empty()) errors_ += flag + " is required\n";
    return v;
  }
  long Int(const std::string& flag, long fallback, long min, long max) {
    std::string v = Get(flag);
    if (v.empty()) return fallback;
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < min || n > max) {
      errors_ += flag + " " + v + ": want a whole number " + std::to_string(min) + ".." +
                 std::to_string(max) + "\n";
      return fallback;
    }
    return n;
  }
  // Words that are neither flags nor their values; a word starting with '-' is an error.
  std::vector<std::string> Rest() {
    std::vector<std::string> rest;
    for (size_t i = 0; i < words_.size(); ++i) {
      if (used_[i]) continue;
      if (words_[i].size() > 1 && words_[i][0] == '-') {
        errors_ += "unknown flag " + words_[i] + "\n";
      } else {
        rest.push_back(words_[i]);
      }
    }
    return rest;
  }
  bool ok() const { return errors_.empty(); }
  int Usage(const char* usage) const {
    std::fprintf(stderr, "%s%s", errors_.c_str(), usage);
    return 2;
  }

 private:
  std::vector<std::string> words_;
  std::vector<bool> used_;
  std::string errors_;
};

}  // namespace examples
