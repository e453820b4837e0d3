// The layers of the source tree depend one way only:
//   core ← config ← drivers ← bridge ← queue ← gateway
// (docs/ARCHITECTURE.md, "Layers"). A file may include headers of its own
// layer and of the layers to its left, never of one to its right. This test
// reads every source file and fails on an include against that direction,
// naming the file, the line and the header.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace fieldgate {
namespace {

constexpr std::array<std::string_view, 6> kLayers{"core",   "config", "drivers",
                                                  "bridge", "queue",  "gateway"};

std::optional<std::size_t> rank_of(std::string_view folder) {
  for (std::size_t i = 0; i < kLayers.size(); ++i) {
    if (kLayers[i] == folder) return i;
  }
  return std::nullopt;
}

struct Include {
  std::string file;  // relative to the source root
  int line;
  std::string header;  // as written: "drivers/modbus/codec.hpp"
};

// Every `#include "a/b.hpp"` of every .cpp/.hpp under `layer`.
std::vector<Include> includes_of(const std::filesystem::path& root, std::string_view layer) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Include> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root / layer)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
    std::ifstream in(entry.path());
    std::string text;
    int line = 0;
    while (std::getline(in, text)) {
      ++line;
      std::smatch m;
      if (std::regex_search(text, m, kInclude)) {
        out.push_back({std::filesystem::relative(entry.path(), root).string(), line, m[1]});
      }
    }
  }
  return out;
}

std::string_view folder_of(std::string_view header) {
  return header.substr(0, header.find('/'));
}

// The includes of a file in layer `rank` that point to a layer above it, as
// "file:line: header".
std::vector<std::string> violations(std::size_t rank, const std::vector<Include>& includes) {
  std::vector<std::string> out;
  for (const auto& inc : includes) {
    const auto target = rank_of(folder_of(inc.header));
    if (target && *target > rank) {
      out.push_back(inc.file + ":" + std::to_string(inc.line) + ": \"" + inc.header + "\"");
    }
  }
  return out;
}

TEST(LayeringTest, EveryLayerIncludesOnlyItselfAndTheLayersBelow) {
  const std::filesystem::path root = FIELDGATE_SOURCE_DIR;
  std::size_t checked = 0;
  for (std::size_t rank = 0; rank < kLayers.size(); ++rank) {
    const auto includes = includes_of(root, kLayers[rank]);
    checked += includes.size();
    for (const auto& bad : violations(rank, includes)) {
      ADD_FAILURE() << bad << ": " << kLayers[rank] << "/ includes a layer above it";
    }
  }
  // The walk found the tree: a moved source root must not make this pass empty.
  EXPECT_GT(checked, 200U);
}

// Outside drivers/, only the drivers' common headers (driver.hpp,
// registry.hpp, simulator.hpp): a drivers/<kind>/ folder is reached through
// the registry, so that adding a driver touches no other layer.
TEST(LayeringTest, NoLayerButDriversIncludesADriverKindsHeader) {
  const std::filesystem::path root = FIELDGATE_SOURCE_DIR;
  static const std::regex kKindHeader(R"re(^drivers/[^/]+/)re");
  std::size_t checked = 0;
  for (const auto layer : kLayers) {
    if (layer == "drivers") continue;
    for (const auto& inc : includes_of(root, layer)) {
      ++checked;
      EXPECT_FALSE(std::regex_search(inc.header, kKindHeader))
          << inc.file << ":" << inc.line << ": \"" << inc.header << "\" is a driver's own header";
    }
  }
  EXPECT_GT(checked, 200U);
  EXPECT_TRUE(std::regex_search(std::string("drivers/modbus/codec.hpp"), kKindHeader));
  EXPECT_FALSE(std::regex_search(std::string("drivers/registry.hpp"), kKindHeader));
}

// The MQTT client seam (bridge/mqtt_client.hpp): a client library's headers,
// and the private header of the seam's implementation on it, are included by
// that implementation and the factory that picks it, nowhere else in the
// layers (the bench and tests may use a library as a bare client of their own).
struct SeamLibrary {
  std::string_view name;
  std::string_view include_pattern;
  std::vector<std::string_view> allowed;
};

void expect_only_seam_includes(const SeamLibrary& library) {
  const std::filesystem::path root = FIELDGATE_SOURCE_DIR;
  const std::regex pattern(std::string(R"re(^\s*#\s*include\s*()re") +
                           std::string(library.include_pattern) + ")");
  std::size_t files = 0;
  std::size_t found = 0;
  for (const auto layer : kLayers) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / layer)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      ++files;
      const auto file = std::filesystem::relative(entry.path(), root).string();
      const bool may =
          std::find(library.allowed.begin(), library.allowed.end(), file) != library.allowed.end();
      std::ifstream in(entry.path());
      std::string text;
      for (int line = 1; std::getline(in, text); ++line) {
        if (!std::regex_search(text, pattern)) continue;
        ++found;
        EXPECT_TRUE(may) << file << ":" << line << ": " << text << " (" << library.name
                         << " belongs behind bridge/mqtt_client.hpp)";
      }
    }
  }
  EXPECT_GT(files, 100U);
  EXPECT_GT(found, 0U);  // the implementation itself: the pattern still matches
}

TEST(LayeringTest, OnlyTheSeamsPahoImplementationIncludesPaho) {
  expect_only_seam_includes(
      {"Paho",
       R"re(<mqtt/|<MQTTAsync\.h>|<MQTTClient\.h>|"bridge/paho_client\.hpp")re",
       {"bridge/paho_client.hpp", "bridge/paho_client.cpp", "bridge/mqtt_client_factory.cpp"}});
}

TEST(LayeringTest, OnlyTheSeamsMosquittoImplementationIncludesLibmosquitto) {
  expect_only_seam_includes(
      {"libmosquitto",
       R"re(<mosquitto\.h>|<mosquittopp\.h>|<mqtt_protocol\.h>|"bridge/mosquitto_client(_impl)?\.hpp")re",
       {"bridge/mosquitto_client.hpp", "bridge/mosquitto_client_impl.hpp",
        "bridge/mosquitto_client.cpp", "bridge/mosquitto_requests.cpp",
        "bridge/mqtt_client_factory.cpp"}});
}

TEST(LayeringTest, AnIncludeAgainstTheDirectionIsReported) {
  const std::vector<Include> includes{{"config/a.cpp", 3, "bridge/store.hpp"},
                                      {"config/a.cpp", 4, "core/reading.hpp"},
                                      {"config/a.cpp", 5, "config/config.hpp"},
                                      {"config/a.cpp", 6, "gateway/version.hpp"},
                                      {"config/a.cpp", 7, "fuzz_input.hpp"}};
  EXPECT_EQ(violations(*rank_of("config"), includes),
            (std::vector<std::string>{"config/a.cpp:3: \"bridge/store.hpp\"",
                                      "config/a.cpp:6: \"gateway/version.hpp\""}));
  EXPECT_TRUE(violations(*rank_of("gateway"), includes).empty());
}

}  // namespace
}  // namespace fieldgate
