// timestamp_bench: cost of the timestamp layer's per-message work.
//   - BM_ParseCmsgs_*: one error-queue / RX control area (target ≤ 30 ns per message);
//   - BM_TrackerStamp: one TX stamp matched with 10,000 sends outstanding (target ≤ 50 ns).
#include <benchmark/benchmark.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ringstamp/timestamp/cmsg_parse.h"
#include "ringstamp/timestamp/kernel_compat.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

namespace {

using namespace ringstamp;

// Appends one control message. Built apart and appended byte by byte: GCC 12 at -O3 reports
// a false -Warray-bounds for a resize-then-memcpy into the grown vector.
void AddCmsg(std::vector<std::byte>& buf, int level, int type, const void* data, size_t len) {
  std::vector<std::byte> one(CMSG_SPACE(len), std::byte{0});
  cmsghdr hdr{};
  hdr.cmsg_len = CMSG_LEN(len);
  hdr.cmsg_level = level;
  hdr.cmsg_type = type;
  std::memcpy(one.data(), &hdr, sizeof(hdr));
  std::memcpy(one.data() + CMSG_LEN(0), data, len);
  for (std::byte b : one) buf.push_back(b);
}

std::vector<std::byte> TxStampMessage(int level, int type, size_t extra) {
  std::vector<std::byte> buf;
  int64_t ts[6] = {1700000000, 123456789, 0, 0, 0, 0};
  AddCmsg(buf, SOL_SOCKET, SO_TIMESTAMPING_OLD, ts, sizeof(ts));
  std::vector<std::byte> ee(sizeof(sock_extended_err) + extra, std::byte{0});
  sock_extended_err e{};
  e.ee_errno = ENOMSG;
  e.ee_origin = SO_EE_ORIGIN_TIMESTAMPING;
  e.ee_info = SCM_TSTAMP_SND;
  e.ee_data = 42;
  std::memcpy(ee.data(), &e, sizeof(e));
  AddCmsg(buf, level, type, ee.data(), ee.size());
  return buf;
}

void BM_ParseCmsgs_TxStampPacket(benchmark::State& state) {
  auto buf = TxStampMessage(SOL_PACKET, PACKET_TX_TIMESTAMP, 0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    ParsedCmsgs p = ParseCmsgs(buf);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCmsgs_TxStampPacket);

void BM_ParseCmsgs_TxStampUdp4(benchmark::State& state) {
  auto buf = TxStampMessage(SOL_IP, IP_RECVERR, sizeof(sockaddr_in));
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    ParsedCmsgs p = ParseCmsgs(buf);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCmsgs_TxStampUdp4);

void BM_ParseCmsgs_RxSoftware(benchmark::State& state) {
  std::vector<std::byte> buf;
  int64_t ts[6] = {1700000000, 123456789, 0, 0, 0, 0};
  AddCmsg(buf, SOL_SOCKET, SO_TIMESTAMPING_OLD, ts, sizeof(ts));
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    ParsedCmsgs p = ParseCmsgs(buf);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCmsgs_RxSoftware);

// Steady state with `outstanding` sends in flight: each iteration matches the
// oldest send's stamp (completing it) and records one new send.
void BM_TrackerStamp(benchmark::State& state) {
  const int outstanding = static_cast<int>(state.range(0));
  TxStampTracker t({.capacity = 16384, .timeout_ns = int64_t{1} << 60});
  for (int i = 0; i < outstanding; ++i) t.OnSend(kWantSoftware, i, 0, i);
  uint32_t oldest = 0;
  TxCompletion done;
  TxStampEvent ev{0, TxStampKind::kSnd, 1700000000'000000000, std::nullopt};
  int64_t n = 0;
  for (auto _ : state) {
    ev.key = oldest++;
    TxMatch m = t.OnStamp(ev, &done);
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(done);
    t.OnSend(kWantSoftware, n, 0, n);
    ++n;
  }
  if (t.pending() != static_cast<size_t>(outstanding)) state.SkipWithError("tracker lost sends");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrackerStamp)->Arg(10000);

// Stamp matching alone, scrambled order over 10,000 outstanding sends (cache-unfriendly).
void BM_TrackerStampScrambled(benchmark::State& state) {
  constexpr int kOutstanding = 10000;
  TxStampTracker t({.capacity = 16384, .timeout_ns = int64_t{1} << 60});
  TxCompletion done;
  TxStampEvent ev{0, TxStampKind::kSnd, 1, std::nullopt};
  int i = 0;
  for (auto _ : state) {
    if (i == 0) {
      state.PauseTiming();
      t.Reset(0, [](const TxCompletion&) {});
      for (int k = 0; k < kOutstanding; ++k) t.OnSend(kWantSoftware, k, 0, k);
      state.ResumeTiming();
    }
    ev.key = static_cast<uint32_t>((i * 7919) % kOutstanding);
    benchmark::DoNotOptimize(t.OnStamp(ev, &done));
    i = (i + 1) % kOutstanding;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrackerStampScrambled);

}  // namespace

BENCHMARK_MAIN();
