// Thread names: each long-running thread of the gateway names itself, so
// that `top -H`, `ps -L -o tid,comm,pcpu`, /proc/<pid>/task/*/comm and perf
// say which part spends the CPU (the bench sums its figures by them).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fieldgate {

/// Linux keeps 15 bytes of a thread's name.
inline constexpr std::size_t kThreadNameMax = 15;

/// `name` cut to kThreadNameMax bytes, never inside a UTF-8 sequence.
[[nodiscard]] std::string thread_name(std::string_view name);

/// Names the calling thread thread_name(name). A failure is ignored: the name
/// is for people and tools, nothing depends on it.
void name_this_thread(std::string_view name) noexcept;

}  // namespace fieldgate
