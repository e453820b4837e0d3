// The SunSpec decoder on register words written out by hand: scale factors,
// "not implemented" values of each type, out-of-range scale factors, short
// models and model 160's repeating modules.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "drivers/sunspec/decoder.hpp"
#include "drivers/sunspec/image_writer.hpp"
#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {
namespace {

std::map<std::string, DecodedValue> decode(std::uint16_t id, const std::vector<std::uint16_t>& body,
                                           DecodeStats& stats, std::string_view prefix = "x") {
  std::vector<DecodedValue> out;
  decode_model(*find_model(id), prefix, body, out, stats);
  std::map<std::string, DecodedValue> by_name;
  for (auto& v : out) by_name.emplace(v.name, v);
  return by_name;
}

// Model 203's body (105 registers), every point "not implemented", by hand:
// int16 0x8000, acc32 0, bitfield32 0xFFFFFFFF, sunssf 0x8000.
std::vector<std::uint16_t> meter_203_not_implemented() {
  std::vector<std::uint16_t> body(105, 0x8000);  // 0..35: currents .. PF_SF
  for (int i = 36; i < 103; ++i) body[i] = 0;    // 36..101: the acc32 energies
  for (int i : {52, 69, 102}) body[i] = 0x8000;  // TotWh_SF, TotVAh_SF, TotVArh_SF
  body[103] = 0xFFFF;                            // Evt
  body[104] = 0xFFFF;
  return body;
}

TEST(SunSpecDecoderTest, AppliesScaleFactorsAndLeavesOutWhatIsNotImplemented) {
  auto body = meter_203_not_implemented();
  body[4] = static_cast<std::uint16_t>(-2);      // A_SF
  body[0] = 1234;                                // A = 12.34 A
  body[1] = 411;                                 // AphA = 4.11 A
  body[13] = static_cast<std::uint16_t>(-1);     // V_SF
  body[6] = 2301;                                // PhVphA = 230.1 V
  body[14] = 5000;                               // Hz
  body[15] = static_cast<std::uint16_t>(-2);     // Hz_SF: 50.00 Hz
  body[16] = static_cast<std::uint16_t>(-1500);  // W = -1500 W (exporting)
  body[20] = 0;                                  // W_SF
  body[52] = 1;                                  // TotWh_SF: tens of Wh
  body[36] = 0x0001;                             // TotWhExp = 0x0001E240 = 123456 -> 1234560 Wh
  body[37] = 0xE240;
  DecodeStats stats;
  const auto values = decode(203, body, stats, "meter");
  ASSERT_TRUE(values.contains("meter_current_total"));
  EXPECT_EQ(std::get<double>(values.at("meter_current_total").value), 12.34);
  EXPECT_EQ(values.at("meter_current_total").unit, "A");
  EXPECT_EQ(std::get<double>(values.at("meter_current_l1").value), 4.11);
  EXPECT_EQ(std::get<double>(values.at("meter_voltage_l1").value), 230.1);
  EXPECT_EQ(std::get<double>(values.at("meter_frequency").value), 50.0);
  EXPECT_EQ(std::get<std::int64_t>(values.at("meter_power_active_total").value), -1500);
  EXPECT_EQ(std::get<std::int64_t>(values.at("meter_energy_export_total").value), 1234560);
  EXPECT_EQ(values.at("meter_energy_export_total").unit, "Wh");
  // Everything else is absent: 0x8000 voltages, acc32 0 energies, the events.
  EXPECT_FALSE(values.contains("meter_voltage_l2"));
  EXPECT_FALSE(values.contains("meter_energy_import_total"));
  EXPECT_FALSE(values.contains("meter_events"));
  EXPECT_EQ(values.size(), 6U);
  EXPECT_EQ(stats.bad_scale, 0);
  EXPECT_GT(stats.not_implemented, 50);
}

TEST(SunSpecDecoderTest, AScaleFactorOutOfRangeOrNotImplementedLeavesItsPointsOut) {
  for (std::uint16_t sf : {std::uint16_t{11}, static_cast<std::uint16_t>(-11),
                           std::uint16_t{0x8000}, std::uint16_t{0x7FFF}}) {
    auto body = meter_203_not_implemented();
    body[0] = 1234;  // A, AphA implemented ...
    body[1] = 411;
    body[4] = sf;  // ... but A_SF unusable
    DecodeStats stats;
    const auto values = decode(203, body, stats);
    EXPECT_FALSE(values.contains("x_current_total")) << sf;
    EXPECT_EQ(stats.bad_scale, 2) << sf;
  }
}

TEST(SunSpecDecoderTest, NotImplementedValuesOfEveryWidth) {
  // Model 103: uint16 0xFFFF, int16 0x8000, acc32 0, enum16 0xFFFF, bitfield32 0xFFFFFFFF.
  std::vector<std::uint16_t> body(50, 0);
  const auto& def = *find_model(103);
  for (const auto& p : def.fixed) {
    write_not_implemented(p.type, std::span(body).subspan(p.offset, p.size));
  }
  DecodeStats stats;
  EXPECT_TRUE(decode(103, body, stats).empty());
  // Model 113 (floats): NaN, with any payload, is absent.
  std::vector<std::uint16_t> floats(60, 0x7FC0);
  for (std::size_t i = 1; i < floats.size(); i += 2) floats[i] = 0x0001;
  const auto& def113 = *find_model(113);
  for (const auto& p : def113.fixed) {
    if (p.type != PointType::kFloat32) {
      write_not_implemented(p.type, std::span(floats).subspan(p.offset, p.size));
    }
  }
  floats[0] = 0x4366;  // A = 230.5 as float32 ABCD
  floats[1] = 0x8000;
  const auto values = decode(113, floats, stats);
  ASSERT_EQ(values.size(), 1U);
  EXPECT_EQ(std::get<double>(values.at("x_current_total").value), 230.5);
}

TEST(SunSpecDecoderTest, StringsStopAtNulAndUnprintableBytesAreReplaced) {
  std::vector<std::uint16_t> body(66, 0);
  body[0] = 0x4142;  // Mn "AB\x01"
  body[1] = 0x0100;
  body[16] = 0x4D44;  // Md "MD"
  body[64] = 0xFFFF;  // DA not implemented
  DecodeStats stats;
  const auto values = decode(1, body, stats, "common");
  EXPECT_EQ(std::get<std::string>(values.at("common_manufacturer").value), "AB?");
  EXPECT_EQ(std::get<std::string>(values.at("common_model").value), "MD");
  EXPECT_FALSE(values.contains("common_serial_number"));  // all NUL
  EXPECT_FALSE(values.contains("common_device_address"));
}

TEST(SunSpecDecoderTest, AShortModelDecodesWhatItHolds) {
  auto body = meter_203_not_implemented();
  body[4] = 0;
  body[0] = 7;
  body.resize(3);  // the A_SF is beyond the model's length
  DecodeStats stats;
  const auto values = decode(203, body, stats);
  EXPECT_TRUE(values.empty());
  EXPECT_EQ(stats.bad_scale, 1);         // A: its scale factor is not there
  EXPECT_GT(stats.not_implemented, 50);  // AphA, AphB (0x8000) and all past the end
}

TEST(SunSpecDecoderTest, Model160ModulesRepeatToFillTheLength) {
  ModelImageWriter writer(*find_model(160), 2);
  writer.set_scale("DCW_SF", 1);
  writer.set("N", 2);
  writer.set("DCW", 1230, 1);  // raw 123 with sf 1
  writer.set("DCW", 450, 2);
  writer.set_string("IDStr", "East", 1);
  const auto& words = writer.words();
  EXPECT_EQ(words[0], 160);
  EXPECT_EQ(words[1], 8 + 2 * 20);
  EXPECT_EQ(words[2 + 8 + 11], 123);  // module 1's DCW, by the definitions' offsets
  DecodeStats stats;
  const auto values =
      decode(160, std::vector<std::uint16_t>(words.begin() + 2, words.end()), stats, "mppt");
  EXPECT_EQ(std::get<std::int64_t>(values.at("mppt_1_dc_power").value), 1230);
  EXPECT_EQ(std::get<std::int64_t>(values.at("mppt_2_dc_power").value), 450);
  EXPECT_EQ(std::get<std::string>(values.at("mppt_1_module_name").value), "East");
  EXPECT_EQ(std::get<std::int64_t>(values.at("mppt_modules").value), 2);
  EXPECT_FALSE(values.contains("mppt_1_dc_current"));            // DCA_SF not implemented
  EXPECT_EQ(repeat_count(*find_model(160), 8 + 2 * 20 + 7), 2);  // an incomplete one is not read
}

TEST(SunSpecModelTableTest, HoldsTheRequiredModelsWithTheirDefinedLengths) {
  const std::map<int, int> lengths{{1, 66},    {101, 50},  {102, 50},  {103, 50},  {111, 60},
                                   {112, 60},  {113, 60},  {120, 26},  {121, 30},  {122, 44},
                                   {123, 24},  {124, 24},  {201, 105}, {202, 105}, {203, 105},
                                   {204, 105}, {211, 124}, {212, 124}, {213, 124}, {214, 124}};
  for (const auto& [id, length] : lengths) {
    const auto* def = find_model(static_cast<std::uint16_t>(id));
    ASSERT_NE(def, nullptr) << id;
    EXPECT_EQ(def->fixed_length, length) << id;
  }
  EXPECT_EQ(find_model(160)->repeat_length, 20);
  EXPECT_EQ(find_model(64999), nullptr);
  EXPECT_EQ(model_name(126), "volt_var");
  EXPECT_EQ(definitions_commit().size(), 40U);
}

}  // namespace
}  // namespace fieldgate::sunspec
