// netns_crash_cleanup.h — the named network namespaces a test process made, deleted by their
// owner and also when the process dies of a signal first.
//
//   RegisterNetns(name);            // before `ip netns add name`
//   ... RunHost("ip netns add " + name) ...
//   DeleteNetns(name);              // the owner's destructor: deleted now, forgotten
//
// A test that fails by a signal never runs its destructors: a failed check on a worker thread
// ends in std::terminate (SIGABRT), a crash in SIGSEGV/SIGBUS/SIGILL/SIGFPE, ctest or a user
// stops a run with SIGTERM/SIGINT/SIGHUP. On any of these the process deletes every namespace
// it registered itself and has not deleted (not those of a parent it was forked from), then
// lets the signal go on to the handler that was there before (doctest's report, or the
// default). Not SIGKILL: nothing runs then.
// Deleting is what `ip netns del` does: unmount /run/netns/<name> (detached) and unlink it; the
// namespace, and the veth ends in it, go when nothing holds it any more.
// Any thread. Registration takes a lock; the signal handler takes none (async-signal-safe: a
// fixed table of names, umount2 and unlink). At most 64 names are registered at once; more are
// deleted by their owner only.
#pragma once

#include <string>

namespace ringstamp::testing {

void RegisterNetns(const std::string& name);
// Deletes namespace `name` (if it exists) and forgets it.
void DeleteNetns(const std::string& name);

}  // namespace ringstamp::testing
