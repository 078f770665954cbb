// Fuzz: the STAMP TLV code on both ends — the reflector answering a request's TLVs
// (ReflectTlvs, reply the same length) and the sender reading a reply's (ParseReflectorTlvs).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringstamp/engine/probe/probe_tlv.h"

using namespace ringstamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  std::vector<std::byte> reply(size);
  ReflectorTlvFill fill;
  const TlvReflectResult r = ReflectTlvs(in, reply, fill);
  (void)r;
  // A whole reflector packet: 44 bytes of base packet, then the TLVs.
  std::vector<std::byte> packet(44 + size);
  for (size_t i = 0; i < size; ++i) packet[44 + i] = in[i];
  (void)ParseReflectorTlvs(packet);
  for (size_t i = 0; i < size; ++i) packet[44 + i] = reply[i];
  (void)ParseReflectorTlvs(packet);
  return 0;
}
