// Bytes as a technician can read them: printable ASCII as is, line ends and
// control bytes as C escapes ("\r\n", "\x02"), so `poll --raw` and the status
// show exactly what a device sent.
#pragma once

#include <string>
#include <string_view>

namespace fieldgate::serial {

/// `\r` `\n` `\t` `\\` `\"` for those bytes, `\xNN` (upper case) for other
/// bytes outside 0x20..0x7e, everything else unchanged.
[[nodiscard]] std::string escape_bytes(std::string_view bytes);

}  // namespace fieldgate::serial
