// metrics_server.h — MetricsServer: `--metrics ADDR:PORT`, an HTTP endpoint serving /metrics
// (OpenMetrics or the Prometheus text format, by the scraper's Accept header) on a thread of
// its own (libmicrohttpd's internal polling thread), so a scrape never runs on, or waits for,
// a relay worker or the probe loop. The body comes from the `render` callback, called on the
// server's thread once per scrape.
//
// Threads: Start and the destructor from the command's main thread; `render` on the server's
// thread. Cost: one thread, one listening socket, at most 16 connections, 10 s idle timeout.
//
// Sketch:
//   RS_ASSIGN_OR_RETURN(MetricsAddress a, ParseMetricsAddress("127.0.0.1:9862"));
//   RS_ASSIGN_OR_RETURN(auto server, MetricsServer::Start(a, [&](MetricsFormat f) {
//     return metrics.Render(f);
//   }));
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "apps/metrics_text.h"

struct MHD_Daemon;

namespace ringstamp::app {

struct MetricsAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as given, for messages
};

// "ADDR:PORT", "[V6]:PORT" or ":PORT" (every address of this host, IPv4 and IPv6). A bad
// value is an InvalidArgument saying what to give.
absl::StatusOr<MetricsAddress> ParseMetricsAddress(std::string_view text);

class MetricsServer {
 public:
  using RenderFn = std::function<std::string(MetricsFormat)>;
  // Binds and listens (an error names the address and why: in use, not on this host, ...),
  // then serves until destroyed.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const MetricsAddress& address,
                                                              RenderFn render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint64_t scrapes() const;  // /metrics responses sent so far

  // The request handler libmicrohttpd calls (on the server's thread); not for other callers.
  static int Handle(void* self, void* connection, const char* url, const char* method);

 private:
  explicit MetricsServer(RenderFn render) : render_(std::move(render)) {}

  RenderFn render_;
  MHD_Daemon* daemon_ = nullptr;
  std::atomic<uint64_t> scrapes_{0};
};

}  // namespace ringstamp::app
