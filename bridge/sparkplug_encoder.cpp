#include "bridge/sparkplug_encoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "core/clock.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

class SparkplugEncoder final : public PayloadEncoder {
 public:
  explicit SparkplugEncoder(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  [[nodiscard]] std::size_t group(std::span<const Reading> rows, bool may_wait) const override {
    const Reading& first = rows.front();
    std::set<std::string_view> points{first.point};
    std::size_t end = 1;
    while (end < rows.size() && rows[end].device == first.device &&
           points.insert(rows[end].point).second) {
      ++end;
    }
    if (end == rows.size() && may_wait) return 0;  // the poll may go on past the peek
    return end;
  }

  void encode(std::span<const Reading> readings, OutgoingMessage& message) override {
    if (!node_) {
      message.refusal = "payload \"sparkplug-b\" without a [sparkplug] edge node";
      return;
    }
    const auto catalog = node_->catalog();
    const std::string& device = readings.front().device;
    const DeviceDef* def = catalog->find(device);
    if (def == nullptr) {
      // Buffered before a reload removed the device: no birth describes it.
      message.refusal = fmt::format("device {:?} is not in the Sparkplug births", device);
      return;
    }
    if (const auto died = node_->dead_since(device); died && answered_since(readings, *died)) {
      birth(*def, readings, message);
      return;
    }
    Payload p;
    const std::int64_t born = node_->birth_time();
    std::size_t historical = 0;
    for (const Reading& r : readings) {
      const MetricDef* metric = def->find(r.point);
      if (metric == nullptr) continue;  // a point a reload removed
      Metric m = metric_of(*metric, r, true);
      m.is_historical = r.source_ts_ms < born;
      historical += m.is_historical ? 1 : 0;
      p.metrics.push_back(std::move(m));
      node_->remember(r);
    }
    node_->replay().spend(historical, ReplayPacer::Clock::now());
    if (p.metrics.empty()) {
      message.refusal = fmt::format("no point of {:?} is in the Sparkplug births", device);
      return;
    }
    p.timestamp = static_cast<std::uint64_t>(unix_ms_now());
    p.seq = node_->next_seq();
    message.payload = encode_payload(p);
    message.route.topic = node_->topics().of("DDATA", device);
    message.route.qos = node_->settings().data_qos;
    message.route.retain = false;
  }

  [[nodiscard]] bool per_device() const noexcept override { return true; }

 private:
  // A good reading acquired after the device's DDEATH: it answers again.
  static bool answered_since(std::span<const Reading> readings, std::int64_t died) {
    return std::any_of(readings.begin(), readings.end(), [&](const Reading& r) {
      return r.quality == Quality::kGood && r.source_ts_ms >= died;
    });
  }

  // The first poll of a device back from its DDEATH goes out as its DBIRTH
  // (every metric, this poll's values), never as DDATA before it: the hook's
  // own DBIRTH follows the availability board and is not ordered against
  // the store's readings.
  void birth(const DeviceDef& def, std::span<const Reading> readings, OutgoingMessage& message) {
    for (const Reading& r : readings) {
      if (def.find(r.point) != nullptr) node_->remember(r);
    }
    Payload p = device_birth(*node_, def);
    p.timestamp = static_cast<std::uint64_t>(unix_ms_now());
    p.seq = node_->next_seq();
    node_->set_dead(def.name, false);
    message.payload = encode_payload(p);
    message.route.topic = node_->topics().of("DBIRTH", def.name);
    message.route.qos = node_->settings().data_qos;  // it carries readings
    message.route.retain = false;
  }

  static std::string encode_payload(const Payload& p) { return sparkplug::encode(p); }

  std::shared_ptr<Node> node_;
};

}  // namespace

std::unique_ptr<PayloadEncoder> make_encoder(std::shared_ptr<Node> node) {
  return std::make_unique<SparkplugEncoder>(std::move(node));
}

}  // namespace fieldgate::bridge::sparkplug
