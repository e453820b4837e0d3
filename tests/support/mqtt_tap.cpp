#include "tests/support/mqtt_tap.hpp"

#include <cstdlib>

namespace fieldgate::testing {
namespace {

constexpr int kPublish = 3, kPuback = 4, kPubrec = 5;

/// Remaining length (MQTT variable byte integer) at `pos`; false if incomplete.
bool remaining_length(const std::string& b, std::size_t pos, std::size_t& value,
                      std::size_t& used) {
  value = 0;
  std::size_t mult = 1;
  for (used = 1; used <= 4; ++used) {
    if (pos + used > b.size()) return false;
    const auto byte = static_cast<unsigned char>(b[pos + used - 1]);
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) == 0) return true;
    mult *= 128;
  }
  return false;
}

std::uint16_t u16(const std::string& b, std::size_t pos) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(b[pos]) << 8) |
                                    static_cast<unsigned char>(b[pos + 1]));
}

}  // namespace

std::uint64_t json_seq(const std::string& payload) {
  const auto at = payload.find("\"seq\":");
  if (at == std::string::npos) return 0;
  return std::strtoull(payload.c_str() + at + 6, nullptr, 10);
}

bool not_a_reading(const std::string& topic) {
  return topic.find("/status") != std::string::npos || topic.ends_with("/availability");
}

void MqttTap::bytes(int id, bool from_client, const char* data, std::size_t n) {
  std::lock_guard lock(mutex_);
  auto& c = connections_[id];
  c.in[from_client ? 0 : 1].append(data, n);
  parse(id, c, from_client);
}

void MqttTap::parse(int id, Connection& c, bool from_client) {
  std::string& b = c.in[from_client ? 0 : 1];
  std::size_t pos = 0;
  for (;;) {
    std::size_t len = 0, used = 0;
    if (pos >= b.size() || !remaining_length(b, pos + 1, len, used)) break;
    const std::size_t body = pos + 1 + used;
    if (body + len > b.size()) break;
    const auto header = static_cast<unsigned char>(b[pos]);
    const int type = header >> 4;
    if (from_client && type == kPublish && len >= 2) {
      const int qos = (header >> 1) & 3;
      const std::size_t topic_len = u16(b, body);
      std::size_t at = body + 2 + topic_len;
      std::uint16_t pid = 0;
      if (qos > 0) {
        pid = u16(b, at);
        at += 2;
      }
      ++publishes_;
      const auto seq = json_seq(b.substr(at, body + len - at));
      if (qos > 0 && seq != 0) c.by_pid[pid] = seq;
    } else if (!from_client && type == kPublish && len >= 2) {
      BrokerPublish p;
      p.connection = id;
      p.qos = (header >> 1) & 3;
      p.dup = (header & 0x08) != 0;
      const std::size_t topic_len = u16(b, body);
      std::size_t at = body + 2 + topic_len;
      if (at + (p.qos > 0 ? 2 : 0) <= body + len) {  // else malformed: not recorded
        p.topic = b.substr(body + 2, topic_len);
        if (p.qos > 0) {
          p.packet_id = u16(b, at);
          at += 2;
        }
        p.seq = json_seq(b.substr(at, body + len - at));
        broker_publishes_.push_back(std::move(p));
      }
    } else if (!from_client && (type == kPuback || type == kPubrec) && len >= 2) {
      const auto it = c.by_pid.find(u16(b, body));
      if (it != c.by_pid.end()) {
        confirmed_.try_emplace(it->second, generation_);
        c.by_pid.erase(it);
      }
    }
    pos = body + len;
  }
  b.erase(0, pos);
}

void MqttTap::closed(int id) {
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

void MqttTap::broker_killed() {
  std::lock_guard lock(mutex_);
  ++generation_;
}

std::set<std::uint64_t> MqttTap::confirmed_by_killed_broker() const {
  std::lock_guard lock(mutex_);
  std::set<std::uint64_t> out;
  for (const auto& [seq, gen] : confirmed_) {
    if (gen < generation_) out.insert(seq);
  }
  return out;
}

std::set<std::uint64_t> MqttTap::confirmed() const {
  std::lock_guard lock(mutex_);
  std::set<std::uint64_t> out;
  for (const auto& [seq, gen] : confirmed_) out.insert(seq);
  return out;
}

std::uint64_t MqttTap::publishes() const {
  std::lock_guard lock(mutex_);
  return publishes_;
}

std::vector<BrokerPublish> MqttTap::broker_publishes() const {
  std::lock_guard lock(mutex_);
  return broker_publishes_;
}

}  // namespace fieldgate::testing
