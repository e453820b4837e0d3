// The simulated power meter: its register map (a contract, see
// drivers/sim/README.md), determinism and the plausibility of its dynamics.
#include "drivers/sim/power_meter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include <gtest/gtest.h>

#include "drivers/modbus/codec.hpp"

namespace fieldgate::sim {
namespace {

using modbus::ByteOrder;
using modbus::ValueType;

double as_double(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  ADD_FAILURE() << "not a number: " << format_value(v);
  return std::nan("");
}

// Decodes one value from a table, as the gateway would.
Value read(const std::vector<std::uint16_t>& table, int address, ValueType type,
           ByteOrder order = ByteOrder::kABCD, int count = 0) {
  const auto n = static_cast<std::size_t>(modbus::register_count(type, count));
  return modbus::decode_registers(std::span(table).subspan(static_cast<std::size_t>(address), n),
                                  type, order);
}

double read_num(const std::vector<std::uint16_t>& table, int address, ValueType type,
                ByteOrder order = ByteOrder::kABCD) {
  return as_double(read(table, address, type, order));
}

TEST(PowerMeter, TablesHaveTheDocumentedSizes) {
  PowerMeter meter;
  RegisterImage image;
  meter.render(image);
  EXPECT_EQ(image.input.size(), 32U);
  EXPECT_EQ(image.holding.size(), 28U);
  EXPECT_EQ(image.coils.size(), 2U);
  EXPECT_EQ(image.discrete_inputs.size(), 2U);
}

TEST(PowerMeter, InputRegistersMatchTheModel) {
  PowerMeter meter(7);
  meter.step(12.5);
  RegisterImage image;
  meter.render(image);
  const auto& in = image.input;

  double total = 0;
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE("phase " + std::to_string(k + 1));
    const double v = read_num(in, 0 + 2 * k, ValueType::kFloat32);
    const double i = read_num(in, 6 + 2 * k, ValueType::kFloat32);
    const double p = read_num(in, 12 + 2 * k, ValueType::kFloat32);
    EXPECT_FLOAT_EQ(v, meter.voltage(k));
    EXPECT_FLOAT_EQ(i, meter.current(k));
    EXPECT_FLOAT_EQ(p, meter.active_power(k));
    EXPECT_GE(v, 220.0);
    EXPECT_LE(v, 240.0);
    EXPECT_GE(i, 5.0);
    EXPECT_LE(i, 15.0);
    total += meter.active_power(k);
  }
  const double pf = read_num(in, 20, ValueType::kFloat32);
  EXPECT_GE(pf, 0.90);
  EXPECT_LE(pf, 0.99);
  // P = V x I x PF per phase, to float32 precision.
  EXPECT_NEAR(read_num(in, 12, ValueType::kFloat32),
              read_num(in, 0, ValueType::kFloat32) * read_num(in, 6, ValueType::kFloat32) * pf,
              0.01);
  EXPECT_FLOAT_EQ(read_num(in, 18, ValueType::kFloat32), total);
  const double hz = read_num(in, 22, ValueType::kFloat32);
  EXPECT_NEAR(hz, 50.0, 0.0501);
  for (int a = 24; a < 30; ++a) EXPECT_EQ(in[static_cast<std::size_t>(a)], 0) << "register " << a;

