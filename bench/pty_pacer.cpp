// Design notes. One thread: poll() both masters, queue what each side wrote,
// and send the queued bytes one at a time at absolute deadlines
// (clock_nanosleep TIMER_ABSTIME): byte k of a burst leaves at
// start + k × char_time, so a late wake-up does not stretch the frame but
// the mean rate is exact. The slaves stay open here so that a side closing
// its end never hangs up the pair under the other.
#include "bench/pty_pacer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <stdexcept>

namespace fieldgate::bench {
namespace {

void open_raw_pair(int& master, int& slave, std::string& path) {
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    throw std::runtime_error("pty pacer: openpty failed");
  }
  termios t{};
  ::tcgetattr(slave, &t);
  ::cfmakeraw(&t);
  ::tcsetattr(slave, TCSANOW, &t);
  path = ::ttyname(slave);
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
}

timespec to_timespec(std::chrono::steady_clock::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

PtyPacer::PtyPacer(int baud) : char_time_(std::chrono::nanoseconds(11'000'000'000LL / baud)) {
  open_raw_pair(gw_master_, gw_slave_, gateway_path_);
  open_raw_pair(dev_master_, dev_slave_, device_path_);
  thread_ = std::thread([this] { run(); });
}

PtyPacer::~PtyPacer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : {gw_master_, gw_slave_, dev_master_, dev_slave_}) ::close(fd);
}

void PtyPacer::run() {
  std::deque<unsigned char> to_device, to_gateway;
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    pollfd fds[2] = {{gw_master_, POLLIN, 0}, {dev_master_, POLLIN, 0}};
    const bool busy = !to_device.empty() || !to_gateway.empty();
    ::poll(fds, 2, busy ? 0 : 20);
    unsigned char buf[512];
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      const auto n = ::read(fds[i].fd, buf, sizeof buf);
      auto& queue = i == 0 ? to_device : to_gateway;
      for (ssize_t k = 0; k < n; ++k) queue.push_back(buf[k]);
    }
    // Half duplex: finish one direction's burst before the other's.
    auto& queue = !to_device.empty() ? to_device : to_gateway;
    if (queue.empty()) continue;
    const int out = &queue == &to_device ? dev_master_ : gw_master_;
    // A burst on an idle line: its first character is complete one character
    // time from now. Within a burst the schedule is absolute: after a late
    // wake-up the next characters catch up, none leaves before its slot.
    if (!busy) next = std::chrono::steady_clock::now() + char_time_;
    const auto when = to_timespec(next);
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr);
    const unsigned char byte = queue.front();
    if (::write(out, &byte, 1) == 1) queue.pop_front();
    next += char_time_;
  }
}

}  // namespace fieldgate::bench
