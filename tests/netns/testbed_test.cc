#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

// A child process makes a testbed, says its namespaces' names down a pipe, and is killed by
// `sig` (raised, as abort() or a kill would): the namespaces must be gone once it has died,
// although no destructor ran. The child runs with the default dispositions, as a process
// without doctest's crash handlers would.
void CheckGoneAfterDeathBy(int sig) {
  CAPTURE(sig);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTERM, SIGINT, SIGHUP}) {
      signal(s, SIG_DFL);
    }
    auto tb = Testbed::Create();
    if (!tb.ok()) _exit(3);
    const std::string names = (*tb)->ns_a() + " " + (*tb)->ns_b() + "\n";
    if (write(fds[1], names.data(), names.size()) != static_cast<ssize_t>(names.size())) _exit(4);
    raise(sig);
    _exit(5);  // not reached
  }
  close(fds[1]);
  std::string names;
  char buf[128];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) names.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE_MESSAGE(WIFSIGNALED(status), "the child exited with ", WEXITSTATUS(status));
  CHECK(WTERMSIG(status) == sig);
  const std::vector<std::string> made = absl::StrSplit(names, ' ', absl::SkipWhitespace());
  REQUIRE(made.size() == 2);
  const std::string list = RunHost("ip netns list").output;
  for (std::string ns : made) {
    ns.erase(ns.find_last_not_of('\n') + 1);
    CHECK_MESSAGE(list.find(ns) == std::string::npos, ns, " left behind: ", list);
    // Removed by hand should the check fail, so that this test leaves nothing either.
    RunHost("ip netns del " + ns + " 2>/dev/null");
  }
}

}  // namespace

TEST_CASE("testbed: two namespaces joined by veth reach each other and are removed") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  std::string ns_a;
  {
    auto tb = Testbed::Create();
    REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
    ns_a = (*tb)->ns_a();
    // -c1 -w5: one echo reply wanted, requests repeated each second for 5 s, so a first neighbour
    // solicitation lost while the links settle is not a failure; no answer at all still is.
    auto r = (*tb)->Run((*tb)->ns_a(), "ping -c1 -w5 " + (*tb)->ip4_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    r = (*tb)->Run((*tb)->ns_a(), "ping -6 -c1 -w5 " + (*tb)->ip6_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  auto r = RunHost("ip netns list");
  CHECK(r.output.find(ns_a) == std::string::npos);
}

TEST_CASE("testbed: a process that dies of a signal deletes the namespaces it made") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  CheckGoneAfterDeathBy(SIGABRT);  // abort(): std::terminate, a failed check on another thread
  CheckGoneAfterDeathBy(SIGSEGV);
  CheckGoneAfterDeathBy(SIGTERM);  // ctest's timeout, a user's kill
}
