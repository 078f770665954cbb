#include "ringstamp/ring/v3_block.h"

namespace ringstamp {

const char* V3BlockErrorName(V3BlockError e) {
  switch (e) {
    case V3BlockError::kNone:
      return "none";
    case V3BlockError::kBlockLengthLies:
      return "block length past the block";
    case V3BlockError::kFirstOffsetBad:
      return "offset to first frame outside the block";
    case V3BlockError::kNextOffsetBad:
      return "next-frame offset outside the block";
    case V3BlockError::kFrameOutOfBlock:
      return "frame extends past the block";
  }
  return "unknown";
}

}  // namespace ringstamp
