#include <doctest/doctest.h>
#include <liburing.h>

#include <cerrno>
#include <cstring>

#include "ringstamp/timestamp/kernel_compat.h"
#include "ringstamp/timestamp/uring_tx_stamps.h"

using namespace ringstamp;

namespace {

// A 32-byte CQE as the kernel posts it for SOCKET_URING_OP_TX_TIMESTAMP.
struct alignas(8) BigCqe {
  std::byte bytes[32] = {};
  BigCqe(int32_t res, uint32_t flags, uint64_t sec = 0, uint64_t nsec = 0) {
    io_uring_cqe c{};
    c.user_data = 1;
    c.res = res;
    c.flags = flags;
    std::memcpy(bytes, &c, sizeof(c));
    std::memcpy(bytes + 16, &sec, 8);
    std::memcpy(bytes + 24, &nsec, 8);
  }
  const io_uring_cqe* get() const { return reinterpret_cast<const io_uring_cqe*>(bytes); }
};

}  // namespace

TEST_CASE("uring cqe: software SND stamp with its key") {
  BigCqe c(-2 /* key 0xfffffffe */, IORING_CQE_F_MORE | (0u << IORING_TIMESTAMP_TYPE_SHIFT),
           1700000000, 5);
  TxCqe d = DecodeTxTimestampCqe(c.get());
  CHECK_FALSE(d.ended);
  REQUIRE(d.event.has_value());
  CHECK(d.event->key == 0xfffffffeu);
  CHECK(d.event->kind == TxStampKind::kSnd);
  CHECK(*d.event->software_ns == 1700000000'000000005);
  CHECK_FALSE(d.event->hardware_ns.has_value());
}

TEST_CASE("uring cqe: hardware flag and SCHED type") {
  BigCqe hw(7, IORING_CQE_F_MORE | IORING_CQE_F_TSTAMP_HW, 12, 34);
  TxCqe d = DecodeTxTimestampCqe(hw.get());
  REQUIRE(d.event.has_value());
  CHECK(*d.event->hardware_ns == 12'000000034);
  CHECK_FALSE(d.event->software_ns.has_value());
  BigCqe sched(8, IORING_CQE_F_MORE | (1u << IORING_TIMESTAMP_TYPE_SHIFT), 1, 1);
  d = DecodeTxTimestampCqe(sched.get());
  CHECK(d.event->kind == TxStampKind::kSched);
}

TEST_CASE("uring cqe: final CQE ends the command, zero or bad stamps are not stamps") {
  TxCqe d = DecodeTxTimestampCqe(BigCqe(-EOPNOTSUPP, 0).get());
  CHECK(d.ended);
  CHECK(d.res == -EOPNOTSUPP);
  CHECK(TxTimestampCmdUnsupported(d.res));
  CHECK_FALSE(TxTimestampCmdUnsupported(0));
  CHECK_FALSE(TxTimestampCmdUnsupported(-ECANCELED));
  d = DecodeTxTimestampCqe(BigCqe(3, IORING_CQE_F_MORE | IORING_CQE_F_TSTAMP_HW, 0, 0).get());
  CHECK_FALSE(d.event.has_value());  // zero is never a (hardware) stamp
  CHECK(d.malformed);
  d = DecodeTxTimestampCqe(BigCqe(3, IORING_CQE_F_MORE, 1, 1'000'000'000).get());
  CHECK(d.malformed);
}

TEST_CASE("uring cqe: PrepTxTimestampSqe fills a URING_CMD for the socket") {
  io_uring_sqe sqe;
  std::memset(&sqe, 0xff, sizeof(sqe));
  PrepTxTimestampSqe(&sqe, 42, 99);
  CHECK(sqe.opcode == IORING_OP_URING_CMD);
  CHECK(sqe.fd == 42);
  CHECK(sqe.cmd_op == static_cast<uint32_t>(SOCKET_URING_OP_TX_TIMESTAMP));
  CHECK(sqe.__pad1 == 0u);
  CHECK(sqe.user_data == 99u);
  CHECK(sqe.flags == 0);
}
