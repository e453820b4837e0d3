// The allowed range of every duration and size in the schema, in one place.
// A value outside is an error at load time (file:line:col, key, the range),
// never a surprise at run time: "1000000000h" as a poll interval overflows a
// nanosecond clock (a busy loop), "0s" spins, "1TiB" of memory is never there.
// Each range is what makes sense for the key's meaning, with room to spare;
// docs/CONFIGURATION.md lists them. Private to config/.
//
// A new key: add its range here (or write it in place, `{kMiB, kGiB}`) and
// read it with Section::duration(key, range) or Section::size(key, range).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "config/config.hpp"

namespace fieldgate::config {

/// [min, max] of a duration key, both included.
struct DurationRange {
  Duration min;
  Duration max;
};

/// [min, max] of a size key in bytes, both included.
struct SizeRange {
  std::uint64_t min;
  std::uint64_t max;
};

inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;
inline constexpr std::uint64_t kTiB = 1024 * kGiB;

namespace bounds {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

inline constexpr Duration kZero{0};
inline constexpr Duration kOneMs{1};
inline constexpr hours kDay{24};

// [[buses]]: silence between transactions (t3.5 at 300 baud is 128 ms).
inline constexpr DurationRange kInterFrameDelay{kZero, seconds{10}};

// [[devices]] and their points.
inline constexpr DurationRange kPollInterval{kOneMs, kDay};  // also a point's `interval`
inline constexpr DurationRange kResponseTimeout{kOneMs, minutes{5}};
inline constexpr DurationRange kByteTimeout{kOneMs, minutes{1}};
inline constexpr DurationRange kBackoffMax{kOneMs, hours{1}};
inline constexpr DurationRange kStaleAfter{kOneMs, kDay};
// Failed polls in a row before a device is "offline" on its availability topic.
inline constexpr std::int64_t kMaxOfflineAfter = 1000;
// Publish policies: min_interval and max_interval ("0s": none).
inline constexpr DurationRange kPublishInterval{kZero, kDay};
// A deadband as an amount: any finite number from 0; as a percentage, 0..1000 %.
inline constexpr double kMaxDeadbandPercent = 1000.0;
// A point's unit travels in every one of its readings, and may fill {unit}.
inline constexpr std::size_t kMaxUnitBytes = 64;

// [store]
inline constexpr DurationRange kCommitInterval{kOneMs, hours{1}};
inline constexpr DurationRange kMaxAge{kOneMs, kDay * 3650};  // ten years
inline constexpr DurationRange kSpillAfter{kOneMs, hours{1}};
inline constexpr SizeRange kMaxBytes{kMiB, kTiB};
inline constexpr SizeRange kSpillMemory{64 * kKiB, kGiB};
inline constexpr std::int64_t kMaxRows = 1'000'000'000;

// [mqtt]
inline constexpr DurationRange kKeepalive{kZero, seconds{65535}};  // a 16-bit count of seconds
inline constexpr DurationRange kConnectTimeout{kOneMs, minutes{5}};
inline constexpr DurationRange kReconnect{kOneMs, hours{1}};  // reconnect_min and _max
// Under systemd, TimeoutStopSec (30 s in the packaged unit) ends a longer drain.
inline constexpr DurationRange kDrainTimeout{kZero, minutes{5}};
inline constexpr DurationRange kStatusInterval{seconds{1}, kDay};
inline constexpr DurationRange kCommandMaxAge{kOneMs, kDay};
// A command sets one value: a few bytes, an id and a ts (the longest string
// value a shipped driver writes is 250 bytes).
inline constexpr SizeRange kCommandMaxSize{256, kMiB};
inline constexpr std::size_t kMaxMqttStringBytes = 65535;  // client_id, username
// An MQTT packet is at most 256 MiB (a four-byte remaining length); a payload
// below 1 KiB could not carry a device-json poll or a long error.
inline constexpr SizeRange kMaxPayload{kKiB, 256 * kMiB - kKiB};

// [homeassistant]: a Home Assistant restart republishes at most this often.
inline constexpr DurationRange kHaResendInterval{seconds{1}, kDay};

// [modbus_server]: each client holds a socket and a 260-byte frame buffer.
inline constexpr std::int64_t kMaxModbusClients = 1024;
inline constexpr DurationRange kModbusIdleTimeout{seconds{1}, hours{1}};
inline constexpr DurationRange kModbusMaxAge{kOneMs, kDay};
inline constexpr DurationRange kModbusPassthroughTimeout{milliseconds{10}, seconds{60}};
inline constexpr std::size_t kMaxAllowEntries = 256;
// [sparkplug] data_qos: 0 (the specification) or 1 (acknowledged end to end).
inline constexpr std::int64_t kSparkplugDataQosMin = 0;
inline constexpr std::int64_t kSparkplugDataQosMax = 1;
// [sparkplug] replay_rate: readings per second of historical replay; 0 = no limit.
inline constexpr std::int64_t kSparkplugReplayRateMax = 1'000'000;

// Library models (docs/MODELS.md): [gateway] model_dirs, and what one model
// file may hold. A model file is read like the configuration (4 MiB at most);
// the largest published meter maps have about 300 registers.
inline constexpr std::size_t kMaxModelDirs = 8;
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxModelPoints = 1000;
inline constexpr std::size_t kMaxProbeChecks = 8;
inline constexpr std::size_t kMaxProbeValues = 16;      // ranges or values of one check
inline constexpr std::size_t kMaxModelTextBytes = 512;  // description, source document

}  // namespace bounds
}  // namespace fieldgate::config
