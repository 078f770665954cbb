// kernel_compat.h — kernel uapi constants newer than the 6.1 headers this machine builds with.
//
// Example:
// Given: #include <sys/socket.h>
// Given: int fd; int flags
//   setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_NEW, &flags, sizeof(flags));
//
// Each value is defined only when the system headers lack it, and is checked
// against the layout the kernel uses (x86-64 / generic socket numbers). Any
// thread; constants only.
#pragma once

#include <time.h>  // struct timespec: <linux/errqueue.h> uses it without including it

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/socket.h>

// asm-generic/socket.h (x86-64 uses the generic numbers).
#ifndef SO_TIMESTAMPING_OLD
#define SO_TIMESTAMPING_OLD 37
#endif
#ifndef SO_TIMESTAMPING_NEW
#define SO_TIMESTAMPING_NEW 65
#endif
#ifndef SCM_TIMESTAMPING_OPT_STATS
#define SCM_TIMESTAMPING_OPT_STATS 54
#endif
#ifndef SCM_TIMESTAMPING_PKTINFO
#define SCM_TIMESTAMPING_PKTINFO 58
#endif
// Per-send OPT_ID key (Linux 6.13).
#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif

// linux/if_packet.h
#ifndef PACKET_TX_TIMESTAMP
#define PACKET_TX_TIMESTAMP 16
#endif
#ifndef PACKET_TIMESTAMP
#define PACKET_TIMESTAMP 17
#endif
#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif

// linux/io_uring.h (Linux 6.15): socket commands and TX timestamp completions.
#ifndef SOCKET_URING_OP_TX_TIMESTAMP
#define SOCKET_URING_OP_TX_TIMESTAMP 4
#endif
#ifndef IORING_TIMESTAMP_HW_SHIFT
#define IORING_TIMESTAMP_HW_SHIFT 16
#endif
#ifndef IORING_TIMESTAMP_TYPE_SHIFT
#define IORING_TIMESTAMP_TYPE_SHIFT (IORING_TIMESTAMP_HW_SHIFT + 1)
#endif
#ifndef IORING_CQE_F_TSTAMP_HW
#define IORING_CQE_F_TSTAMP_HW (1U << IORING_TIMESTAMP_HW_SHIFT)
#endif

static_assert(sizeof(struct sock_extended_err) == 16, "sock_extended_err layout");
static_assert(sizeof(struct so_timestamping) == 8, "so_timestamping layout");
static_assert(sizeof(struct hwtstamp_config) == 12, "hwtstamp_config layout");
