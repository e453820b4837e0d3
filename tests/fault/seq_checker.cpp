#include "tests/fault/seq_checker.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tests/support/mqtt_tap.hpp"

namespace fieldgate::testing {
namespace {

bool in_ranges(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges,
               std::uint64_t seq) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [seq](const auto& r) { return seq >= r.first && seq <= r.second; });
}

struct Queued {
  std::int64_t order = 0;  // packet id, unwrapped: the broker's queue order on this connection
  std::uint64_t seq = 0;
};

}  // namespace

BrokerOvertakes broker_overtakes(const std::vector<BrokerPublish>& sent) {
  struct Connection {
    std::uint16_t last_id = 0;
    std::int64_t last_order = -1;  // none yet
    std::set<std::int64_t> sent;   // first transmissions only
    std::int64_t newest = -1;      // highest order sent so far
    std::map<std::string, std::vector<Queued>> by_topic;
  };
  std::map<int, Connection> connections;
  BrokerOvertakes out;
  for (const auto& p : sent) {
    // QoS 0 has no packet id, and a payload without seq is not a reading.
    if (p.qos == 0 || p.seq == 0 || not_a_reading(p.topic)) continue;
    auto& c = connections[p.connection];
    // mosquitto counts packet ids up by one per message queued for a client,
    // wrapping at 65535; near ids differ by far less than half the range.
    const std::int64_t order =
        c.last_order < 0
            ? p.packet_id
            : c.last_order +
                  static_cast<std::int16_t>(static_cast<std::uint16_t>(p.packet_id - c.last_id));
    c.last_id = p.packet_id;
    c.last_order = order;
    if (!c.sent.insert(order).second) continue;  // sent again (DUP): its place is its first one
    auto& topic = c.by_topic[p.topic];
    if (order < c.newest) {
      // Queued before messages already sent: overtaken by the newer seqs among them.
      for (const auto& earlier : topic) {
        if (earlier.order > order && earlier.seq > p.seq) out[p.seq].insert(earlier.seq);
      }
    }
    c.newest = std::max(c.newest, order);
    topic.push_back({order, p.seq});
  }
  return out;
}

CheckReport check_delivery(const std::vector<ReceivedMessage>& messages, const Accepted& accepted,
                           const std::set<std::uint64_t>& confirmed_by_killed_broker,
                           const BrokerOvertakes& overtaken_by_broker) {
  CheckReport r;
  r.accepted = accepted.last_seq;
  r.dropped = accepted.dropped;
  std::set<std::uint64_t> seen;
  std::map<std::string, std::uint64_t> last_first;         // per topic
  std::map<std::string, std::set<std::uint64_t>> seen_on;  // first arrivals per topic
  for (const auto& m : messages) {
    if (not_a_reading(m.topic)) continue;
    ++r.received;
    auto& t = r.topics[m.topic];
    ++t.received;
    const auto seq = json_seq(m.payload);
    if (seq == 0 || seq > accepted.last_seq) {
      ++r.unexpected;
      continue;
    }
    if (in_ranges(accepted.skipped, seq)) ++r.received_in_skipped;
    if (!seen.insert(seq).second) {
      ++r.duplicates;
      ++t.duplicates;
      continue;
    }
    ++t.distinct;
    auto& last = last_first[m.topic];
    auto& on_topic = seen_on[m.topic];
    if (seq < last) {
      // Design note 5: explained only if every newer seq that came first overtook it.
      const auto it = overtaken_by_broker.find(seq);
      const bool by_broker =
          it != overtaken_by_broker.end() &&
          std::all_of(on_topic.upper_bound(seq), on_topic.end(),
                      [&](std::uint64_t newer) { return it->second.contains(newer); });
      if (by_broker) {
        ++r.reordered_by_broker;
        ++t.reordered_by_broker;
      } else {
        ++r.reordered;
        ++t.reordered;
        if (r.reordered_sample.size() < 10) {
          r.reordered_sample.push_back(fmt::format("{}: {} after {}", m.topic, seq, last));
        }
      }
    } else {
      last = seq;
    }
    on_topic.insert(seq);
  }
  r.distinct = seen.size();
  for (std::uint64_t seq = 1; seq <= accepted.last_seq; ++seq) {
    if (seen.contains(seq)) continue;
    if (accepted.still_buffered.contains(seq)) {
      ++r.buffered;
      continue;
    }
    if (in_ranges(accepted.skipped, seq)) {
      ++r.skipped;
      continue;
    }
    ++r.missing;
    if (confirmed_by_killed_broker.contains(seq)) {
      ++r.lost_by_broker;
    } else if (r.missing_sample.size() < 20) {
      r.missing_sample.push_back(seq);
    }
  }
  r.accepted = accepted.last_seq - r.skipped - r.received_in_skipped;
  r.lost = static_cast<std::int64_t>(r.missing - r.lost_by_broker) -
           static_cast<std::int64_t>(r.dropped);
  return r;
}

std::uint64_t count_duplicates(const std::vector<ReceivedMessage>& messages) {
  std::set<std::uint64_t> seen;
  std::uint64_t duplicates = 0;
  for (const auto& m : messages) {
    if (not_a_reading(m.topic)) continue;
    if (!seen.insert(json_seq(m.payload)).second) ++duplicates;
  }
  return duplicates;
}

std::string CheckReport::summary() const {
  std::string s = fmt::format(
      "accepted {} (seq 1..{}, skipped after a kill {}), received {} messages / {} distinct, "
      "buffered {}, dropped {}, "
      "missing {} (lost by a killed broker {}), lost {}, duplicates {}, reordered {}, reordered "
      "by the broker {}, unexpected {}",
      accepted, accepted + skipped + received_in_skipped, skipped, received, distinct, buffered,
      dropped, missing, lost_by_broker, lost, duplicates, reordered, reordered_by_broker,
      unexpected);
  if (!missing_sample.empty()) {
    s += "; first missing seqs not confirmed by a killed broker:";
    for (auto seq : missing_sample) s += fmt::format(" {}", seq);
  }
  if (!reordered_sample.empty()) {
    s += "; first out of order without the broker's overtaking to explain them:";
    for (const auto& line : reordered_sample) s += "\n  " + line;
  }
  for (const auto& [topic, t] : topics) {
    if (t.reordered == 0 && t.reordered_by_broker == 0) continue;
    s += fmt::format(
        "\n  {}: {} received, {} distinct, {} duplicates, {} reordered, {} reordered by the broker",
        topic, t.received, t.distinct, t.duplicates, t.reordered, t.reordered_by_broker);
  }
  return s;
}

}  // namespace fieldgate::testing
