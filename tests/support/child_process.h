// child_process.h — background commands and the files they write, for integration
// tests that run the `ringstamp` binary.
//
//   pid_t cap = SpawnShell("ip netns exec ns_b ringstamp capture ... > out 2> out.err");
//   CHECK(WaitForFile("out.err", "capturing on", 0, 20));
//   CHECK(WaitPid(cap, 30) == 0);
//
// Every wait is bounded (timeout in seconds, polled every 50 ms). Any thread; a child
// is reaped by the thread that waits for it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace ringstamp::testing {

// Runs `sh -c "exec <command>"` in the background: the pid is the command's own, so a
// signal sent to it reaches the command, not a shell. With own_process_group the command
// leads a process group of its own (for scripts that start children of their own).
pid_t SpawnShell(const std::string& command, bool own_process_group = false);

// Waits for `pid` up to timeout_s: its exit code, 128 + the signal that ended it, or -1
// after killing it (SIGKILL; its whole process group when it leads one) when the time
// ran out.
int WaitPid(pid_t pid, int timeout_s);

// The whole file ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Waits up to timeout_s until `path` holds `needle`, or (needle empty) is larger than
// `min_size` bytes. False when the time ran out.
bool WaitForFile(const std::string& path, const std::string& needle, size_t min_size,
                 int timeout_s);

// Removes files and folders (recursively) when it goes out of scope, a failed check included:
//   RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
struct RemoveAtEnd {
  std::vector<std::string> paths;
  ~RemoveAtEnd();
};

}  // namespace ringstamp::testing
