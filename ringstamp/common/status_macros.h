// status_macros.h — the project's one pair of early-return macros for absl::Status.
//
// abseil 20220623 has no RETURN_IF_ERROR / ASSIGN_OR_RETURN; these are ours.
//
// Example:
// Given: #include "ringstamp/ring/packet_socket.h"
//   RS_ASSIGN_OR_RETURN(PacketSocket sock, PacketSocket::Open("eth1"));
//   RS_RETURN_IF_ERROR(sock.SetQdiscBypass(true));
//
// Any thread. Cost: one branch on the status code.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RS_STATUS_CONCAT_INNER_(a, b) a##b
#define RS_STATUS_CONCAT_(a, b) RS_STATUS_CONCAT_INNER_(a, b)

#define RS_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status rs_status_ = (expr);      \
    if (!rs_status_.ok()) return rs_status_; \
  } while (false)

#define RS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

#define RS_ASSIGN_OR_RETURN(lhs, expr) \
  RS_ASSIGN_OR_RETURN_IMPL_(RS_STATUS_CONCAT_(rs_statusor_, __LINE__), lhs, expr)
