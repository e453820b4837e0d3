#include "config/topic_template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace fieldgate::config {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(TopicTemplateValidate, AcceptsEveryPlaceholderOfItsScope) {
  EXPECT_THAT(validate_topic_template("fieldgate/{gateway}/{site}/{device}/{point}/{unit}",
                                      TopicScope::kPoint),
              IsEmpty());
  EXPECT_THAT(validate_topic_template("plant/{site}/{gateway}/{device}", TopicScope::kDevice),
              IsEmpty());
  EXPECT_THAT(validate_topic_template("fieldgate/{gateway}/status", TopicScope::kGateway),
              IsEmpty());
  EXPECT_THAT(validate_topic_template("plain/topic", TopicScope::kGateway), IsEmpty());
  EXPECT_THAT(validate_topic_template("{device}-{point}", TopicScope::kPoint), IsEmpty());
}

TEST(TopicTemplateValidate, RejectsPlaceholdersOutsideTheirScope) {
  EXPECT_THAT(validate_topic_template("a/{point}", TopicScope::kDevice),
              HasSubstr("cannot use {point} here"));
  EXPECT_THAT(validate_topic_template("a/{unit}", TopicScope::kDevice),
              HasSubstr("cannot use {unit}"));
  EXPECT_THAT(validate_topic_template("a/{device}/status", TopicScope::kGateway),
              HasSubstr("cannot use {device} here; use {gateway}, {site}"));
}

TEST(TopicTemplateValidate, RejectsUnknownAndUnclosedPlaceholders) {
  EXPECT_THAT(validate_topic_template("a/{devise}", TopicScope::kPoint),
              HasSubstr("unknown placeholder {devise}"));
  EXPECT_THAT(validate_topic_template("a/{}", TopicScope::kPoint),
              HasSubstr("unknown placeholder {}"));
  EXPECT_THAT(validate_topic_template("a/{device", TopicScope::kPoint),
              HasSubstr("unclosed placeholder at column 3"));
  EXPECT_THAT(validate_topic_template("a/{dev{ice}", TopicScope::kPoint),
              HasSubstr("unclosed placeholder"));
  EXPECT_THAT(validate_topic_template("a/device}", TopicScope::kPoint),
              HasSubstr("'}' without an opening '{' at column 9"));
}

TEST(TopicTemplateValidate, RejectsWildcardsDollarEmptyLevelsAndNul) {
  EXPECT_THAT(validate_topic_template("a/+/b", TopicScope::kPoint), HasSubstr("wildcards"));
  EXPECT_THAT(validate_topic_template("a/#", TopicScope::kPoint), HasSubstr("'#'"));
  EXPECT_THAT(validate_topic_template("$SYS/x", TopicScope::kPoint), HasSubstr("'$'"));
  EXPECT_THAT(validate_topic_template("a//b", TopicScope::kPoint), HasSubstr("empty level"));
  EXPECT_THAT(validate_topic_template("/a", TopicScope::kPoint), HasSubstr("empty level"));
  EXPECT_THAT(validate_topic_template("a/", TopicScope::kPoint), HasSubstr("empty level"));
  EXPECT_THAT(validate_topic_template("", TopicScope::kPoint), HasSubstr("empty"));
  EXPECT_THAT(validate_topic_template(std::string("a\0b", 3), TopicScope::kPoint),
              HasSubstr("NUL"));
}

TEST(TopicTemplateValidate, RejectsTopicsLongerThanMqttAllows) {
  EXPECT_THAT(validate_topic_template(std::string(65535, 'a'), TopicScope::kPoint), IsEmpty());
  EXPECT_THAT(validate_topic_template(std::string(65536, 'a'), TopicScope::kPoint),
              HasSubstr("65536 bytes"));
}

TEST(TopicTemplateExpand, ReplacesEveryPlaceholder) {
  const TopicVars vars{"gw1", "plant-a", "meter", "voltage_l1", "V"};
  EXPECT_EQ(expand_topic_template("fieldgate/{gateway}/{site}/{device}/{point}/{unit}", vars),
            "fieldgate/gw1/plant-a/meter/voltage_l1/V");
  EXPECT_EQ(expand_topic_template("{device}{device}-{point}", vars), "metermeter-voltage_l1");
  EXPECT_EQ(expand_topic_template("no/placeholders", vars), "no/placeholders");
}

TEST(TopicTemplateExpand, ValuesCannotChangeTheTopicStructure) {
  const std::string unit_with_nul("a\0b", 3);
  const TopicVars vars{"gw", "", "dev+1", "p#", "m/s"};
  EXPECT_EQ(expand_topic_template("x/{device}/{point}/{unit}", vars), "x/dev_1/p_/m_s");
  const TopicVars nul{"gw", "", "d", "p", unit_with_nul};
  EXPECT_EQ(expand_topic_template("{unit}", nul), "a_b");
  // Multi-byte UTF-8 passes unchanged.
  const TopicVars celsius{"gw", "", "d", "t", "\u00b0C"};
  EXPECT_EQ(expand_topic_template("{point}/{unit}", celsius), "t/\u00b0C");
}

TEST(TopicTemplateExpand, EmptyValuesStayEmpty) {
  const TopicVars vars{"gw", "", "d", "p", ""};
  EXPECT_EQ(expand_topic_template("{gateway}/{site}/{device}", vars), "gw//d");
}

}  // namespace
}  // namespace fieldgate::config
