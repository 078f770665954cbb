#include "tests/support/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace ringstamp::testing {

pid_t SpawnShell(const std::string& command, bool own_process_group) {
  pid_t pid = fork();
  if (pid == 0) {
    if (own_process_group) setpgid(0, 0);
    const std::string cmd = "exec " + command;
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int WaitPid(pid_t pid, int timeout_s) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(getpgid(pid) == pid ? -pid : pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool WaitForFile(const std::string& path, const std::string& needle, size_t min_size,
                 int timeout_s) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    const std::string s = ReadFile(path);
    if (needle.empty() ? s.size() > min_size : s.find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

RemoveAtEnd::~RemoveAtEnd() {
  for (const std::string& p : paths) {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
  }
}

}  // namespace ringstamp::testing
