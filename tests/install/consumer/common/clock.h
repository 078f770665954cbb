// clock.h — the consumer's own common/clock.h: same path as ringstamp's, its own content.
#pragma once

namespace consumer {
inline constexpr const char* kWho = "consumer";
}  // namespace consumer
