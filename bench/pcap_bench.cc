// pcap_bench — our buffered PcapWriter against libpcap's pcap_dump, same output.
//
//   build-x/bin/pcap_bench                       # all
//   build-x/bin/pcap_bench --benchmark_filter=DevNull
//
// Both write nanosecond pcap records of the same frames; before timing, a
// check writes 10,000 records both ways and fails every benchmark if the
// files differ by one byte. Targets: /dev/null (CPU per record: format, copy,
// syscalls) and a file under /tmp (page cache; restarted every 256 MiB
// outside the timed region). libpcap is measured with its default stdio
// buffer and with a 1 MiB setvbuf buffer (pcap_dump_fopen).
//
// apps/ is not a library: the writer's source is compiled into this binary.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/pcap_writer.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ringstamp::app::PcapWriter;

constexpr uint32_t kSnaplen = 262144;
constexpr int64_t kBaseNs = 1'700'000'000'000'000'000;
constexpr uint64_t kRestartBytes = 256ull << 20;

std::vector<std::byte> MakeFrame(size_t len) {
  std::vector<std::byte> f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<std::byte>(i * 7);
  return f;
}

std::string FilePath(const char* tag) {
  return std::string("/tmp/rs_pcap_bench_") + std::to_string(getpid()) + "_" + tag + ".pcap";
}

// libpcap's dumper on a nanosecond dead handle; `big_buffer` gives its FILE a 1 MiB buffer.
struct LibpcapDumper {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  FILE* file = nullptr;
  std::vector<char> buffer;

  bool Open(const std::string& path, bool big_buffer) {
    dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnaplen, PCAP_TSTAMP_PRECISION_NANO);
    if (dead == nullptr) return false;
    file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return false;
    if (big_buffer) {
      buffer.resize(1 << 20);
      setvbuf(file, buffer.data(), _IOFBF, buffer.size());
    }
    dumper = pcap_dump_fopen(dead, file);
    return dumper != nullptr;
  }
  void Dump(int64_t ns, const std::vector<std::byte>& frame) {
    pcap_pkthdr h{};
    h.ts.tv_sec = ns / 1'000'000'000;
    h.ts.tv_usec = ns % 1'000'000'000;  // nanoseconds on a nano-precision handle
    h.caplen = static_cast<bpf_u_int32>(frame.size());
    h.len = h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, reinterpret_cast<const u_char*>(frame.data()));
  }
  void Close() {
    if (dumper != nullptr) pcap_dump_close(dumper);  // closes `file`
    if (dead != nullptr) pcap_close(dead);
    dumper = nullptr;
    dead = nullptr;
    file = nullptr;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Empty when both writers produce the same bytes, else what differs.
std::string SameOutputCheck() {
  const std::string ours = FilePath("check_ours"), theirs = FilePath("check_libpcap");
  auto w = PcapWriter::Open(ours, {.snaplen = kSnaplen});
  if (!w.ok()) return std::string(w.status().message());
  LibpcapDumper d;
  if (!d.Open(theirs, false)) return "libpcap dumper did not open";
  for (int i = 0; i < 10000; ++i) {
    const auto frame = MakeFrame(60 + (i * 131) % 1455);
    w->Append(kBaseNs + i * 12345, frame);
    d.Dump(kBaseNs + i * 12345, frame);
  }
  d.Close();
  if (!w->Close().ok()) return "our writer failed";
  const bool same = ReadAll(ours) == ReadAll(theirs);
  unlink(ours.c_str());
  unlink(theirs.c_str());
  return same ? "" : "outputs differ";
}

const std::string& CheckResult() {
  static const std::string result = SameOutputCheck();
  return result;
}

void BM_Ours(benchmark::State& state, bool to_file) {
  if (!CheckResult().empty()) {
    state.SkipWithError(CheckResult().c_str());
    return;
  }
  const auto frame = MakeFrame(static_cast<size_t>(state.range(0)));
  const std::string path = to_file ? FilePath("ours") : "/dev/null";
  auto w = PcapWriter::Open(path, {.snaplen = kSnaplen});
  if (!w.ok()) {
    state.SkipWithError(std::string(w.status().message()).c_str());
    return;
  }
  int64_t ns = kBaseNs;
  uint64_t since_restart = 0;
  for (auto _ : state) {
    w->Append(ns++, frame);
    since_restart += frame.size() + 16;
    if (to_file && since_restart >= kRestartBytes) {
      state.PauseTiming();
      (void)w->Close();
      w = PcapWriter::Open(path, {.snaplen = kSnaplen});
      since_restart = 0;
      state.ResumeTiming();
    }
  }
  (void)w->Close();
  state.counters["write_calls"] = static_cast<double>(w->stats().write_calls);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size() + 16));
  if (to_file) unlink(path.c_str());
}

void BM_Libpcap(benchmark::State& state, bool to_file, bool big_buffer) {
  if (!CheckResult().empty()) {
    state.SkipWithError(CheckResult().c_str());
    return;
  }
  const auto frame = MakeFrame(static_cast<size_t>(state.range(0)));
  const std::string path = to_file ? FilePath("libpcap") : "/dev/null";
  LibpcapDumper d;
  if (!d.Open(path, big_buffer)) {
    state.SkipWithError("libpcap dumper did not open");
    return;
  }
  int64_t ns = kBaseNs;
  uint64_t since_restart = 0;
  for (auto _ : state) {
    d.Dump(ns++, frame);
    since_restart += frame.size() + 16;
    if (to_file && since_restart >= kRestartBytes) {
      state.PauseTiming();
      d.Close();
      d.Open(path, big_buffer);
      since_restart = 0;
      state.ResumeTiming();
    }
  }
  d.Close();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size() + 16));
  if (to_file) unlink(path.c_str());
}

void BM_OursDevNull(benchmark::State& s) { BM_Ours(s, false); }
void BM_OursFile(benchmark::State& s) { BM_Ours(s, true); }
void BM_LibpcapDevNull(benchmark::State& s) { BM_Libpcap(s, false, false); }
void BM_LibpcapFile(benchmark::State& s) { BM_Libpcap(s, true, false); }
void BM_LibpcapBigBufDevNull(benchmark::State& s) { BM_Libpcap(s, false, true); }
void BM_LibpcapBigBufFile(benchmark::State& s) { BM_Libpcap(s, true, true); }

BENCHMARK(BM_OursDevNull)->Arg(60)->Arg(1514);
BENCHMARK(BM_LibpcapDevNull)->Arg(60)->Arg(1514);
BENCHMARK(BM_LibpcapBigBufDevNull)->Arg(60)->Arg(1514);
BENCHMARK(BM_OursFile)->Arg(60)->Arg(1514);
BENCHMARK(BM_LibpcapFile)->Arg(60)->Arg(1514);
BENCHMARK(BM_LibpcapBigBufFile)->Arg(60)->Arg(1514);

}  // namespace

BENCHMARK_MAIN();
