// absl_compat.h — bridges between std:: types and Debian's abseil build.
//
// Debian's libabsl-dev 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0
// and USE_STD_OPTIONAL=0: absl::string_view is its own class and does not
// accept a std::string_view. Our APIs take std::string_view; call absl through ToAbsl:
//
// Example:
// Given: #include "absl/strings/str_cat.h"
// Given: std::string_view name; std::string_view what;
//   std::string message = absl::StrCat(ToAbsl(name), ": ", ToAbsl(what));
//
// Any thread, free.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace ringstamp {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace ringstamp
