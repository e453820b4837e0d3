// The subscriber-side checker of the fault suite: given every message a
// subscriber received and what the gateway's store says it accepted, counts
// per topic what arrived, what is missing, what came twice and what came out
// of order.
//
// DESIGN NOTES: what can be asserted, and why
//
//  1. Accepted = committed. A reading gets its seq when it is appended and is
//     accepted when the group commit holding it succeeds; meta.next_seq_used
//     is written in that same transaction. So after a run, the accepted seqs
//     are [1, next_seq - 1] of the store file (`fieldgate queue stats --json`)
//     less the skipped ones: a SIGKILL loses only readings that were never
//     committed, and the next process starts above the seqs the killed one
//     had reserved (`reserved_upto`, read by FaultRig::kill_gateway), so
//     those seqs were never visible to anyone and are never used. Every other
//     seq in that range is in exactly one of: received by the subscriber,
//     still buffered (`queue ls`), counted as dropped (meta.dropped_*), or
//     lost.
//  2. Lost = accepted − received − still buffered − dropped. The assertion is
//     lost == 0. The store counts drops but does not say which seqs; with
//     claims (Store::claim) it never drops a reading it handed to the broker,
//     so `missing == dropped` holds exactly: missing counts accepted seqs
//     neither received nor buffered.
//  3. A broker that is SIGKILLed may lose messages it had already confirmed
//     (PUBACK/PUBREC) and not yet delivered or saved: that is the broker's
//     loss, not the gateway's. The caller passes the seqs that a killed broker
//     had confirmed (MqttTap on the link); a missing seq among them is counted
//     as lost_by_broker, anything else as lost.
//  4. Duplicates: a seq received more than once. At QoS 1 allowed (at least
//     once). At QoS 2 they can only come from a new MQTT session (after a
//     reconnect with a clean session, a broker that lost its state, or a new
//     gateway process), so "0 duplicates at QoS 2" is asserted only where the
//     session survives.
//  5. Order: per topic, the first arrival of each seq must come after the
//     first arrivals of all smaller seqs of that topic (re-deliveries do not
//     count). One exception, and only with proof from the subscriber's link
//     (a TcpProxy + MqttTap in front of the subscriber): the broker itself
//     sent a newer message of the topic before an older one it had queued
//     earlier for this subscriber. mosquitto numbers a client's messages
//     (packet ids) in the order it queues them, so on one connection a PUBLISH
//     whose packet id is older than one already sent was overtaken by the
//     broker. mosquitto 2.0.11 does that (docs/RELIABILITY.md, "Order"): its
//     in-flight quota goes above 0 while messages are still queued when a
//     subscriber acknowledges out of turn (a QoS 1 status message among QoS 2
//     readings), and the next message released skips the queue. An arrival
//     counts as reordered_by_broker only if *every* newer seq of its topic
//     that arrived first overtook it that way; anything else is reordered.
//     A gateway that published out of order cannot hide behind this: the
//     broker would have queued the newer message first (the older packet id).
//     (There is no excuse for a broker restoring its snapshot: the restored
//     queue is sent first, in order. The late arrivals once counted as
//     "restored late" were this same overtaking.)
//  6. Seqs above next_seq − 1 or a payload without a seq are "unexpected":
//     always an error.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_tap.hpp"

namespace fieldgate::testing {

/// What the store says after the run.
struct Accepted {
  std::uint64_t last_seq = 0;              // next_seq - 1: every seq in [1, last_seq] was accepted
  std::uint64_t dropped = 0;               // dropped_oldest + dropped_newest + dropped_expired
  std::set<std::uint64_t> still_buffered;  // committed, not yet confirmed by a broker
  std::uint64_t reserved_upto = 0;         // `queue stats` reserved_upto (0: none)
  /// Seqs a killed gateway had reserved beyond those it handed out: the next
  /// one starts above them, so none of them is accepted (SqliteStore
  /// invariant 1). In spill mode they include readings lost with memory.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skipped;  // [first, last]
};

struct TopicCounts {
  std::uint64_t received = 0;    // messages
  std::uint64_t distinct = 0;    // seqs
  std::uint64_t duplicates = 0;  // received - distinct
  std::uint64_t reordered = 0;   // out of order, not explained by the broker
  std::uint64_t reordered_by_broker = 0;
};

/// Per seq, the newer seqs of its topic that the broker sent to the
/// subscriber before it on the same connection although it had queued them
/// after it (design note 5). Empty when the broker kept its order.
using BrokerOvertakes = std::map<std::uint64_t, std::set<std::uint64_t>>;

struct CheckReport {
  std::uint64_t accepted = 0;  // seqs handed out: 1..last_seq less those skipped
  std::uint64_t received = 0;
  std::uint64_t distinct = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;            // out of order, not explained: always an error
  std::uint64_t reordered_by_broker = 0;  // out of order because the broker overtook them
  std::uint64_t buffered = 0;             // accepted, still in the store
  std::uint64_t dropped = 0;              // as counted by the store
  std::uint64_t missing = 0;              // accepted, neither received nor buffered
  std::uint64_t lost_by_broker = 0;       // missing, but confirmed by a broker later killed
  std::int64_t lost = 0;  // missing - lost_by_broker - dropped (may be < 0: over-counted drops)
  std::uint64_t unexpected = 0;
  std::uint64_t skipped = 0;                  // in Accepted::skipped, not received
  std::uint64_t received_in_skipped = 0;      // in Accepted::skipped, yet received
  std::vector<std::uint64_t> missing_sample;  // the first few unexplained
  std::vector<std::string> reordered_sample;  // the first few unexplained: "topic: seq after seq"
  std::map<std::string, TopicCounts> topics;

  [[nodiscard]] std::string summary() const;
};

/// Seqs received more than once (status topics ignored).
[[nodiscard]] std::uint64_t count_duplicates(const std::vector<ReceivedMessage>& messages);

/// From the PUBLISH packets the broker sent on the subscriber's link, in
/// order: which seqs it overtook with newer ones of the same topic (packet ids
/// compared per connection, across their 16-bit wrap).
[[nodiscard]] BrokerOvertakes broker_overtakes(const std::vector<BrokerPublish>& sent);

/// Messages on topics containing "/status" are ignored (birth, stats).
[[nodiscard]] CheckReport check_delivery(
    const std::vector<ReceivedMessage>& messages, const Accepted& accepted,
    const std::set<std::uint64_t>& confirmed_by_killed_broker = {},
    const BrokerOvertakes& overtaken_by_broker = {});

}  // namespace fieldgate::testing
