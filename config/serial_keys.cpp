#include "config/serial_keys.hpp"

#include "config/schema.hpp"

namespace fieldgate::config {

void read_serial_settings(Section& s, SerialSettings& line) {
  assign(line.port, s.non_empty_string("port", Need::kRequired));
  assign(line.baud, s.integer_of("baud", kBaudRates,
                                 "a standard baud rate (1200, 2400, 4800, 9600, 19200, 38400, "
                                 "57600, 115200, ... 4000000)"));
  assign(line.parity, s.choice("parity", kParities));
  assign(line.data_bits, s.integer("data_bits", 5, 8));
  assign(line.stop_bits, s.integer("stop_bits", 1, 2));
}

}  // namespace fieldgate::config
