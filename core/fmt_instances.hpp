// Forced into every C++ translation unit by the top-level CMakeLists.txt.
//
// spdlog formats each log line through fmt::detail::vformat_to<char>, a
// template that fmt 9 defines in its header without declaring that libfmt
// already holds its instance. So every file that logs compiled its own copy
// of fmt's whole formatting engine, floating point included (36 copies, about
// 400 KiB of the daemon's 2.6 MiB of code, all of it resident). Declaring the
// instance extern here makes each of those calls go to the one in libfmt;
// fmt 10 makes the same declaration itself, and this file can go with it.
#pragma once

#include <fmt/format.h>

#if FMT_VERSION < 100000 && !defined(FMT_HEADER_ONLY)
FMT_BEGIN_NAMESPACE
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                              basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                                              locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif
