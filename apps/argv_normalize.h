// argv_normalize.h — turns the spellings users bring from tcpdump and ping into the flags a
// command defines, before abseil parses them:
//
//   -c10        → -c 10          (a one-letter flag that takes a value, value glued on)
//   -nn, -qn    → -n, -q -n      (one-letter boolean flags run together; repeats are one)
//   -c / --count, -s / --snaplen
//               → whichever of the pair the command defines (one meaning per pair)
//   -W          → --timeout where the command has no -W of its own (probe, as ping -W);
//                 capture's -W is tcpdump's file count (-C/-G rotation), and --timeout
//                 never becomes it
//   -i 0.2, -i10ms
//               → --interval 0.2 where the command has an --interval (probe client, as
//                 ping -i): a value that reads as a duration (digits, optional unit) is the
//                 interval, anything else stays the interface
//   -I eth1     → -i eth1 there too (ping's interface flag)
//   -C10, -G60  → -C 10, -G 60 (capture's rotation flags, like any one-letter flag)
//   --dst-mac   → --dst_mac      (abseil names flags with underscores)
//
// Anything else passes unchanged (a bad flag is reported later, by name). "--" ends flags.
// Main thread, at start-up; allocates.
#pragma once

#include <string>
#include <vector>

namespace ringstamp::app {

// What normalizing needs to know of a flag the command lists.
struct FlagShape {
  std::string name;  // abseil name: "c", "snaplen", "dst_mac"
  bool is_bool = false;
};

// `args` are the words after the command name. Returns the words to hand to abseil.
std::vector<std::string> NormalizeArgs(const std::vector<std::string>& args,
                                       const std::vector<FlagShape>& flags);

}  // namespace ringstamp::app
