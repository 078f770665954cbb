#include "apps/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp::app {

absl::StatusOr<MetricsAddress> ParseMetricsAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--metrics %s: %s (give ADDR:PORT, [ADDR6]:PORT or :PORT, e.g. --metrics 127.0.0.1:9862)",
        ToAbsl(text), ToAbsl(why)));
  };
  MetricsAddress out;
  out.text = std::string(text);
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad("an IPv6 address needs ]:PORT after it");
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return bad("write an IPv6 address as [ADDR]:PORT");
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(ToAbsl(port_text), &port) || port < 1 || port > 65535) {
    return bad(absl::StrFormat("port '%s' is not 1..65535", ToAbsl(port_text)));
  }
  if (host.empty()) {  // every address, IPv6 and IPv4 (a dual-stack socket)
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.addr);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_any;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in);
    return out;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  return bad(absl::StrFormat("'%s' is not an IP address of this host", host));
}

namespace {

MHD_Result Reply(MHD_Connection* c, unsigned status, std::string_view type, std::string body) {
  MHD_Response* r =
      MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, std::string(type).c_str());
  const MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

MHD_Result Access(void* cls, MHD_Connection* c, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                  void** /*con_cls*/) {
  if (upload_data_size != nullptr && *upload_data_size != 0) {
    *upload_data_size = 0;  // a body is not wanted; answered below once it is read
    return MHD_YES;
  }
  return MetricsServer::Handle(cls, c, url, method) != 0 ? MHD_YES : MHD_NO;
}

}  // namespace

int MetricsServer::Handle(void* cls, void* connection, const char* url, const char* method) {
  auto* self = static_cast<MetricsServer*>(cls);
  auto* c = static_cast<MHD_Connection*>(connection);
  const std::string_view m = method;
  if (m != "GET" && m != "HEAD") {
    return Reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                 "only GET /metrics here\n") == MHD_YES;
  }
  if (std::string_view(url) != "/metrics") {
    return Reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                 "ringstamp serves its metrics at /metrics\n") == MHD_YES;
  }
  const char* accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
  const MetricsFormat f = NegotiateMetricsFormat(accept != nullptr ? accept : "");
  std::string body = self->render_(f);
  self->scrapes_.fetch_add(1, std::memory_order_relaxed);
  return Reply(c, MHD_HTTP_OK, MetricsContentType(f), std::move(body)) == MHD_YES;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const MetricsAddress& address,
                                                                    RenderFn render) {
  const int family = address.addr.ss_family;
  const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("--metrics ", address.text, ": socket"));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) {
    const int zero = 0;  // [::]:PORT takes IPv4 too
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.addr), address.len) != 0) {
    const int err = errno;
    close(fd);
    std::string hint = "check the address and port";
    if (err == EADDRINUSE) hint = "another program listens there: pick another port";
    if (err == EADDRNOTAVAIL) hint = "that address is not on this host (or this namespace)";
    if (err == EACCES) hint = "ports below 1024 need CAP_NET_BIND_SERVICE: pick one above";
    return ErrnoStatus(err, absl::StrCat("--metrics ", address.text, ": cannot listen there"),
                       hint);
  }
  if (listen(fd, 16) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(err, absl::StrCat("--metrics ", address.text, ": listen"));
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(render)));
  s->daemon_ =
      MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | (family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
                       nullptr, nullptr, &Access, s.get(), MHD_OPTION_LISTEN_SOCKET, fd,
                       MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(16),
                       MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(10), MHD_OPTION_END);
  if (s->daemon_ == nullptr) {
    close(fd);
    return absl::InternalError(absl::StrCat("--metrics ", address.text,
                                            ": the HTTP server (libmicrohttpd) did not start"));
  }
  return s;
}

MetricsServer::~MetricsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);  // joins its thread, closes the socket
}

uint64_t MetricsServer::scrapes() const { return scrapes_.load(); }

}  // namespace ringstamp::app
