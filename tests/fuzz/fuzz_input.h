// fuzz_input.h — reads typed values off a libFuzzer input, front to back; past the end every
// read gives zero. Fuzz targets only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace ringstamp::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T Take() {
    T v{};
    const size_t n = sizeof(T) < size_ - pos_ ? sizeof(T) : size_ - pos_;
    if (n > 0) std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  // Up to `max` bytes (fewer at the end).
  std::span<const std::byte> Bytes(size_t max) {
    const size_t n = max < size_ - pos_ ? max : size_ - pos_;
    std::span<const std::byte> s(reinterpret_cast<const std::byte*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace ringstamp::fuzz
