// fd.h — UniqueFd: owns one file descriptor and closes it exactly once.
//
// Example:
// Given: #include <sys/socket.h>
// Given: #include <cerrno>
// Given: #include "ringstamp/common/errno_status.h"
//   UniqueFd fd(socket(AF_PACKET, SOCK_RAW, 0));
//   if (!fd.valid()) return ErrnoStatus(errno, "socket");
//
// Move-only. Not thread-safe: one owner. Cost: an int.
#pragma once

#include <unistd.h>

#include <utility>

namespace ringstamp {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace ringstamp
