#include "core/thread_name.hpp"

#include <pthread.h>

namespace fieldgate {

std::string thread_name(std::string_view name) {
  if (name.size() <= kThreadNameMax) return std::string(name);
  std::size_t end = kThreadNameMax;
  // Back to the start of the sequence the cut would split (its first byte
  // is not 10xxxxxx).
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0U) == 0x80U) --end;
  return std::string(name.substr(0, end));
}

void name_this_thread(std::string_view name) noexcept {
  try {
    (void)::pthread_setname_np(::pthread_self(), thread_name(name).c_str());
  } catch (...) {
    // Out of memory for 16 bytes: the thread keeps its inherited name.
  }
}

}  // namespace fieldgate
