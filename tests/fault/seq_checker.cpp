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

}  // namespace

CheckReport check_delivery(const std::vector<ReceivedMessage>& messages, const Accepted& accepted,
                           const std::set<std::uint64_t>& confirmed_by_killed_broker) {
  CheckReport r;
  r.accepted = accepted.last_seq;
  r.dropped = accepted.dropped;
  std::set<std::uint64_t> seen;
  std::map<std::string, std::uint64_t> last_first;  // per topic
  std::map<std::string, std::set<std::uint64_t>> seen_on;
  for (const auto& m : messages) {
    if (m.topic.find("/status") != std::string::npos) continue;
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
    if (seq < last) {
      if (confirmed_by_killed_broker.contains(seq)) {
        ++r.restored_late;
      } else {
        ++r.reordered;
        ++t.reordered;
      }
    } else {
      last = seq;
    }
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
    if (m.topic.find("/status") != std::string::npos) continue;
    if (!seen.insert(json_seq(m.payload)).second) ++duplicates;
  }
  return duplicates;
}

std::string CheckReport::summary() const {
  std::string s = fmt::format(
      "accepted {} (seq 1..{}, skipped after a kill {}), received {} messages / {} distinct, "
      "buffered {}, dropped {}, "
      "missing {} (lost by a killed broker {}), lost {}, duplicates {}, reordered {}, restored "
      "late {}, unexpected {}",
      accepted, accepted + skipped + received_in_skipped, skipped, received, distinct, buffered,
      dropped, missing, lost_by_broker, lost, duplicates, reordered, restored_late, unexpected);
  if (!missing_sample.empty()) {
    s += "; first missing seqs not confirmed by a killed broker:";
    for (auto seq : missing_sample) s += fmt::format(" {}", seq);
  }
  for (const auto& [topic, t] : topics) {
    if (t.reordered == 0) continue;
    s += fmt::format("\n  {}: {} received, {} distinct, {} duplicates, {} reordered", topic,
                     t.received, t.distinct, t.duplicates, t.reordered);
  }
  return s;
}

}  // namespace fieldgate::testing
