// relay_bench — PacketRelay dispatch cost per frame with 1, 1,000 and 100,000 EtherConns, without
// the kernel: synthetic frames are handed straight to RelayWorker::OnFrame.
//
//   sudo build/bin/relay_bench                              # all (about 20 s, ~0.5 GB at 100k)
//   sudo build/bin/relay_bench --benchmark_filter=Lookup    # the table probe alone
//
//   BM_RelayParseL2                        ParseL2 + the key's hash, no table: the part of a lookup
//                                          that does not depend on the endpoint count
//   BM_RelayLookup/<conns>/<pattern>       ParseL2 + the unicast table probe: what OnFrame does
//                                          before it hands the frame over (the dispatch proper)
//   BM_TableProbe/<table>/<conns>/<pattern>  the unicast table alone (n × 3 keys), flat_hash_map
//                                          against PtrTable (the relay's), batches of kFrameBatch
//                                          keys hashed and prefetched, then probed
//   BM_RelayDispatchL2/<conns>/<pattern>   RelayWorker::OnFrames (batches of kFrameBatch, as the
//                                          worker hands them over) → the EtherConn's route → the
//                                          conn's L2 handler (EtherType 0x88b5; the handler adds
//                                          its endpoint's mark to one word: no memory of its own)
//   BM_RelayDispatchL2PerFrame/...         the same through OnFrame one frame at a time (no
//                                          prefetch across frames)
//   BM_RelayDispatchUdp/<conns>/<pattern>  RelayWorker::OnFrames → EtherConn IPv4 + UDP parse →
//                                          RUDPConn handler (60-byte UDP frames to port 9)
//   BM_RelayDispatch{L2,Udp}EndpointState/<conns>/0  the same two with handlers that also count
//                                          into their endpoint's slot of an array: per-endpoint
//                                          state the handler's own, which at 100,000 endpoints
//                                          misses the cache (at 1 and 100,000 endpoints)
// <pattern>: 0 = every frame to an endpoint drawn uniformly from all of them (the worst case:
// at 100,000 the tables outgrow the caches, so most probes miss); 1 = a hot set: frames drawn
// from 64 endpoints of the N registered (what a burst of traffic looks like).
// Counter per_frame is the figure: CPU time per frame (items_per_second its inverse), taken
// over 4,096 frames per iteration from a pool built beforehand; every run checks afterwards
// that each frame reached its endpoint's handler once (CheckDeliveries) and fails otherwise.
// The UDP frames carry TP_STATUS_CSUM_VALID, as from a NIC that verified the checksum.
// Target (TARGETS.md): dispatch ≤ 10 ns per frame at 1 endpoint, ≤ 20 ns at 100,000.
//
// Needs root: a relay needs a real interface, so the binary makes its own two namespaces
// joined by a veth pair (tests/support Testbed, deleted on exit; named rsa/rsb + "p<pid>r<n>")
// and builds the relay there. The relay is never started: registration runs inline, no frame
// reaches the kernel, and OnFrame runs on the benchmark thread.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/l2_view.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/ptr_table.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/udp_frame.h"
#include "ringstamp/engine/worker.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/packet_relay_test_access.h"

using namespace ringstamp;

