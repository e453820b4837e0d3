// The simulated power meter: a small stochastic model and its register map.
//
// Design notes. Every wandering quantity (voltage, power factor, frequency,
// temperature, current noise) is an Ornstein-Uhlenbeck process: a random walk
// pulled back to its mean. step() uses the exact OU transition, so the result
// has the same distribution whether the caller steps 100 ms or one hour at a
// time, and clamps keep each value inside the band a real meter would show.
// Randomness comes from std::mt19937 (fully specified by the standard) through
// our own Box-Muller transform, because std::normal_distribution differs
// between standard libraries and "same seed, same values" should hold anywhere.
//
// The register map below is a contract (drivers/sim/README.md, examples,
// integration tests): change both together.
#include "drivers/sim/power_meter.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "drivers/modbus/codec.hpp"

namespace fieldgate::sim {

namespace {

using modbus::ByteOrder;
using modbus::ValueType;

// Table sizes: reads past them get ILLEGAL DATA ADDRESS, as on a real meter.
constexpr std::size_t kInputRegisters = 32;
constexpr std::size_t kHoldingRegisters = 28;
constexpr std::size_t kCoils = 2;
constexpr std::size_t kDiscreteInputs = 2;

// Input registers.
constexpr int kInVoltageL1 = 0;     // float32 x3 (0, 2, 4)
constexpr int kInCurrentL1 = 6;     // float32 x3 (6, 8, 10)
constexpr int kInPowerL1 = 12;      // float32 x3 (12, 14, 16)
constexpr int kInPowerTotal = 18;   // float32
constexpr int kInPowerFactor = 20;  // float32
constexpr int kInFrequency = 22;    // float32
constexpr int kInTemperature = 30;  // int16, 0.1 °C
constexpr int kInStatus = 31;       // uint16 bits
// Holding registers.
constexpr int kHoEnergyImport = 0;     // uint64 Wh
constexpr int kHoEnergyExport = 4;     // uint32 Wh
constexpr int kHoEnergyImportKwh = 6;  // float64 kWh
constexpr int kHoVoltageL1Cdab = 10;   // float32 CDAB
constexpr int kHoCtRatio = 12;         // uint16
constexpr int kHoDemandPower = 13;     // int32 W
constexpr int kHoSerialNumber = 20;    // string, 8 registers
constexpr int kSerialRegisters = 8;
constexpr const char* kSerialNumber = "FG-PM-000042";
constexpr std::int64_t kCtRatio = 100;

constexpr std::uint16_t kStatusRunning = 1U << 0;
constexpr std::uint16_t kStatusAlarm = 1U << 1;
constexpr double kAlarmTemperatureC = 60.0;

constexpr double kNominalVoltage = 230.0;
constexpr double kMinVoltage = 220.0;
constexpr double kMaxVoltage = 240.0;
constexpr double kMinCurrent = 5.0;
constexpr double kMaxCurrent = 15.0;
// One "day" of load every 10 minutes, so a demo shows the whole curve.
constexpr double kLoadPeriodS = 600.0;
constexpr double kDemandBlockS = 15 * 60.0;
constexpr double kExportShare = 0.01;  // export grows at 1 % of the import rate

// Mean, reversion time constant (s) and stationary standard deviation of each
// OU process.
struct Wander {
  double mean;
  double tau_s;
  double stddev;
};
constexpr Wander kVoltage{kNominalVoltage, 20.0, 3.0};
constexpr Wander kPowerFactor{0.95, 120.0, 0.012};
constexpr Wander kFrequency{50.0, 10.0, 0.015};
constexpr Wander kCurrentNoise{0.0, 5.0, 0.3};
constexpr double kTemperatureTauS = 600.0;
constexpr double kTemperatureStddev = 0.3;

// Uniform in (0, 1) from two 32-bit draws; never 0, so log() below is finite.
double uniform01(std::mt19937& rng) {
  const std::uint64_t hi = rng() >> 5;                                       // 27 bits
  const std::uint64_t lo = rng() >> 6;                                       // 26 bits
  return (static_cast<double>((hi << 26) | lo) + 0.5) / 9007199254740992.0;  // 2^53
}

double gaussian(std::mt19937& rng) {
  const double u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Exact OU transition over dt: the deviation from the mean decays by e^(-dt/tau)
// and the noise added keeps the stationary spread at w.stddev.
double wander(double x, const Wander& w, double dt_s, std::mt19937& rng) {
  const double decay = std::exp(-dt_s / w.tau_s);
  return w.mean + (x - w.mean) * decay + w.stddev * std::sqrt(1.0 - decay * decay) * gaussian(rng);
}

// Smooth load: a base, a slow "daily" swing, phases slightly out of step so
// the three currents are not identical. Between 6 and 14 A before noise.
double load_curve(int phase, double t_s) {
  const double angle = 2.0 * std::numbers::pi * t_s / kLoadPeriodS + 0.4 * phase;
  return 10.0 + 3.0 * std::sin(angle) + 1.0 * std::sin(3.0 * angle);
}

// The temperature follows the load a little: about 35 °C at 10 A.
double temperature_target(const double (&current)[3]) {
  return 33.0 + 0.2 * (current[0] + current[1] + current[2]) / 3.0;
}

void put(std::vector<std::uint16_t>& table, int address, const Value& value, ValueType type,
         ByteOrder order = ByteOrder::kABCD, int count = 0) {
  const auto regs = modbus::encode_registers(value, type, order, count);
  // Every value the model renders fits its type; a miss is a bug in this file.
  if (!regs) return;
  std::copy(regs->begin(), regs->end(), table.begin() + address);
}

}  // namespace

PowerMeter::PowerMeter(std::uint32_t seed) : rng_(seed) {
  for (int k = 0; k < 3; ++k) {
    voltage_[k] =
        std::clamp(kVoltage.mean + kVoltage.stddev * gaussian(rng_), kMinVoltage, kMaxVoltage);
    current_[k] = std::clamp(load_curve(k, 0.0) + kCurrentNoise.stddev * gaussian(rng_),
                             kMinCurrent, kMaxCurrent);
  }
  power_factor_ = kPowerFactor.mean;
  frequency_ = kFrequency.mean;
  temperature_c_ = temperature_target(current_);
  energy_import_wh_ = 4'200'000.0;
  energy_export_wh_ = 42'000.0;
  // As if the previous demand block ran at today's load.
  demand_power_w_ = active_power_total();
}

double PowerMeter::active_power(int phase) const {
  return voltage_[phase] * current_[phase] * power_factor_;
}

double PowerMeter::active_power_total() const {
  return active_power(0) + active_power(1) + active_power(2);
}

void PowerMeter::step(double dt_s) {
  if (!(dt_s > 0.0)) return;  // also rejects NaN

  // Energy first, from the power held during the interval that just ended.
  const double power_w = active_power_total();
  energy_import_wh_ += power_w * dt_s / 3600.0;
  energy_export_wh_ += kExportShare * power_w * dt_s / 3600.0;

  // Fixed-block demand, as most meters compute it: the average power of the
  // last completed 15-minute block. A long step may close several blocks.
  double remaining = dt_s;
  while (block_elapsed_s_ + remaining >= kDemandBlockS) {
    const double part = kDemandBlockS - block_elapsed_s_;
    block_energy_ws_ += power_w * part;
    demand_power_w_ = block_energy_ws_ / kDemandBlockS;
    block_energy_ws_ = 0;
    block_elapsed_s_ = 0;
    remaining -= part;
  }
  block_energy_ws_ += power_w * remaining;
  block_elapsed_s_ += remaining;

  const double t_prev = t_s_;
  t_s_ += dt_s;
  for (int k = 0; k < 3; ++k) {
    voltage_[k] = std::clamp(wander(voltage_[k], kVoltage, dt_s, rng_), kMinVoltage, kMaxVoltage);
    // The noise is whatever the current deviates from the curve; it wanders too.
    const double noise = current_[k] - load_curve(k, t_prev);
    current_[k] = std::clamp(load_curve(k, t_s_) + wander(noise, kCurrentNoise, dt_s, rng_),
                             kMinCurrent, kMaxCurrent);
  }
  power_factor_ = std::clamp(wander(power_factor_, kPowerFactor, dt_s, rng_), 0.90, 0.99);
  frequency_ = std::clamp(wander(frequency_, kFrequency, dt_s, rng_), 49.95, 50.05);
  const Wander temperature{temperature_target(current_), kTemperatureTauS, kTemperatureStddev};
  temperature_c_ = std::clamp(wander(temperature_c_, temperature, dt_s, rng_), -40.0, 125.0);
}

void PowerMeter::render(RegisterImage& image) const {
  image.input.assign(kInputRegisters, 0);
  image.holding.assign(kHoldingRegisters, 0);
  image.coils.assign(kCoils, 0);
  image.discrete_inputs.assign(kDiscreteInputs, 0);

  auto& in = image.input;
  for (int k = 0; k < 3; ++k) {
    put(in, kInVoltageL1 + 2 * k, voltage_[k], ValueType::kFloat32);
    put(in, kInCurrentL1 + 2 * k, current_[k], ValueType::kFloat32);
    put(in, kInPowerL1 + 2 * k, active_power(k), ValueType::kFloat32);
  }
  put(in, kInPowerTotal, active_power_total(), ValueType::kFloat32);
  put(in, kInPowerFactor, power_factor_, ValueType::kFloat32);
  put(in, kInFrequency, frequency_, ValueType::kFloat32);
  put(in, kInTemperature, static_cast<std::int64_t>(std::lround(temperature_c_ * 10.0)),
      ValueType::kInt16);
  std::uint16_t status = kStatusRunning;
  if (temperature_c_ > kAlarmTemperatureC) status |= kStatusAlarm;
  put(in, kInStatus, std::int64_t{status}, ValueType::kUInt16);

  auto& ho = image.holding;
  // Whole watt-hours, as a meter's counter shows them; the kWh register is the
  // same count so the two never disagree.
  const auto import_wh = static_cast<std::int64_t>(std::floor(energy_import_wh_));
  put(ho, kHoEnergyImport, import_wh, ValueType::kUInt64);
  put(ho, kHoEnergyExport,
      static_cast<std::int64_t>(std::fmod(std::floor(energy_export_wh_), 4294967296.0)),
      ValueType::kUInt32);  // wraps like a real 32-bit counter
  put(ho, kHoEnergyImportKwh, static_cast<double>(import_wh) / 1000.0, ValueType::kFloat64);
  put(ho, kHoVoltageL1Cdab, voltage_[0], ValueType::kFloat32, ByteOrder::kCDAB);
  put(ho, kHoCtRatio, kCtRatio, ValueType::kUInt16);
  put(ho, kHoDemandPower, static_cast<std::int64_t>(std::lround(demand_power_w_)),
      ValueType::kInt32);
  put(ho, kHoSerialNumber, std::string(kSerialNumber), ValueType::kString, ByteOrder::kABCD,
      kSerialRegisters);

  image.coils[0] = 0;            // relay_1
  image.coils[1] = 1;            // relay_2
  image.discrete_inputs[0] = 1;  // door_closed
  image.discrete_inputs[1] = 0;  // tamper
}

}  // namespace fieldgate::sim
