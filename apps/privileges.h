// privileges.h — what the command does with root once it no longer needs it: `-Z USER`
// (tcpdump's flag) and opening output files without following a planted symlink.
//
// Main thread only, during setup. DropPrivilegesTo must run before any worker thread
// starts: capabilities are per thread, and threads started afterwards inherit what the
// calling thread kept. Costs a few syscalls, once.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringstamp::app {

// Becomes `user` (its uid, primary gid and supplementary groups) for good, keeping only
// CAP_NET_ADMIN, which the exit path needs to restore the NIC's timestamping config.
// Sockets, rings and files opened before stay usable. Errors: no such user, not root.
absl::Status DropPrivilegesTo(std::string_view user);
// The checks DropPrivilegesTo makes first (the user exists, we are root), for flag checking
// before anything is opened.
absl::Status CheckCanBecome(std::string_view user);

// Extra open(2) flags for a file we are asked to write (-w, --plot), so that a symlink
// planted in a shared directory is not followed. A symlink as the last component is followed
// only when nobody else could have planted it: not when it sits in a sticky world-writable
// directory (/tmp) and belongs to neither us nor the directory's owner (the rule of
// fs.protected_symlinks, kept whatever the sysctl says); such a path is an error naming it.
// Any other path gets O_NOFOLLOW, so a symlink swapped in after this check fails the open
// (ELOOP) instead of being followed. `what` names the flag in messages ("-w").
absl::StatusOr<int> NoFollowFlagsFor(const std::string& path, std::string_view what);

}  // namespace ringstamp::app
