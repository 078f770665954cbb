// link_watch.h — LinkWatch: notices that the interface a run uses went down, came back up,
// or was removed (ip link set down / ip link del), so the command can say so and act
// (capture ends with what it wrote kept; the probe reports the outage and carries on).
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: void Report(LinkState change, const std::string& text)
//   LinkWatch watch("eth1");
//   if (auto change = watch.Poll(MonotonicNs())) Report(*change, watch.Describe(*change));
//
// Main thread (one watcher per command). Cost: one SIOCGIFFLAGS ioctl and one
// if_nametoindex per `every_ns` (100 ms by default), nothing in between.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ringstamp::app {

enum class LinkState : uint8_t { kUp, kDown, kGone };

class LinkWatch {
 public:
  explicit LinkWatch(std::string ifname, int64_t every_ns = 100'000'000);

  // The new state when it changed since the last poll, else nullopt. A removed interface
  // stays kGone (an interface of the same name made later is another interface).
  std::optional<LinkState> Poll(int64_t now_ns);
  LinkState state() const { return state_; }
  int outages() const { return outages_; }  // times it went down or away
  // "eth1 went down", "eth1 is up again", "eth1 was removed".
  std::string Describe(LinkState s) const;

 private:
  LinkState Read() const;

  std::string ifname_;
  int64_t every_ns_;
  int64_t next_ns_ = 0;
  unsigned ifindex_ = 0;  // at construction
  LinkState state_ = LinkState::kUp;
  int outages_ = 0;
};

}  // namespace ringstamp::app