namespace {

constexpr uint16_t kBenchEtherType = 0x88b5;  // IEEE local experimental
constexpr size_t kFrameBytes = 60;
constexpr size_t kFrameStride = 64;
constexpr size_t kPoolFrames = 4096;  // frames per benchmark iteration
constexpr size_t kHotSet = 64;
constexpr uint16_t kUdpPort = 9;

// An endpoint index spread over 64 bits (an odd multiplier: distinct indexes, distinct values),
// summed over the deliveries: a frame delivered twice and another not at all changes the sum.
constexpr uint64_t IndexMix(uint32_t i) { return (uint64_t{i} + 1) * 0x9e3779b97f4a7c15ULL; }

MacAddress ConnMac(uint32_t i) { return MacAddress::FromU64(0x0252'4200'0000ULL + i + 1); }
IpAddress ConnIp(uint32_t i) { return IpAddress::V4(0xac10'0000u + i + 1); }  // 172.16/12
const MacAddress kPeerMac = MacAddress::FromU64(0x0252'4300'0001ULL);
const IpAddress kPeerIp = IpAddress::V4(10, 99, 0, 1);

// One relay on a veth in a namespace of our own, with `n` EtherConns, each with an L2
// handler and a RUDPConn on port 9 whose handler counts. Rebuilt when `n` changes.
class RelayFixture {
 public:
  static RelayFixture* Get(uint32_t n, std::string* error) {
    static std::unique_ptr<testing::Testbed> testbed;
    static std::unique_ptr<RelayFixture> fixture;
    if (fixture && fixture->n_ == n) return fixture.get();
    fixture.reset();  // conns closed before the relay goes
    if (!testbed) {
      auto tb = testing::Testbed::Create({.assign_addresses = false});
      if (!tb.ok()) {
        *error = absl::StrFormat("relay_bench needs root (it makes a namespace and a veth): %s",
                                 std::string(tb.status().message()));
        return nullptr;
      }
      testbed = std::move(*tb);
    }
    auto f = std::unique_ptr<RelayFixture>(new RelayFixture(n));
    if (std::string e = f->Build(*testbed); !e.empty()) {
      *error = e;
      return nullptr;
    }
    fixture = std::move(f);
    return fixture.get();
  }

  ~RelayFixture() {
    for (auto& u : udps_) u->Close();
    for (auto& c : conns_) c->Close();
    udps_.clear();
    conns_.clear();
    relay_.reset();
  }

  uint32_t n() const { return n_; }
  RelayWorker& relay_worker() { return PacketRelayTestAccess::Worker(*relay_, 0); }
  Worker& worker() { return relay_->engine().worker(0); }
  std::vector<uint64_t>& l2_count() { return l2_count_; }
  std::vector<uint64_t>& udp_count() { return udp_count_; }

  // Gives every conn handlers of one kind (the L2 handler and its RUDPConn's): with
  // `endpoint_state` false each adds its endpoint's IndexMix to one word that stays in cache,
  // so that a dispatch row measures the relay handing each frame to its endpoint's handler, not
  // the handler's own memory; with it true each also counts into its endpoint's slot of an
  // array (the EndpointState rows: per-endpoint state, which at 100,000 endpoints misses the
  // cache and which the relay cannot prefetch, not knowing where a handler's state is). The
  // captures are 16 bytes, so a std::function holds its lambda inline in the route's line.
  void SetHandlers(bool endpoint_state) {
    if (endpoint_state_ == endpoint_state) return;
    endpoint_state_ = endpoint_state;
    for (uint32_t i = 0; i < n_; ++i) {
      if (endpoint_state) {
        conns_[i]->SetHandler([this, i](const L2Packet&) {
          index_sum_ += IndexMix(i);
          ++l2_count_[i];
        });
        udps_[i]->SetHandler([this, i](const Datagram&, RUDPConn&) {
          index_sum_ += IndexMix(i);
          ++udp_count_[i];
        });
      } else {
        // The mix computed here: the handler is one add to memory, as a counter would be.
        uint64_t* sum = &index_sum_;
        const uint64_t mix = IndexMix(i);
        conns_[i]->SetHandler([sum, mix](const L2Packet&) { *sum += mix; });
        udps_[i]->SetHandler([sum, mix](const Datagram&, RUDPConn&) { *sum += mix; });
      }
    }
  }
  bool endpoint_state() const { return endpoint_state_.value_or(false); }
  uint64_t& index_sum() { return index_sum_; }  // Σ IndexMix(endpoint) over the deliveries

 private:
  explicit RelayFixture(uint32_t n) : n_(n), l2_count_(n), udp_count_(n) {}

  std::string Build(const testing::Testbed& tb) {
    testing::NetnsScope in(tb.ns_a());
    if (!in.ok()) return "cannot enter namespace " + tb.ns_a();
    RelayOptions ro;
    ro.engine.ifname = tb.if_a();
    ro.engine.workers = 1;
    ro.engine.rx_mode = RxMode::kImmediate;
    ro.engine.ring_budget_bytes = 4 << 20;
    auto relay = PacketRelay::Create(ro);
    if (!relay.ok()) return "PacketRelay::Create: " + std::string(relay.status().message());
    relay_ = std::move(*relay);
    conns_.reserve(n_);
    udps_.reserve(n_);
    for (uint32_t i = 0; i < n_; ++i) {
      const IpAddress ip = ConnIp(i);
      auto conn = relay_->NewEtherConn({.mac = ConnMac(i),
                                        .ethertypes = {0x0806, 0x0800, kBenchEtherType},
                                        .addresses = {ip.ToString() + "/32"}});
      if (!conn.ok()) return "NewEtherConn: " + std::string(conn.status().message());
      auto udp = RUDPConn::Create(*conn, {.local_ip = ip, .local_port = kUdpPort});
      if (!udp.ok()) return "RUDPConn::Create: " + std::string(udp.status().message());
      conns_.push_back(std::move(*conn));
      udps_.push_back(std::move(*udp));
    }
    SetHandlers(false);
    return "";
  }

  uint32_t n_;
  std::unique_ptr<PacketRelay> relay_;
  std::vector<std::shared_ptr<EtherConn>> conns_;
  std::vector<std::shared_ptr<RUDPConn>> udps_;
  std::vector<uint64_t> l2_count_;
  std::vector<uint64_t> udp_count_;
  std::optional<bool> endpoint_state_;
  alignas(64) uint64_t index_sum_ = 0;
};

// kPoolFrames frames, each to an endpoint drawn by `pattern`, with the expected count per endpoint.
struct FramePool {
  std::vector<std::byte> bytes;
  std::vector<Frame> frames;
  std::vector<uint32_t> target;  // endpoint index of each frame
};

FramePool MakePool(uint32_t n, int pattern, bool udp) {
  FramePool p;
  p.bytes.assign(kPoolFrames * kFrameStride, std::byte{0});
  p.frames.resize(kPoolFrames);
  p.target.resize(kPoolFrames);
  std::mt19937_64 rng(0x52494e47 + n * 7 + static_cast<uint32_t>(pattern));
  std::vector<uint32_t> hot;
  for (size_t i = 0; i < kHotSet; ++i) hot.push_back(static_cast<uint32_t>(rng() % n));
  for (size_t f = 0; f < kPoolFrames; ++f) {
    const uint32_t t = pattern == 0 ? static_cast<uint32_t>(rng() % n) : hot[rng() % kHotSet];
    std::span<std::byte> out(p.bytes.data() + f * kFrameStride, kFrameStride);
    size_t len;
    if (udp) {
      const UdpFrameSpec spec{.dst_mac = ConnMac(t),
                              .src_mac = kPeerMac,
                              .src = kPeerIp,
                              .dst = ConnIp(t),
                              .src_port = 10000,
                              .dst_port = kUdpPort,
                              .ip_id = static_cast<uint16_t>(f)};
      const size_t payload = kFrameBytes - UdpFrameHeaderSize(spec);
      for (size_t b = 0; b < payload; ++b)
        out[UdpFrameHeaderSize(spec) + b] = static_cast<std::byte>(f + b);
      len = BuildUdpFrame(out, spec, payload);
    } else {
      BuildEthernet(out, ConnMac(t), kPeerMac, VlanStack(), kBenchEtherType);
      for (size_t b = kEthernetHeaderSize; b < kFrameBytes; ++b)
        out[b] = static_cast<std::byte>(f + b);
      len = kFrameBytes;
    }
    Frame& fr = p.frames[f];
    fr.data = out.data();
    fr.snap_len = fr.wire_len = static_cast<uint32_t>(len);
    fr.status = TP_STATUS_USER | TP_STATUS_CSUM_VALID;
    p.target[f] = t;
  }
  return p;
}

void SetFrameCounters(benchmark::State& state, uint32_t n, int pattern) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPoolFrames));
  // CPU seconds per frame (printed as "29.1ns"; JSON holds seconds).
  state.counters["per_frame"] = benchmark::Counter(
      static_cast<double>(kPoolFrames),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetLabel(absl::StrFormat("%u endpoints, %s", n, pattern == 0 ? "uniform" : "hot 64"));
}

// Every frame reached the handler of the endpoint it was addressed to, once per iteration: the
// sum of the IndexMix of the endpoints whose handlers ran is that of the frames' targets (a
// frame handed to another endpoint, lost or delivered twice changes it; errors that cancel
// exactly would need IndexMix values that sum to zero), and with per-endpoint counts, every
// endpoint's count is exactly its frames'.
void CheckDeliveries(benchmark::State& state, const FramePool& pool, RelayFixture& f,
                     std::vector<uint64_t>& counts, uint64_t iterations) {
  uint64_t want_sum = 0;
  for (uint32_t t : pool.target) want_sum += IndexMix(t);
  if (f.index_sum() != iterations * want_sum) {
    state.SkipWithError("the handlers did not get each frame, once, at its endpoint");
  } else if (f.endpoint_state()) {
    std::vector<uint64_t> want(counts.size());
    for (uint32_t t : pool.target) want[t] += iterations;
    if (want != counts) state.SkipWithError("an endpoint's count is not its frames'");
  }
  f.index_sum() = 0;
  std::fill(counts.begin(), counts.end(), 0);
}

void BM_RelayParseL2(benchmark::State& state) {
  const FramePool pool = MakePool(1000, 0, /*udp=*/false);
  const L2KeyHash hasher;
  // One view reused, as the relay reuses its batch's views: a fresh L2View per frame is a
  // 96-byte zeroing (GCC emits `rep stosq`, tens of cycles) the relay never pays.
  L2View l2;
  for (auto _ : state) {
    for (const Frame& frame : pool.frames) {
      if (ParseL2(frame, &l2) != ParseError::kNone) continue;
      benchmark::DoNotOptimize(hasher(l2.Key()));
    }
  }
  SetFrameCounters(state, 1000, 0);
  state.SetLabel("no table");
}

void BM_RelayLookup(benchmark::State& state, uint32_t n, int pattern) {
  std::string error;
  RelayFixture* f = RelayFixture::Get(n, &error);
  if (f == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const FramePool pool = MakePool(n, pattern, /*udp=*/false);
  const auto& unicast = f->relay_worker().tables().unicast;
  uint64_t found = 0;
  L2View l2;  // reused, as in BM_RelayParseL2
  for (auto _ : state) {
    for (const Frame& frame : pool.frames) {
      if (ParseL2(frame, &l2) != ParseError::kNone) continue;
      if (const EtherRoute* owner = unicast.Find(l2.Key())) {
        ++found;
        benchmark::DoNotOptimize(owner);
      }
    }
  }
  if (found != state.iterations() * kPoolFrames) {
    state.SkipWithError("a frame found no owner in the unicast table");
  }
  SetFrameCounters(state, n, pattern);
}

// The unicast table alone, flat_hash_map against PtrTable, with the relay's keys (n endpoints ×
// 3 EtherTypes) and its access pattern: a batch of kFrameBatch keys hashed and prefetched, then
// probed. Keys come from the frame pool, parsed beforehand: only the table is measured.
template <typename Table>
void BM_TableProbe(benchmark::State& state, uint32_t n, int pattern) {
  Table table;
  static EtherRoute* const kValue = reinterpret_cast<EtherRoute*>(uintptr_t{0x1000});
  for (uint32_t i = 0; i < n; ++i) {
    for (uint16_t et : {uint16_t{0x0806}, uint16_t{0x0800}, kBenchEtherType}) {
      const L2Key key(ConnMac(i).ToU64(), VlanStack(), et);
      if constexpr (std::is_same_v<Table, PtrTable<L2Key, L2KeyHash, EtherRoute>>) {
        table.Set(key, kValue);
      } else {
        table[key] = kValue;
      }
    }
  }
  const FramePool pool = MakePool(n, pattern, /*udp=*/false);
  std::vector<L2Key> keys(pool.frames.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    L2View l2;
    if (ParseL2(pool.frames[i], &l2) == ParseError::kNone) keys[i] = l2.key;
  }
  uint64_t found = 0;
  for (auto _ : state) {
    for (size_t at = 0; at < keys.size(); at += kFrameBatch) {
      size_t hash[kFrameBatch];
      for (size_t i = 0; i < kFrameBatch; ++i) {
        const L2Key& k = keys[at + i];
        if constexpr (std::is_same_v<Table, PtrTable<L2Key, L2KeyHash, EtherRoute>>) {
          hash[i] = table.HashOf(k);
          table.Prefetch(hash[i]);
        } else {
          hash[i] = L2KeyHash()(k);
          table.prefetch(k);
        }
      }
      for (size_t i = 0; i < kFrameBatch; ++i) {
        const L2Key& k = keys[at + i];
        if constexpr (std::is_same_v<Table, PtrTable<L2Key, L2KeyHash, EtherRoute>>) {
          found += table.Find(k, hash[i]) == kValue;
        } else {
          auto it = table.find(k, hash[i]);
          found += it != table.end() && it->second == kValue;
        }
      }
    }
  }
  if (found != state.iterations() * kPoolFrames) state.SkipWithError("a key was not found");
  SetFrameCounters(state, n, pattern);
}

void BM_RelayDispatch(benchmark::State& state, uint32_t n, int pattern, bool udp, bool batched,
                      bool endpoint_state) {
  std::string error;
  RelayFixture* f = RelayFixture::Get(n, &error);
  if (f == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const FramePool pool = MakePool(n, pattern, udp);
  RelayWorker& rw = f->relay_worker();
  Worker& w = f->worker();
  std::vector<uint64_t>& counts = udp ? f->udp_count() : f->l2_count();
  std::fill(counts.begin(), counts.end(), 0);
  f->SetHandlers(endpoint_state);
  f->index_sum() = 0;
  const uint64_t no_owner_before = rw.counters().no_owner.Get();
  const std::span<const Frame> all(pool.frames);
  for (auto _ : state) {
    if (batched) {
      for (size_t at = 0; at < all.size(); at += kFrameBatch) {
        rw.OnFrames(w, all.subspan(at, std::min(kFrameBatch, all.size() - at)));
      }
    } else {
      for (const Frame& frame : pool.frames) rw.OnFrame(w, frame);
    }
  }
  if (rw.counters().no_owner.Get() != no_owner_before) {
    state.SkipWithError("frames without an owner: the relay did not find an endpoint");
  } else {
    CheckDeliveries(state, pool, *f, counts, state.iterations());
  }
  SetFrameCounters(state, n, pattern);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("BM_RelayParseL2", BM_RelayParseL2);
  // Endpoint count outermost, so each relay is built once.
  for (uint32_t n : {1u, 1000u, 100000u}) {
    for (int pattern : {0, 1}) {
      if (n == 1 && pattern == 1) continue;  // one endpoint: both patterns are the same
      const std::string suffix = absl::StrFormat("/%u/%d", n, pattern);
      benchmark::RegisterBenchmark(("BM_RelayLookup" + suffix).c_str(), BM_RelayLookup, n, pattern);
      benchmark::RegisterBenchmark(
          ("BM_TableProbe/flat_hash_map" + suffix).c_str(),
          BM_TableProbe<absl::flat_hash_map<L2Key, EtherRoute*, L2KeyHash>>, n, pattern);
      benchmark::RegisterBenchmark(("BM_TableProbe/PtrTable" + suffix).c_str(),
                                   BM_TableProbe<PtrTable<L2Key, L2KeyHash, EtherRoute>>, n,
                                   pattern);
      benchmark::RegisterBenchmark(("BM_RelayDispatchL2" + suffix).c_str(), BM_RelayDispatch, n,
                                   pattern, false, true, false);
      benchmark::RegisterBenchmark(("BM_RelayDispatchL2PerFrame" + suffix).c_str(),
                                   BM_RelayDispatch, n, pattern, false, false, false);
      benchmark::RegisterBenchmark(("BM_RelayDispatchUdp" + suffix).c_str(), BM_RelayDispatch, n,
                                   pattern, true, true, false);
      if (pattern == 0 && n != 1000) {
        benchmark::RegisterBenchmark(("BM_RelayDispatchL2EndpointState" + suffix).c_str(),
                                     BM_RelayDispatch, n, pattern, false, true, true);
        benchmark::RegisterBenchmark(("BM_RelayDispatchUdpEndpointState" + suffix).c_str(),
                                     BM_RelayDispatch, n, pattern, true, true, true);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