  const Value temperature = read(in, 30, ValueType::kInt16);
  EXPECT_EQ(temperature, Value(std::int64_t{std::lround(meter.temperature_c() * 10)}));
  EXPECT_NEAR(as_double(temperature) * 0.1, 35.0, 3.0);
  EXPECT_EQ(read(in, 31, ValueType::kUInt16), Value(std::int64_t{1}));  // running, no alarm
}

TEST(PowerMeter, HoldingRegistersMatchTheModel) {
  PowerMeter meter(7);
  meter.step(60.0);
  RegisterImage image;
  meter.render(image);
  const auto& ho = image.holding;

  const auto wh = static_cast<std::int64_t>(std::floor(meter.energy_import_wh()));
  EXPECT_EQ(read(ho, 0, ValueType::kUInt64), Value(wh));
  EXPECT_GT(wh, 0);
  const double export_wh = read_num(ho, 4, ValueType::kUInt32);
  EXPECT_GT(export_wh, 0.0);
  EXPECT_LT(export_wh, static_cast<double>(wh));
  EXPECT_EQ(read(ho, 6, ValueType::kFloat64), Value(static_cast<double>(wh) / 1000.0));
  // voltage_l1 again, word-swapped: the same float32 as input register 0.
  EXPECT_EQ(read(ho, 10, ValueType::kFloat32, ByteOrder::kCDAB),
            read(image.input, 0, ValueType::kFloat32));
  EXPECT_EQ(ho[10], image.input[1]);
  EXPECT_EQ(ho[11], image.input[0]);
  EXPECT_EQ(read(ho, 12, ValueType::kUInt16), Value(std::int64_t{100}));
  EXPECT_EQ(read(ho, 13, ValueType::kInt32),
            Value(std::int64_t{std::lround(meter.demand_power_w())}));
  for (int a = 15; a < 20; ++a) EXPECT_EQ(ho[static_cast<std::size_t>(a)], 0) << "register " << a;
  EXPECT_EQ(read(ho, 20, ValueType::kString, ByteOrder::kABCD, 8),
            Value(std::string("FG-PM-000042")));
  EXPECT_EQ(ho[20], 0x4647);  // "FG", high byte first
  EXPECT_EQ(ho[26], 0);       // NUL padding after 12 characters
  EXPECT_EQ(ho[27], 0);
}

TEST(PowerMeter, BitTables) {
  PowerMeter meter;
  RegisterImage image;
  meter.render(image);
  EXPECT_EQ(image.coils, (std::vector<std::uint8_t>{0, 1}));            // relay_1, relay_2
  EXPECT_EQ(image.discrete_inputs, (std::vector<std::uint8_t>{1, 0}));  // door_closed, tamper
}

TEST(PowerMeter, SameSeedSameValues) {
  PowerMeter a(123);
  PowerMeter b(123);
  PowerMeter c(124);
  RegisterImage ia;
  RegisterImage ib;
  RegisterImage ic;
  for (double dt : {0.1, 0.1, 1.0, 30.0, 0.25, 900.0}) {
    a.step(dt);
    b.step(dt);
    c.step(dt);
  }
  a.render(ia);
  b.render(ib);
  c.render(ic);
  EXPECT_EQ(ia.input, ib.input);
  EXPECT_EQ(ia.holding, ib.holding);
  EXPECT_NE(ia.input, ic.input);
}

TEST(PowerMeter, ZeroOrNegativeStepChangesNothing) {
  PowerMeter meter;
  RegisterImage before;
  meter.render(before);
  meter.step(0.0);
  meter.step(-5.0);
  meter.step(std::nan(""));
  RegisterImage after;
  meter.render(after);
  EXPECT_EQ(before.input, after.input);
  EXPECT_EQ(before.holding, after.holding);
}

TEST(PowerMeter, ADayStaysInsideRealisticBands) {
  PowerMeter meter(99);
  RegisterImage image;
  std::int64_t last_import = -1;
  double last_export = -1;
  double v_sum = 0;
  double v_min = 1e9;
  double v_max = -1e9;
  double i_min = 1e9;
  double i_max = -1e9;
  constexpr int kSteps = 24 * 3600;
  for (int s = 0; s < kSteps; ++s) {
    meter.step(1.0);
    meter.render(image);
    const auto import_wh = std::get<std::int64_t>(read(image.holding, 0, ValueType::kUInt64));
    const double export_wh = read_num(image.holding, 4, ValueType::kUInt32);
    ASSERT_GE(import_wh, last_import) << "energy_import went backwards at step " << s;
    ASSERT_GE(export_wh, last_export) << "energy_export went backwards at step " << s;
    last_import = import_wh;
    last_export = export_wh;
    for (int k = 0; k < 3; ++k) {
      const double v = meter.voltage(k);
      ASSERT_GE(v, 220.0);
      ASSERT_LE(v, 240.0);
      v_sum += v;
      v_min = std::min(v_min, v);
      v_max = std::max(v_max, v);
      i_min = std::min(i_min, meter.current(k));
      i_max = std::max(i_max, meter.current(k));
    }
    const double pf = read_num(image.input, 20, ValueType::kFloat32);
    ASSERT_TRUE(pf >= 0.8999 && pf <= 0.9901) << pf;
    const double hz = read_num(image.input, 22, ValueType::kFloat32);
    ASSERT_TRUE(hz >= 49.9499 && hz <= 50.0501) << hz;
    ASSERT_NEAR(meter.temperature_c(), 35.0, 5.0);
  }
  // Voltage wanders around 230 V by a few volts, not stuck and not wild.
  EXPECT_NEAR(v_sum / (3.0 * kSteps), 230.0, 1.5);
  EXPECT_LT(v_min, 227.0);
  EXPECT_GT(v_max, 233.0);
  // Currents follow the load curve through most of the 5..15 A band.
  EXPECT_GE(i_min, 5.0);
  EXPECT_LE(i_max, 15.0);
  EXPECT_LT(i_min, 7.0);
  EXPECT_GT(i_max, 13.0);
}

TEST(PowerMeter, EnergyIntegratesPower) {
  PowerMeter meter(5);
  const double start_import = meter.energy_import_wh();
  RegisterImage image;
  meter.render(image);
  const double start_export = read_num(image.holding, 4, ValueType::kUInt32);
  double expected_wh = 0;
  for (int s = 0; s < 3600; ++s) {
    expected_wh += meter.active_power_total() / 3600.0;  // the power held during this second
    meter.step(1.0);
  }
  const double delta = meter.energy_import_wh() - start_import;
  EXPECT_NEAR(delta, expected_wh, 1e-6);
  // About 3 x 230 V x 10 A x 0.95 for an hour.
  EXPECT_GT(delta, 4000.0);
  EXPECT_LT(delta, 9000.0);
  // Export grows at 1 % of the import rate.
  meter.render(image);
  EXPECT_NEAR(read_num(image.holding, 4, ValueType::kUInt32) - start_export, 0.01 * delta, 1.0);
}

TEST(PowerMeter, DemandIsTheAverageOfTheLastFifteenMinuteBlock) {
  PowerMeter meter(11);
  const double initial = meter.active_power_total();
  EXPECT_DOUBLE_EQ(meter.demand_power_w(), initial);  // as if the last block ran at this load
  double block_ws = 0;
  for (int s = 0; s < 899; ++s) {
    block_ws += meter.active_power_total();
    meter.step(1.0);
  }
  EXPECT_DOUBLE_EQ(meter.demand_power_w(), initial);  // the block has not closed yet
  block_ws += meter.active_power_total();
  meter.step(1.0);
  EXPECT_NEAR(meter.demand_power_w(), block_ws / 900.0, 1e-6);
  EXPECT_NE(meter.demand_power_w(), initial);
}

TEST(PowerMeter, AlarmBitFollowsTemperature) {
  PowerMeter meter;
  meter.set_temperature(65.0);
  RegisterImage image;
  meter.render(image);
  EXPECT_EQ(read(image.input, 30, ValueType::kInt16), Value(std::int64_t{650}));
  EXPECT_EQ(read(image.input, 31, ValueType::kUInt16), Value(std::int64_t{3}));  // running + alarm
  // It cools back towards 35 °C and the alarm clears.
  for (int s = 0; s < 3600; ++s) meter.step(1.0);
  meter.render(image);
  EXPECT_LT(meter.temperature_c(), 40.0);
  EXPECT_EQ(read(image.input, 31, ValueType::kUInt16), Value(std::int64_t{1}));
}

TEST(PowerMeter, LongStepsKeepTheBands) {
  // A suspended laptop or a stalled thread: one step of an hour.
  PowerMeter meter(3);
  const double before = meter.energy_import_wh();
  meter.step(3600.0);
  EXPECT_GT(meter.energy_import_wh(), before + 3000.0);
  for (int k = 0; k < 3; ++k) {
    EXPECT_GE(meter.voltage(k), 220.0);
    EXPECT_LE(meter.voltage(k), 240.0);
    EXPECT_GE(meter.current(k), 5.0);
    EXPECT_LE(meter.current(k), 15.0);
  }
  EXPECT_GT(meter.demand_power_w(), 3000.0);  // four blocks closed, all at this hour's load
}

}  // namespace
}  // namespace fieldgate::sim
