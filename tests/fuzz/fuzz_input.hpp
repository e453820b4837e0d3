// FuzzInput: reads a fuzz target's settings from the front of its input, one
// byte at a time, then hands over the rest. Unlike libFuzzer's
// FuzzedDataProvider (which takes integers from the end), the layout is
// "header bytes, then payload", so a seed is written as a few settings bytes
// followed by a real frame or text (tests/fuzz/corpus/, docs/FUZZING.md).
// A short input reads as zeros: every input is valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fieldgate::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  /// The next byte, 0 past the end.
  std::uint8_t byte() {
    if (at_ >= size_) return 0;
    return static_cast<std::uint8_t>(data_[at_++]);
  }

  /// The next two bytes, big-endian.
  std::uint16_t u16() { return static_cast<std::uint16_t>((byte() << 8) | byte()); }

  /// The next eight bytes, big-endian.
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }

  /// A length-prefixed string: one length byte (capped at `max`), then the bytes.
  std::string text(std::size_t max) {
    std::size_t n = byte();
    if (n > max) n = max;
    if (n > size_ - at_) n = size_ - at_;
    std::string out(data_ + at_, n);
    at_ += n;
    return out;
  }

  /// Bytes not read yet.
  [[nodiscard]] std::size_t remaining() const { return size_ - at_; }

  /// Everything not read yet.
  std::string_view rest() {
    const std::string_view out(data_ + at_, size_ - at_);
    at_ = size_;
    return out;
  }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

/// A property of the code under test does not hold: stop with a message the
/// fuzzer keeps next to the crash input.
[[noreturn]] inline void property_failed(const char* what) {
  std::fputs("fieldgate fuzz property failed: ", stderr);
  std::fputs(what, stderr);
  std::fputc('\n', stderr);
  std::abort();
}

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) ::fieldgate::fuzz::property_failed(#cond " (" __FILE__ ":" FUZZ_LINE_ ")"); \
  } while (false)
#define FUZZ_STR2_(x) #x
#define FUZZ_STR_(x) FUZZ_STR2_(x)
#define FUZZ_LINE_ FUZZ_STR_(__LINE__)

}  // namespace fieldgate::fuzz
