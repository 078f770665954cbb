#include "ringstamp/common/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp {

std::string_view ErrnoName(int err) {
  switch (err) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EINTR:
      return "EINTR";
    case EIO:
      return "EIO";
    case ENXIO:
      return "ENXIO";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case ENFILE:
      return "ENFILE";
    case EMFILE:
      return "EMFILE";
    case ENOSPC:
      return "ENOSPC";
    case ERANGE:
      return "ERANGE";
    case ENOMSG:
      return "ENOMSG";
    case ENOSYS:
      return "ENOSYS";
    case EMSGSIZE:
      return "EMSGSIZE";
    case ENOPROTOOPT:
      return "ENOPROTOOPT";
    case EPROTONOSUPPORT:
      return "EPROTONOSUPPORT";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EADDRINUSE:
      return "EADDRINUSE";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case ENETDOWN:
      return "ENETDOWN";
    case ENETUNREACH:
      return "ENETUNREACH";
    case ENOBUFS:
      return "ENOBUFS";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    default:
      return "";
  }
}

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view hint) {
  std::string_view name = ErrnoName(err);
  std::string msg = absl::StrCat(ToAbsl(what), ": ", std::strerror(err));
  if (!name.empty()) {
    absl::StrAppend(&msg, " (", ToAbsl(name), ")");
  } else {
    absl::StrAppend(&msg, " (errno ", err, ")");
  }
  if (!hint.empty()) absl::StrAppend(&msg, "; ", ToAbsl(hint));
  // Not absl::ErrnoToStatus: it appends strerror again.
  return absl::Status(absl::ErrnoToStatusCode(err), msg);
}

}  // namespace ringstamp
