#include "apps/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp::app {

namespace {

// Keeps exactly CAP_NET_ADMIN, permitted and effective, on the calling thread.
absl::Status KeepOnlyNetAdmin() {
  cap_t caps = cap_init();  // all clear
  if (caps == nullptr) return ErrnoStatus(errno, "cap_init");
  const cap_value_t keep[] = {CAP_NET_ADMIN};
  int rc = cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET);
  if (rc == 0) rc = cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET);
  if (rc == 0) rc = cap_set_proc(caps);
  const int err = errno;
  cap_free(caps);
  if (rc != 0) return ErrnoStatus(err, "-Z: keeping CAP_NET_ADMIN (cap_set_proc)");
  return absl::OkStatus();
}

// The user's entry, or why `-Z user` cannot work.
absl::StatusOr<passwd> LookUp(const std::string& name, std::vector<char>& buf) {
  if (name.empty()) return absl::InvalidArgumentError("-Z: the user name is empty");
  passwd pw{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return ErrnoStatus(rc, absl::StrCat("-Z ", name, ": looking up the user"));
  if (found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("-Z ", name, ": no such user; give an existing account (e.g. nobody)"));
  }
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "-Z %s: switching user takes root (running as uid %d); run as root, or leave -Z out "
        "when running with capabilities (setcap) already",
        name, static_cast<int>(geteuid())));
  }
  return pw;
}

}  // namespace

absl::Status CheckCanBecome(std::string_view user) {
  std::vector<char> buf(16384);
  return LookUp(std::string(user), buf).status();
}

absl::Status DropPrivilegesTo(std::string_view user) {
  const std::string name(user);
  std::vector<char> buf(16384);
  auto found = LookUp(name, buf);
  if (!found.ok()) return found.status();
  const passwd pw = *found;
  if (initgroups(name.c_str(), pw.pw_gid) != 0) {
    return ErrnoStatus(errno, absl::StrCat("-Z ", name, ": initgroups"));
  }
  if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0) {
    return ErrnoStatus(errno, absl::StrCat("-Z ", name, ": setresgid"));
  }
  // Capabilities survive the uid change only with KEEPCAPS; then keep just the one the exit
  // path needs.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return ErrnoStatus(errno, "-Z: PR_SET_KEEPCAPS");
  if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
    return ErrnoStatus(errno, absl::StrCat("-Z ", name, ": setresuid"));
  }
  if (absl::Status s = KeepOnlyNetAdmin(); !s.ok()) return s;
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (pw.pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
    return absl::InternalError(absl::StrCat("-Z ", name, ": root could be regained; stopping"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> NoFollowFlagsFor(const std::string& path, std::string_view what) {
  struct stat link {};
  if (lstat(path.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) return O_NOFOLLOW;
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? std::string(".") : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat d {};
  if (stat(dir.c_str(), &d) != 0) return O_NOFOLLOW;  // open(2) will say what is wrong
  const bool shared_dir = (d.st_mode & S_ISVTX) != 0 && (d.st_mode & S_IWOTH) != 0;
  if (shared_dir && link.st_uid != geteuid() && link.st_uid != d.st_uid) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s: is a symbolic link in a shared directory (%s is sticky and world-writable), "
        "owned by uid %d, not by us or the directory's owner; not following it. Give the "
        "target's own path, or write somewhere only you can",
        ToAbsl(what), path, dir, static_cast<int>(link.st_uid)));
  }
  return 0;  // a symlink nobody else could have planted (it cannot be swapped either)
}

}  // namespace ringstamp::app
